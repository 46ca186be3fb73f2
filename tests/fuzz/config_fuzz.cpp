// Fuzz target: config.json text. A config that parses and validates must be usable by everything
// that reads it during an import: the tensor inventory, parameter and memory counts, RoPE tables.
#include <string_view>

#include "base/json_util.h"
#include "fuzz_support.h"
#include "import/config_parser.h"
#include "import/model_stats.h"
#include "import/rope_frequencies.h"
#include "import/tensor_inventory.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace r1vk;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto json = parse_json(text, "config.json");
  if (!json.ok()) return 0;
  auto config = parse_model_config(*json);
  if (!config.ok()) {
    fuzz::check(!config.error().message().empty(), "a rejected config has a message");
    return 0;
  }
  if (!validate_model_config(*config).ok()) return 0;
  const auto tensors = expected_tensors(*config);
  fuzz::check(!tensors.empty(), "a valid config expects tensors");
  (void)count_parameters(*config);
  (void)estimate_memory(*config);
  (void)kv_cache_bytes_per_token(*config);
  const int64_t rope_dim = config->rope_dim();
  const auto freqs = rope_math::frequencies(config->rope_scaling, config->rope_theta, rope_dim);
  fuzz::check(static_cast<int64_t>(freqs.size()) == rope_dim / 2, "one RoPE frequency per rotated pair");
  (void)rope_math::magnitude(config->rope_scaling);
  if (config->is_deepseek()) (void)rope_math::mla_softmax_scale(*config);
  return 0;
}
