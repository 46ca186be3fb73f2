#include "import/gguf_file.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace r1vk {
namespace {

// Overflow-safe arithmetic: every size computed from file contents goes through these.
bool mul_overflows(uint64_t a, uint64_t b, uint64_t& out) { return __builtin_mul_overflow(a, b, &out); }
bool add_overflows(uint64_t a, uint64_t b, uint64_t& out) { return __builtin_add_overflow(a, b, &out); }

// Reads little-endian fields from the file with bounds checks; errors say what was being read
// and at which offset.
class Cursor {
 public:
  Cursor(std::span<const uint8_t> bytes, const std::string& what) : bytes_(bytes), what_(what) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return bytes_.size() - pos_; }

  Error error(const std::string& message, ErrorCode code = ErrorCode::kCorruptData) const {
    return make_error(code, what_ + ": " + message);
  }
  Error truncated(const std::string& field) const {
    return error("truncated: " + field + " at offset " + std::to_string(pos_) + " runs past the end of the file (" +
                 std::to_string(bytes_.size()) + " bytes)");
  }

  template <typename T>
  Result<T> read(const std::string& field) {
    if (remaining() < sizeof(T)) return truncated(field);
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  Result<std::span<const uint8_t>> take(uint64_t n, const std::string& field) {
    if (n > remaining()) return truncated(field);
    auto s = bytes_.subspan(static_cast<size_t>(pos_), static_cast<size_t>(n));
    pos_ += n;
    return s;
  }

  Result<std::string> read_string(const std::string& field, uint64_t max_bytes) {
    R1VK_ASSIGN_OR_RETURN(uint64_t n, read<uint64_t>(field + " length"));
    if (n > max_bytes) {
      return error(field + ": length " + std::to_string(n) + " exceeds the limit of " + std::to_string(max_bytes) + " bytes");
    }
    R1VK_ASSIGN_OR_RETURN(auto s, take(n, field));
    return std::string(reinterpret_cast<const char*>(s.data()), s.size());
  }

 private:
  std::span<const uint8_t> bytes_;
  const std::string& what_;
  uint64_t pos_ = 0;
};

Result<GgufValueType> read_value_type(Cursor& c, const std::string& field) {
  R1VK_ASSIGN_OR_RETURN(uint32_t t, c.read<uint32_t>(field));
  if (t > static_cast<uint32_t>(GgufValueType::kF64)) {
    return c.error(field + ": unknown value type " + std::to_string(t));
  }
  return static_cast<GgufValueType>(t);
}

Status read_value(Cursor& c, GgufValueType type, const std::string& field, int depth, GgufValue& out);

Status read_array(Cursor& c, const std::string& field, int depth, GgufValue& out) {
  if (depth >= kMaxGgufArrayDepth) {
    return c.error(field + ": arrays nested deeper than " + std::to_string(kMaxGgufArrayDepth) + " levels");
  }
  R1VK_ASSIGN_OR_RETURN(out.element_type, read_value_type(c, field + " element type"));
  R1VK_ASSIGN_OR_RETURN(out.count, c.read<uint64_t>(field + " element count"));
  // The smallest encoding of one element: its fixed size, a string's 8-byte length, or a nested
  // array's 12-byte type + count. A count the rest of the file cannot hold is refused before
  // anything is allocated (the integer-overflow CVEs of other GGUF readers start here).
  const size_t fixed = gguf_value_type_size(out.element_type);
  const uint64_t min_element = fixed != 0 ? fixed : out.element_type == GgufValueType::kString ? 8 : 12;
  uint64_t min_bytes = 0;
  if (mul_overflows(out.count, min_element, min_bytes) || min_bytes > c.remaining()) {
    return c.error(field + ": array of " + std::to_string(out.count) + " " + gguf_value_type_name(out.element_type) +
                   " elements cannot fit in the " + std::to_string(c.remaining()) + " bytes left in the file");
  }
  if (fixed != 0) {
    R1VK_ASSIGN_OR_RETURN(out.raw, c.take(min_bytes, field));
    if (out.element_type == GgufValueType::kBool) {
      for (uint8_t b : out.raw) {
        if (b > 1) return c.error(field + ": bool element is " + std::to_string(b) + ", not 0 or 1");
      }
    }
    return ok_status();
  }
  if (out.element_type == GgufValueType::kString) {
    out.strings.reserve(static_cast<size_t>(out.count));
    for (uint64_t k = 0; k < out.count; ++k) {
      R1VK_ASSIGN_OR_RETURN(std::string s, c.read_string(field + "[" + std::to_string(k) + "]", kMaxGgufStringBytes));
      out.strings.push_back(std::move(s));
    }
    return ok_status();
  }
  out.arrays.resize(static_cast<size_t>(out.count));
  for (uint64_t k = 0; k < out.count; ++k) {
    R1VK_TRY(read_value(c, GgufValueType::kArray, field + "[" + std::to_string(k) + "]", depth + 1, out.arrays[k]));
  }
  return ok_status();
}

Status read_value(Cursor& c, GgufValueType type, const std::string& field, int depth, GgufValue& out) {
  out.type = type;
  switch (type) {
    case GgufValueType::kU8: { R1VK_ASSIGN_OR_RETURN(out.u, c.read<uint8_t>(field)); break; }
    case GgufValueType::kU16: { R1VK_ASSIGN_OR_RETURN(out.u, c.read<uint16_t>(field)); break; }
    case GgufValueType::kU32: { R1VK_ASSIGN_OR_RETURN(out.u, c.read<uint32_t>(field)); break; }
    case GgufValueType::kU64: { R1VK_ASSIGN_OR_RETURN(out.u, c.read<uint64_t>(field)); break; }
    case GgufValueType::kI8: { R1VK_ASSIGN_OR_RETURN(out.i, c.read<int8_t>(field)); break; }
    case GgufValueType::kI16: { R1VK_ASSIGN_OR_RETURN(out.i, c.read<int16_t>(field)); break; }
    case GgufValueType::kI32: { R1VK_ASSIGN_OR_RETURN(out.i, c.read<int32_t>(field)); break; }
    case GgufValueType::kI64: { R1VK_ASSIGN_OR_RETURN(out.i, c.read<int64_t>(field)); break; }
    case GgufValueType::kF32: { R1VK_ASSIGN_OR_RETURN(out.f, c.read<float>(field)); break; }
    case GgufValueType::kF64: { R1VK_ASSIGN_OR_RETURN(out.f, c.read<double>(field)); break; }
    case GgufValueType::kBool: {
      R1VK_ASSIGN_OR_RETURN(uint8_t b, c.read<uint8_t>(field));
      if (b > 1) return c.error(field + ": bool is " + std::to_string(b) + ", not 0 or 1");
      out.u = b;
      break;
    }
    case GgufValueType::kString: { R1VK_ASSIGN_OR_RETURN(out.s, c.read_string(field, kMaxGgufStringBytes)); break; }
    case GgufValueType::kArray: return read_array(c, field, depth, out);
  }
  return ok_status();
}

Status read_tensor_info(Cursor& c, uint64_t index, GgufTensorInfo& t) {
  const std::string field = "tensor info " + std::to_string(index);
  R1VK_ASSIGN_OR_RETURN(t.name, c.read_string(field + " name", kMaxGgufNameBytes));
  const std::string at = "tensor '" + t.name + "'";
  R1VK_ASSIGN_OR_RETURN(uint32_t n_dims, c.read<uint32_t>(at + " dimension count"));
  if (n_dims == 0 || n_dims > kMaxGgufDims) {
    return c.error(at + ": " + std::to_string(n_dims) + " dimensions (1 to " + std::to_string(kMaxGgufDims) + " allowed)");
  }
  t.dims.resize(n_dims);
  t.elements = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    R1VK_ASSIGN_OR_RETURN(t.dims[d], c.read<uint64_t>(at + " dimension " + std::to_string(d)));
    if (t.dims[d] == 0 || t.dims[d] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return c.error(at + ": dimension " + std::to_string(d) + " is " + std::to_string(t.dims[d]));
    }
    if (mul_overflows(t.elements, t.dims[d], t.elements) || t.elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return c.error(at + ": element count of dimensions " +
                     gguf_dims_to_string(std::vector<uint64_t>(t.dims.begin(), t.dims.begin() + d + 1)) + " overflows");
    }
  }
  R1VK_ASSIGN_OR_RETURN(uint32_t type_id, c.read<uint32_t>(at + " type"));
  const auto info = ggml_type_info(type_id);
  if (!info) return c.error(at + ": unknown ggml type " + std::to_string(type_id), ErrorCode::kUnsupported);
  t.type = info->type;
  if (t.dims[0] % info->block_elements != 0) {
    return c.error(at + ": row length " + std::to_string(t.dims[0]) + " is not a multiple of the " + info->name +
                   " block size " + std::to_string(info->block_elements));
  }
  if (mul_overflows(t.elements / info->block_elements, info->block_bytes, t.bytes)) {
    return c.error(at + ": byte size overflows");
  }
  R1VK_ASSIGN_OR_RETURN(t.offset, c.read<uint64_t>(at + " offset"));
  return ok_status();
}

Status check_supported_types(const std::vector<GgufTensorInfo>& tensors, const std::string& what) {
  for (const auto& t : tensors) {
    const GgmlTypeInfo& info = ggml_type_info(t.type);
    if (!info.decodable) {
      return make_error(ErrorCode::kUnsupported, what + ": tensor '" + t.name + "' has type " + info.name +
                                                     ", which r1vk does not decode (supported: " +
                                                     decodable_ggml_type_names() + ")");
    }
  }
  return ok_status();
}

Status check_layout(const std::vector<GgufTensorInfo>& tensors, uint64_t data_bytes, uint32_t alignment, const std::string& what) {
  std::vector<const GgufTensorInfo*> by_offset;
  by_offset.reserve(tensors.size());
  for (const auto& t : tensors) {
    if (t.offset % alignment != 0) {
      return make_error(ErrorCode::kCorruptData, what + ": tensor '" + t.name + "' offset " + std::to_string(t.offset) +
                                                     " is not a multiple of the alignment " + std::to_string(alignment));
    }
    uint64_t end = 0;
    if (add_overflows(t.offset, t.bytes, end) || end > data_bytes) {
      return make_error(ErrorCode::kCorruptData, what + ": tensor '" + t.name + "' (" + std::to_string(t.bytes) +
                                                     " bytes at data offset " + std::to_string(t.offset) +
                                                     ") runs past the end of the file (data section " +
                                                     std::to_string(data_bytes) + " bytes)");
    }
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t k = 1; k < by_offset.size(); ++k) {
    const auto* prev = by_offset[k - 1];
    if (by_offset[k]->offset < prev->offset + prev->bytes) {
      return make_error(ErrorCode::kCorruptData, what + ": tensors '" + prev->name + "' and '" + by_offset[k]->name +
                                                     "' overlap");
    }
  }
  return ok_status();
}

}  // namespace

std::vector<int64_t> GgufTensorInfo::shape() const {
  std::vector<int64_t> s(dims.rbegin(), dims.rend());
  return s;
}

std::string gguf_dims_to_string(const std::vector<uint64_t>& dims) {
  std::string s = "{";
  for (size_t k = 0; k < dims.size(); ++k) s += (k ? ", " : "") + std::to_string(dims[k]);
  return s + "}";
}

Result<GgufHeader> parse_gguf(std::span<const uint8_t> file, const std::string& what) {
  Cursor c(file, what);
  GgufHeader h;
  R1VK_ASSIGN_OR_RETURN(uint32_t magic, c.read<uint32_t>("magic"));
  if (magic != kGgufMagic) return c.error("not a GGUF file (bad magic)");
  R1VK_ASSIGN_OR_RETURN(h.version, c.read<uint32_t>("version"));
  if (h.version == 1) return c.error("GGUF version 1 is not supported (only 2 and 3)", ErrorCode::kUnsupported);
  if (h.version != 2 && h.version != 3) {
    // A big-endian file's version reads byte-swapped here (3 -> 0x03000000).
    const bool swapped = h.version == 0x02000000u || h.version == 0x03000000u;
    return c.error(swapped ? "big-endian GGUF files are not supported"
                           : "unknown GGUF version " + std::to_string(h.version) + " (supported: 2, 3)",
                   ErrorCode::kUnsupported);
  }
  R1VK_ASSIGN_OR_RETURN(uint64_t tensor_count, c.read<uint64_t>("tensor count"));
  R1VK_ASSIGN_OR_RETURN(uint64_t kv_count, c.read<uint64_t>("metadata count"));
  // Smallest encodings: a key/value is 8 (key length) + 4 (type) + 1 bytes; a tensor info is
  // 8 (name length) + 4 (dims) + 8 (one dim) + 4 (type) + 8 (offset).
  uint64_t min_bytes = 0;
  uint64_t tensor_bytes = 0;
  if (mul_overflows(kv_count, 13, min_bytes) || mul_overflows(tensor_count, 32, tensor_bytes) ||
      add_overflows(min_bytes, tensor_bytes, min_bytes) || min_bytes > c.remaining()) {
    return c.error(std::to_string(tensor_count) + " tensors and " + std::to_string(kv_count) +
                   " metadata entries cannot fit in a file of " + std::to_string(file.size()) + " bytes");
  }
  for (uint64_t k = 0; k < kv_count; ++k) {
    R1VK_ASSIGN_OR_RETURN(std::string key, c.read_string("metadata key " + std::to_string(k), kMaxGgufNameBytes));
    R1VK_ASSIGN_OR_RETURN(GgufValueType type, read_value_type(c, "metadata '" + key + "' type"));
    GgufValue value;
    R1VK_TRY(read_value(c, type, "metadata '" + key + "'", 0, value));
    if (!h.metadata.add(key, std::move(value))) return c.error("metadata key '" + key + "' appears twice");
  }
  if (const GgufValue* a = h.metadata.find("general.alignment")) {
    if (a->type != GgufValueType::kU32) return c.error("general.alignment is " + a->type_name() + ", expected u32");
    if (a->u == 0 || (a->u & (a->u - 1)) != 0) {
      return c.error("general.alignment " + std::to_string(a->u) + " is not a power of two");
    }
    h.alignment = static_cast<uint32_t>(a->u);
  }
  h.tensors.resize(static_cast<size_t>(tensor_count));
  std::unordered_map<std::string, size_t> names;
  for (uint64_t k = 0; k < tensor_count; ++k) {
    R1VK_TRY(read_tensor_info(c, k, h.tensors[k]));
    if (!names.emplace(h.tensors[k].name, k).second) return c.error("tensor '" + h.tensors[k].name + "' appears twice");
  }
  // The data section starts at the next multiple of the alignment (zero padding between).
  uint64_t data = c.pos();
  const uint64_t rem = data % h.alignment;
  if (rem != 0 && add_overflows(data, h.alignment - rem, data)) return c.error("data offset overflows");
  if (data > file.size()) {
    if (tensor_count == 0) data = file.size();  // a tensor-less split may end without padding
    else return c.truncated("padding before the tensor data");
  }
  h.data_offset = data;
  R1VK_TRY(check_layout(h.tensors, file.size() - data, h.alignment, what));
  R1VK_TRY(check_supported_types(h.tensors, what));
  return h;
}

GgufFile::GgufFile(MappedFile file, std::span<const uint8_t> bytes, std::string path, GgufHeader header)
    : file_(std::move(file)), bytes_(bytes), path_(std::move(path)), header_(std::move(header)) {
  for (size_t k = 0; k < header_.tensors.size(); ++k) by_name_.emplace(header_.tensors[k].name, k);
}

Result<GgufFile> GgufFile::open(const std::string& path) {
  R1VK_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
  R1VK_ASSIGN_OR_RETURN(GgufHeader header, parse_gguf(file.bytes(), path));
  const auto bytes = file.bytes();
  return GgufFile(std::move(file), bytes, path, std::move(header));
}

Result<GgufFile> GgufFile::from_bytes(std::span<const uint8_t> bytes, const std::string& what) {
  R1VK_ASSIGN_OR_RETURN(GgufHeader header, parse_gguf(bytes, what));
  return GgufFile(MappedFile(), bytes, what, std::move(header));
}

const GgufTensorInfo* GgufFile::find(const std::string& name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &header_.tensors[it->second];
}

std::span<const uint8_t> GgufFile::data(const GgufTensorInfo& t) const {
  return bytes_.subspan(static_cast<size_t>(header_.data_offset + t.offset), static_cast<size_t>(t.bytes));
}

}  // namespace r1vk
