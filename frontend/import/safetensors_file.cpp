#include "import/safetensors_file.h"

#include <algorithm>
#include <cstring>

#include "base/json_util.h"

namespace r1vk {
namespace {

Error corrupt(const std::string& what, const std::string& message) {
  return make_error(ErrorCode::kCorruptData, what + ": " + message);
}

Result<std::vector<int64_t>> parse_shape(const Json& shape, const std::string& where) {
  if (!shape.is_array()) return make_error(ErrorCode::kCorruptData, where + "shape is not an array");
  if (shape.size() > kMaxTensorRank) {
    return make_error(ErrorCode::kCorruptData, where + "rank " + std::to_string(shape.size()) + " exceeds " +
                                                   std::to_string(kMaxTensorRank));
  }
  std::vector<int64_t> dims;
  for (const Json& d : shape) {
    const auto v = json_to_int(d);
    if (!v || *v < 0) return make_error(ErrorCode::kCorruptData, where + "shape has a dimension that is not a non-negative integer: " + d.dump());
    dims.push_back(*v);
  }
  return dims;
}

Result<TensorInfo> parse_entry(const std::string& name, const Json& entry, const std::string& what) {
  const std::string where = what + ": tensor '" + name + "': ";
  if (!entry.is_object()) return make_error(ErrorCode::kCorruptData, where + "entry is not an object");
  for (const auto& [key, value] : entry.items()) {
    (void)value;
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      return make_error(ErrorCode::kCorruptData, where + "unknown key '" + key + "'");
    }
  }
  if (!entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets")) {
    return make_error(ErrorCode::kCorruptData, where + "needs dtype, shape and data_offsets");
  }
  TensorInfo t;
  t.name = name;
  const Json& dtype = entry["dtype"];
  if (!dtype.is_string()) return make_error(ErrorCode::kCorruptData, where + "dtype is not a string");
  const auto parsed = dtype_from_name(dtype.get_ref<const std::string&>());
  if (!parsed) {
    return make_error(ErrorCode::kUnsupported, where + "unknown dtype '" + dtype.get_ref<const std::string&>() + "'");
  }
  t.dtype = *parsed;
  R1VK_ASSIGN_OR_RETURN(t.shape, parse_shape(entry["shape"], where));

  uint64_t count = 1;
  for (int64_t d : t.shape) {
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(d), &count)) {
      return make_error(ErrorCode::kOutOfRange, where + "element count of shape " + shape_to_string(t.shape) + " overflows");
    }
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(count, static_cast<uint64_t>(dtype_size(t.dtype)), &bytes)) {
    return make_error(ErrorCode::kOutOfRange, where + "byte size of shape " + shape_to_string(t.shape) + " overflows");
  }
  t.element_count = count;

  const Json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2) {
    return make_error(ErrorCode::kCorruptData, where + "data_offsets is not a [begin, end] pair");
  }
  const auto begin = json_to_int(offsets[0]);
  const auto end = json_to_int(offsets[1]);
  if (!begin || !end || *begin < 0 || *end < *begin) {
    return make_error(ErrorCode::kCorruptData, where + "data_offsets " + offsets.dump() + " are not 0 <= begin <= end");
  }
  t.data_begin = static_cast<uint64_t>(*begin);
  t.data_end = static_cast<uint64_t>(*end);
  if (t.data_end - t.data_begin != bytes) {
    return make_error(ErrorCode::kCorruptData, where + "data_offsets " + offsets.dump() + " span " +
                                                   std::to_string(t.data_end - t.data_begin) + " bytes but shape " +
                                                   shape_to_string(t.shape) + " of " + dtype_name(t.dtype) + " needs " +
                                                   std::to_string(bytes));
  }
  return t;
}

Status parse_metadata(const Json& meta, std::map<std::string, std::string>& out, const std::string& what) {
  if (meta.is_null()) return ok_status();
  if (!meta.is_object()) return corrupt(what, "__metadata__ is not an object");
  for (const auto& [key, value] : meta.items()) {
    if (!value.is_string()) return corrupt(what, "__metadata__ value '" + key + "' is not a string");
    out[key] = value.get<std::string>();
  }
  return ok_status();
}

// Offsets must tile the data section exactly: sorted by begin, each tensor starts where the
// previous one ended, the first at 0 and the last at the end of the file.
Status check_layout(const std::vector<TensorInfo>& tensors, uint64_t data_size, const std::string& what) {
  std::vector<const TensorInfo*> order;
  order.reserve(tensors.size());
  for (const TensorInfo& t : tensors) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->data_begin != b->data_begin ? a->data_begin < b->data_begin : a->data_end < b->data_end;
  });
  uint64_t expected = 0;
  for (const TensorInfo* t : order) {
    if (t->data_begin < expected) {
      return corrupt(what, "tensor '" + t->name + "' overlaps the previous tensor (begins at " +
                               std::to_string(t->data_begin) + ", previous ends at " + std::to_string(expected) + ")");
    }
    if (t->data_begin > expected) {
      return corrupt(what, "gap before tensor '" + t->name + "': begins at " + std::to_string(t->data_begin) +
                               ", previous data ends at " + std::to_string(expected));
    }
    expected = t->data_end;
    if (expected > data_size) {
      return corrupt(what, "tensor '" + t->name + "' ends at data offset " + std::to_string(expected) +
                               ", past the end of the file (data section is " + std::to_string(data_size) + " bytes)");
    }
  }
  if (expected != data_size) {
    return corrupt(what, "data section is " + std::to_string(data_size) + " bytes but tensors cover " +
                             std::to_string(expected) + " (trailing bytes)");
  }
  return ok_status();
}

}  // namespace

std::string shape_to_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Result<SafetensorsHeader> parse_safetensors(std::span<const uint8_t> file, const std::string& what) {
  if (file.size() < 8) return corrupt(what, "file is " + std::to_string(file.size()) + " bytes, too short for a header");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | file[static_cast<size_t>(i)];
  if (header_len > kMaxSafetensorsHeaderBytes) {
    return make_error(ErrorCode::kOutOfRange, what + ": header length " + std::to_string(header_len) +
                                                  " exceeds the 100 MB limit");
  }
  if (header_len > file.size() - 8) {
    return corrupt(what, "header length " + std::to_string(header_len) + " runs past the end of the " +
                             std::to_string(file.size()) + "-byte file");
  }
  const std::string_view text(reinterpret_cast<const char*>(file.data()) + 8, static_cast<size_t>(header_len));
  R1VK_ASSIGN_OR_RETURN(Json json, parse_json(text, what + " header"));
  if (!json.is_object()) return corrupt(what, "header is not a JSON object");

  SafetensorsHeader header;
  header.data_offset = 8 + header_len;
  for (const auto& [name, entry] : json.items()) {
    if (name == "__metadata__") {
      R1VK_TRY(parse_metadata(entry, header.metadata, what));
      continue;
    }
    if (name.empty()) return corrupt(what, "tensor with an empty name");
    R1VK_ASSIGN_OR_RETURN(TensorInfo t, parse_entry(name, entry, what));
    header.tensors.push_back(std::move(t));
  }
  R1VK_TRY(check_layout(header.tensors, file.size() - header.data_offset, what));
  return header;
}

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  R1VK_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
  R1VK_ASSIGN_OR_RETURN(SafetensorsHeader header, parse_safetensors(file.bytes(), path));
  return SafetensorsFile(std::move(file), std::move(header));
}

SafetensorsFile::SafetensorsFile(MappedFile file, SafetensorsHeader header)
    : file_(std::move(file)), header_(std::move(header)) {
  for (size_t i = 0; i < header_.tensors.size(); ++i) by_name_.emplace(header_.tensors[i].name, i);
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &header_.tensors[it->second];
}

std::span<const uint8_t> SafetensorsFile::data(const TensorInfo& tensor) const {
  return file_.bytes().subspan(static_cast<size_t>(header_.data_offset + tensor.data_begin),
                               static_cast<size_t>(tensor.data_end - tensor.data_begin));
}

}  // namespace r1vk
