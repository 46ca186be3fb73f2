#include "import/model_config.h"

namespace r1vk {

const char* architecture_name(Architecture arch) {
  switch (arch) {
    case Architecture::kDeepseekV3: return "DeepseekV3ForCausalLM";
    case Architecture::kDeepseekV2: return "DeepseekV2ForCausalLM";
    case Architecture::kQwen2: return "Qwen2ForCausalLM";
    case Architecture::kLlama: return "LlamaForCausalLM";
  }
  return "unknown";
}

}  // namespace r1vk
