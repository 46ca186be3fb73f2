#include "gen_checkpoint.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "import/config_writer.h"
#include "import/config_parser.h"
#include "import/tensor_inventory.h"
#include "safetensors_writer.h"
#include "tensor_values.h"
#include "tokenizer_writer.h"

namespace r1vk::gen {
namespace {

DType storage_dtype(const ExpectedTensor& t) {
  if (t.role == TensorRole::kFp8Scale || t.role == TensorRole::kCorrectionBias) return DType::kF32;
  return t.dtypes.front() == DType::kF8E4M3 ? DType::kF8E4M3 : DType::kBF16;
}

Status write_json(const std::filesystem::path& path, const Json& json) {
  std::ofstream out(path, std::ios::binary);
  out << json.dump(2, ' ', false, Json::error_handler_t::strict) << "\n";
  if (!out) return make_error(ErrorCode::kIo, path.string() + ": write failed");
  return ok_status();
}

std::string shard_name(int64_t i, int64_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-%05lld-of-%05lld.safetensors", static_cast<long long>(i + 1),
                static_cast<long long>(n));
  return buf;
}

// Splits the tensors into about `shards` runs of equal bytes; a scale stays with its weight.
std::vector<size_t> shard_starts(const std::vector<PlannedTensor>& planned, const std::vector<ExpectedTensor>& inv,
                                 int64_t shards) {
  uint64_t total = 0;
  for (const PlannedTensor& p : planned) total += p.byte_size();
  std::vector<size_t> starts{0};
  uint64_t before = 0;
  for (size_t i = 0; i < planned.size(); ++i) {
    const auto next_boundary = total / static_cast<uint64_t>(shards) * starts.size();
    if (static_cast<int64_t>(starts.size()) < shards && i > starts.back() && before >= next_boundary &&
        inv[i].role != TensorRole::kFp8Scale) {
      starts.push_back(i);
    }
    before += planned[i].byte_size();
  }
  return starts;
}

}  // namespace

Result<GenSummary> generate_checkpoint(const std::string& dir, const GenOptions& options) {
  namespace fs = std::filesystem;
  if (options.shards < 1) return make_error(ErrorCode::kInvalidArgument, "shards must be at least 1");
  ModelConfig config = options.config;
  R1VK_ASSIGN_OR_RETURN(TokenizerSpec tok, make_tokenizer(config.vocab_size, options.max_merges, config.max_position_embeddings));
  config.bos_token_id = tok.bos_id;
  config.eos_token_id = tok.eos_id;
  R1VK_TRY(validate_model_config(config));

  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::kIo, dir + ": cannot create directory: " + ec.message());
  // A stale index or single file from an earlier run would shadow what is written now.
  fs::remove(fs::path(dir) / (options.shards > 1 ? "model.safetensors" : "model.safetensors.index.json"), ec);
  R1VK_TRY(write_json(fs::path(dir) / "config.json", model_config_to_json(config)));
  R1VK_TRY(write_json(fs::path(dir) / "tokenizer.json", tok.tokenizer));
  R1VK_TRY(write_json(fs::path(dir) / "tokenizer_config.json", tok.tokenizer_config));

  const std::vector<ExpectedTensor> inventory = expected_tensors(config);
  std::vector<PlannedTensor> planned;
  GenSummary summary;
  for (const ExpectedTensor& t : inventory) {
    planned.push_back({t.name, storage_dtype(t), t.shape});
    summary.bytes += planned.back().byte_size();
  }
  summary.tensors = static_cast<int64_t>(planned.size());

  std::vector<size_t> starts = shard_starts(planned, inventory, options.shards);
  const auto count = static_cast<int64_t>(starts.size());
  starts.push_back(planned.size());
  summary.shards = count;
  std::vector<float> scales;  // of the last FP8 weight; its scale tensor comes right after it
  Json weight_map = Json::object();
  for (int64_t s = 0; s < count; ++s) {
    const size_t first = starts[static_cast<size_t>(s)];
    const size_t last = starts[static_cast<size_t>(s) + 1];
    const std::vector<PlannedTensor> part(planned.begin() + static_cast<std::ptrdiff_t>(first),
                                          planned.begin() + static_cast<std::ptrdiff_t>(last));
    const std::string name = count == 1 && options.shards == 1 ? "model.safetensors" : shard_name(s, count);
    for (const PlannedTensor& p : part) weight_map[p.name] = name;
    auto produce = [&](size_t i, ByteSink& sink) -> Status {
      const ExpectedTensor& t = inventory[first + i];
      if (t.role == TensorRole::kFp8Scale) return write_f32(scales, sink);
      if (part[i].dtype == DType::kF8E4M3) scales.clear();
      return write_tensor_values(options.seed, t, part[i].dtype, config.fp8.block_n, config.fp8.block_k, sink, scales);
    };
    R1VK_TRY(write_safetensors((fs::path(dir) / name).string(), part, {{"format", "pt"}}, produce));
  }
  if (options.shards > 1) {
    const Json index = {{"metadata", {{"total_size", summary.bytes}}}, {"weight_map", weight_map}};
    R1VK_TRY(write_json(fs::path(dir) / "model.safetensors.index.json", index));
  }
  return summary;
}

}  // namespace r1vk::gen
