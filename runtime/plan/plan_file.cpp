#include "plan/plan_file.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string_view>

#include <xxhash.h>

namespace r1vk::plan {
namespace {

Error corrupt(const std::string& path, const std::string& why) {
  return make_error(ErrorCode::kCorruptData, path + ": " + why);
}

}  // namespace

Result<PlanFile> PlanFile::open(const std::string& path) {
  PlanFile p;
  R1VK_ASSIGN_OR_RETURN(p.file_, MappedFile::open(path));
  const auto bytes = p.file_.bytes();
  if (bytes.size() < sizeof(FileHeader)) {
    return corrupt(path, "not an r1vk plan (file is " + std::to_string(bytes.size()) + " bytes, shorter than the header)");
  }
  std::memcpy(&p.header_, bytes.data(), sizeof(FileHeader));
  const FileHeader& h = p.header_;
  if (std::memcmp(h.magic, kMagic, sizeof(kMagic)) != 0) return corrupt(path, "not an r1vk plan (bad magic)");
  if (h.version > kFormatVersion) {
    return make_error(ErrorCode::kUnsupported, path + ": plan format version " + std::to_string(h.version) +
                                                   " is newer than this r1vk supports (" + std::to_string(kFormatVersion) +
                                                   "); recompile the model or update r1vk");
  }
  if (h.version == 0) return corrupt(path, "plan format version 0 is invalid");
  if (XXH64(&h, offsetof(FileHeader, header_xxh64), 0) != h.header_xxh64) return corrupt(path, "header checksum mismatch");
  if (h.header_size != sizeof(FileHeader)) return corrupt(path, "unexpected header size " + std::to_string(h.header_size));
  if (h.file_size != bytes.size()) {
    return corrupt(path, "file is " + std::to_string(bytes.size()) + " bytes but the header records " +
                             std::to_string(h.file_size) + " (truncated or appended to)");
  }
  if (h.manifest_size > kMaxManifestBytes || h.manifest_offset < sizeof(FileHeader) ||
      h.manifest_offset > bytes.size() || h.manifest_size > bytes.size() - h.manifest_offset) {
    return corrupt(path, "manifest range lies outside the file");
  }
  const auto* mtext = reinterpret_cast<const char*>(bytes.data() + h.manifest_offset);
  if (XXH64(mtext, h.manifest_size, 0) != h.manifest_xxh64) return corrupt(path, "manifest checksum mismatch");
  auto manifest = json_fields::parse(std::string_view(mtext, h.manifest_size), path + ": manifest");
  if (!manifest.ok()) return std::move(manifest).error();
  if (!manifest->is_object()) return corrupt(path, "manifest is not a JSON object");
  p.manifest_ = std::move(manifest).value();
  return p;
}

Result<BlobRef> PlanFile::blob_ref(const json_fields::Json& obj, const std::string& key, const std::string& where) const {
  R1VK_ASSIGN_OR_RETURN(const json_fields::Json* b, json_fields::get_object(obj, key, where));
  const std::string at = where + "." + key;
  BlobRef r;
  R1VK_ASSIGN_OR_RETURN(r.offset, json_fields::get_u64(*b, "offset", at));
  R1VK_ASSIGN_OR_RETURN(r.size, json_fields::get_u64(*b, "size", at));
  R1VK_ASSIGN_OR_RETURN(r.xxh64, json_fields::get_u64(*b, "xxh64", at));
  R1VK_TRY(check_blob_range(r, at));
  return r;
}

Status PlanFile::check_blob_range(const BlobRef& r, const std::string& at) const {
  if (r.offset % kBlobAlignment != 0) return corrupt(path(), at + ": blob offset is not aligned");
  if (r.offset < sizeof(FileHeader) || r.offset > header_.manifest_offset ||
      r.size > header_.manifest_offset - r.offset) {
    return corrupt(path(), at + ": blob range lies outside the blob area");
  }
  return ok_status();
}

Result<std::span<const uint8_t>> PlanFile::verified_blob(const BlobRef& ref, const std::string& what) const {
  const auto bytes = file_.bytes().subspan(ref.offset, ref.size);
  if (XXH64(bytes.data(), bytes.size(), 0) != ref.xxh64) return corrupt(path(), what + ": blob checksum mismatch");
  return bytes;
}

Status PlanFile::stream_blob(const BlobRef& ref, uint64_t chunk, const std::string& what,
                             const std::function<Status(uint64_t, std::span<const uint8_t>)>& fn) const {
  if (chunk == 0) return make_error(ErrorCode::kInvalidArgument, what + ": the streaming chunk must be positive");
  const auto bytes = file_.bytes().subspan(ref.offset, ref.size);
  const std::unique_ptr<XXH64_state_t, XXH_errorcode (*)(XXH64_state_t*)> state(XXH64_createState(), &XXH64_freeState);
  if (!state || XXH64_reset(state.get(), 0) != XXH_OK) return make_error(ErrorCode::kOutOfMemory, what + ": no checksum state");
  for (uint64_t done = 0; done < bytes.size();) {
    const auto piece = bytes.subspan(done, std::min<uint64_t>(chunk, bytes.size() - done));
    XXH64_update(state.get(), piece.data(), piece.size());
    const Status s = fn(done, piece);
    file_.release(piece);
    R1VK_TRY(s);
    done += piece.size();
  }
  if (XXH64_digest(state.get()) != ref.xxh64) return corrupt(path(), what + ": blob checksum mismatch");
  return ok_status();
}

json_fields::Json blob_ref_json(const BlobRef& ref) {
  return json_fields::Json{{"offset", ref.offset}, {"size", ref.size}, {"xxh64", ref.xxh64}};
}

}  // namespace r1vk::plan
