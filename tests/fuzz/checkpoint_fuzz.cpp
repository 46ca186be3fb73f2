// Fuzz target: a sharded checkpoint directory. The input is model.safetensors.index.json, then up
// to two shard files (model-00001-of-00002.safetensors, model-00002-of-00002.safetensors),
// separated by fuzz::kPartSeparator. Checkpoint::open cross-checks the index against the shards;
// every tensor it accepts is then read as f32 (FP8 ones with their block scales).
#include <string>

#include "fuzz_support.h"
#include "import/checkpoint.h"

namespace {
constexpr uint64_t kMaxReadElements = 1u << 20;
const char* const kShardNames[] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace r1vk;
  const auto parts = fuzz::split_parts(data, size, 3);
  fuzz::write_scratch_file(kIndexFileName, parts[0]);
  for (size_t i = 0; i < 2; ++i) {
    if (parts[i + 1].empty()) {
      fuzz::remove_scratch_file(kShardNames[i]);  // a shard the index names may be missing
    } else {
      fuzz::write_scratch_file(kShardNames[i], parts[i + 1]);
    }
  }
  auto checkpoint = Checkpoint::open(fuzz::scratch_dir());
  if (!checkpoint.ok()) {
    fuzz::check(!checkpoint.error().message().empty(), "a rejected checkpoint has a message");
    return 0;
  }
  // The block size comes from config.json in an import; vary it a little with the input.
  const int64_t block = 1 + static_cast<int64_t>(size % 128);
  checkpoint->set_fp8_block(block, block);
  for (const std::string& name : checkpoint->tensor_names()) {
    auto ref = checkpoint->tensor(name);
    fuzz::check(ref.ok(), "every listed tensor can be looked up");
    if (ref->info->element_count > kMaxReadElements) continue;
    (void)checkpoint->read_f32(name);
  }
  return 0;
}
