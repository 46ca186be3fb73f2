#include "import/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <new>
#include <set>

#include "import/dequantize.h"
#include "base/json_util.h"

namespace r1vk {
namespace {

constexpr uint64_t kMaxIndexBytes = 64ull << 20;

using ShardMap = std::map<std::string, std::string>;  // tensor -> shard file name

// A shard name must be a plain file name in the checkpoint directory.
bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos && name.find('\0') == std::string::npos;
}

Result<ShardMap> read_index(const std::string& path) {
  R1VK_ASSIGN_OR_RETURN(Json index, read_json_file(path, kMaxIndexBytes));
  if (!index.is_object()) return make_error(ErrorCode::kCorruptData, path + ": not a JSON object");
  if (!index.contains("weight_map") || !index["weight_map"].is_object()) {
    return make_error(ErrorCode::kCorruptData, path + ": field 'weight_map' missing or not an object");
  }
  ShardMap map;
  for (const auto& [tensor, file] : index["weight_map"].items()) {
    if (!file.is_string()) {
      return make_error(ErrorCode::kCorruptData, path + ": weight_map entry '" + tensor + "' is not a string");
    }
    const auto& name = file.get_ref<const std::string&>();
    if (!is_plain_file_name(name)) {
      return make_error(ErrorCode::kCorruptData, path + ": weight_map entry '" + tensor + "' names shard '" + name +
                                                     "', not a plain file name");
    }
    map.emplace(tensor, name);
  }
  if (map.empty()) return make_error(ErrorCode::kCorruptData, path + ": weight_map is empty");
  return map;
}

}  // namespace

Result<Checkpoint> Checkpoint::open(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return make_error(ErrorCode::kNotFound, dir + (fs::exists(dir, ec) ? ": not a directory" : ": does not exist"));
  }
  const std::string index_path = (fs::path(dir) / kIndexFileName).string();
  const std::string single_path = (fs::path(dir) / kSingleFileName).string();

  std::vector<SafetensorsFile> shards;
  std::map<std::string, Location> where;
  if (!fs::exists(index_path, ec)) {
    if (!fs::exists(single_path, ec)) {
      return make_error(ErrorCode::kNotFound, dir + ": neither " + kSingleFileName + " nor " + kIndexFileName);
    }
    R1VK_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::open(single_path));
    for (size_t t = 0; t < file.tensors().size(); ++t) where.emplace(file.tensors()[t].name, Location{0, t});
    shards.push_back(std::move(file));
    return Checkpoint(dir, std::move(shards), std::move(where));
  }

  R1VK_ASSIGN_OR_RETURN(ShardMap map, read_index(index_path));
  std::set<std::string> shard_names;
  for (const auto& [tensor, shard] : map) shard_names.insert(shard);
  for (const std::string& shard_name : shard_names) {
    const std::string shard_path = (fs::path(dir) / shard_name).string();
    if (!fs::exists(shard_path, ec)) {
      return make_error(ErrorCode::kNotFound, index_path + ": shard '" + shard_name + "' is missing");
    }
    R1VK_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::open(shard_path));
    const size_t shard_index = shards.size();
    for (size_t t = 0; t < file.tensors().size(); ++t) {
      const std::string& name = file.tensors()[t].name;
      const auto it = map.find(name);
      if (it == map.end() || it->second != shard_name) {
        return make_error(ErrorCode::kCorruptData, shard_path + ": tensor '" + name + "' is not indexed to this shard in " +
                                                       kIndexFileName);
      }
      where.emplace(name, Location{shard_index, t});
    }
    shards.push_back(std::move(file));
  }
  for (const auto& [tensor, shard] : map) {
    if (where.count(tensor) == 0) {
      return make_error(ErrorCode::kCorruptData, index_path + ": tensor '" + tensor + "' is indexed to shard '" + shard +
                                                     "' but that shard does not contain it");
    }
  }
  return Checkpoint(dir, std::move(shards), std::move(where));
}

std::vector<std::string> Checkpoint::tensor_names() const {
  std::vector<std::string> names;
  names.reserve(where_.size());
  for (const auto& [name, loc] : where_) names.push_back(name);
  return names;
}

std::vector<std::string> Checkpoint::tensor_names(const std::string& prefix) const {
  std::vector<std::string> names;
  for (auto it = where_.lower_bound(prefix); it != where_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    names.push_back(it->first);
  }
  return names;
}

Result<TensorRef> Checkpoint::tensor(const std::string& name) const {
  const auto it = where_.find(name);
  if (it == where_.end()) return make_error(ErrorCode::kNotFound, dir_ + ": no tensor '" + name + "'");
  const SafetensorsFile& shard = shards_[it->second.shard];
  const TensorInfo& info = shard.tensors()[it->second.tensor];
  return TensorRef{&info, shard.data(info), &shard.path()};
}

Status Checkpoint::check_view(const std::string& name, DType dtype, size_t elem_size, size_t align,
                              TensorRef& out) const {
  R1VK_ASSIGN_OR_RETURN(out, tensor(name));
  if (out.info->dtype != dtype) {
    return make_error(ErrorCode::kInvalidArgument, "tensor '" + name + "' is " + dtype_name(out.info->dtype) +
                                                       ", not " + dtype_name(dtype));
  }
  if (dtype_size(dtype) != elem_size) {
    return make_error(ErrorCode::kInvalidArgument, "tensor '" + name + "': element type size does not match " +
                                                       dtype_name(dtype));
  }
  if (reinterpret_cast<uintptr_t>(out.bytes.data()) % align != 0) {
    return make_error(ErrorCode::kCorruptData, "tensor '" + name + "' data is not aligned for " + dtype_name(dtype) +
                                                   " in " + *out.shard);
  }
  return ok_status();
}

namespace {

Result<std::vector<float>> alloc_floats(const std::string& name, uint64_t count) {
  std::vector<float> out;
  try {
    out.resize(static_cast<size_t>(count));
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::kOutOfMemory, "tensor '" + name + "': cannot allocate " + std::to_string(count) + " floats");
  } catch (const std::length_error&) {
    return make_error(ErrorCode::kOutOfMemory, "tensor '" + name + "' is too large to convert");
  }
  return out;
}

}  // namespace

Result<TensorRef> Checkpoint::fp8_scales(const std::string& name, const TensorRef& ref) const {
  const std::string scale_name = name + kScaleSuffix;
  if (ref.info->shape.size() != 2) {
    return make_error(ErrorCode::kCorruptData, "FP8 tensor '" + name + "' has shape " +
                                                   shape_to_string(ref.info->shape) + ", expected 2-D");
  }
  auto scale = tensor(scale_name);
  if (!scale.ok()) return make_error(ErrorCode::kNotFound, "FP8 tensor '" + name + "' has no '" + scale_name + "'");
  const std::vector<int64_t> scale_shape{ceil_div(ref.info->shape[0], fp8_block_n_), ceil_div(ref.info->shape[1], fp8_block_k_)};
  if (scale->info->dtype != DType::kF32 || scale->info->shape != scale_shape) {
    return make_error(ErrorCode::kCorruptData, "tensor '" + scale_name + "' is " + dtype_name(scale->info->dtype) + " " +
                                                   shape_to_string(scale->info->shape) + ", expected F32 " +
                                                   shape_to_string(scale_shape));
  }
  return scale;
}

Result<std::vector<float>> Checkpoint::read_f32(const std::string& name) const {
  R1VK_ASSIGN_OR_RETURN(TensorRef ref, tensor(name));
  R1VK_ASSIGN_OR_RETURN(std::vector<float> out, alloc_floats(name, ref.info->element_count));
  if (ref.info->dtype != DType::kF8E4M3) {
    R1VK_TRY(convert_to_f32(ref.info->dtype, ref.bytes, out));
    return out;
  }
  R1VK_ASSIGN_OR_RETURN(TensorRef scale, fp8_scales(name, ref));
  dequantize_fp8_blockwise(ref.bytes, scale.bytes, ref.info->shape[0], ref.info->shape[1], fp8_block_n_, fp8_block_k_, out);
  return out;
}

Result<std::vector<float>> Checkpoint::read_f32_rows(const std::string& name, int64_t row_begin, int64_t row_end) const {
  R1VK_ASSIGN_OR_RETURN(TensorRef ref, tensor(name));
  if (ref.info->shape.size() != 2) {
    return make_error(ErrorCode::kInvalidArgument, "tensor '" + name + "' has shape " + shape_to_string(ref.info->shape) +
                                                       ": reading by rows needs a matrix");
  }
  const int64_t rows = ref.info->shape[0], cols = ref.info->shape[1];
  if (row_begin < 0 || row_begin > row_end || row_end > rows) {
    return make_error(ErrorCode::kInvalidArgument, "rows [" + std::to_string(row_begin) + ", " + std::to_string(row_end) +
                                                       ") of tensor '" + name + "' " + shape_to_string(ref.info->shape));
  }
  const uint64_t count = static_cast<uint64_t>(row_end - row_begin) * static_cast<uint64_t>(cols);
  R1VK_ASSIGN_OR_RETURN(std::vector<float> out, alloc_floats(name, count));
  const size_t elem = dtype_size(ref.info->dtype);
  const auto part = ref.bytes.subspan(static_cast<size_t>(row_begin * cols) * elem, static_cast<size_t>(count) * elem);
  if (ref.info->dtype != DType::kF8E4M3) {
    R1VK_TRY(convert_to_f32(ref.info->dtype, part, out));
    return out;
  }
  R1VK_ASSIGN_OR_RETURN(TensorRef scale, fp8_scales(name, ref));
  dequantize_fp8_rows(part, scale.bytes, row_begin, row_end, cols, fp8_block_n_, fp8_block_k_, out);
  return out;
}

void Checkpoint::release(const std::string& name, int64_t row_begin, int64_t row_end) const {
  const auto it = where_.find(name);
  if (it == where_.end()) return;
  const SafetensorsFile& shard = shards_[it->second.shard];
  const TensorInfo& info = shard.tensors()[it->second.tensor];
  const std::span<const uint8_t> bytes = shard.data(info);
  if (info.shape.size() != 2 || info.shape[0] <= 0) {
    shard.release(bytes);
    return;
  }
  const int64_t rows = info.shape[0];
  row_begin = std::clamp<int64_t>(row_begin, 0, rows);
  row_end = std::clamp<int64_t>(row_end, row_begin, rows);
  const size_t row_bytes = bytes.size() / static_cast<size_t>(rows);
  shard.release(bytes.subspan(static_cast<size_t>(row_begin) * row_bytes, static_cast<size_t>(row_end - row_begin) * row_bytes));
  if (info.dtype == DType::kF8E4M3 && row_end > row_begin) {
    // The scale rows these rows use (the scale tensor may live in another shard).
    const std::string scale_name = name + kScaleSuffix;
    const auto s = where_.find(scale_name);
    if (s == where_.end()) return;
    const SafetensorsFile& scale_shard = shards_[s->second.shard];
    const TensorInfo& scale_info = scale_shard.tensors()[s->second.tensor];
    if (scale_info.shape.size() != 2 || scale_info.shape[0] <= 0) return;
    const std::span<const uint8_t> scale_bytes = scale_shard.data(scale_info);
    const size_t scale_row_bytes = scale_bytes.size() / static_cast<size_t>(scale_info.shape[0]);
    const int64_t first = std::min(row_begin / fp8_block_n_, scale_info.shape[0]);
    const int64_t last = std::min(ceil_div(row_end, fp8_block_n_), scale_info.shape[0]);
    scale_shard.release(scale_bytes.subspan(static_cast<size_t>(first) * scale_row_bytes,
                                            static_cast<size_t>(last - first) * scale_row_bytes));
  }
}

}  // namespace r1vk
