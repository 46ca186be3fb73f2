// llama.cpp's names of the per-layer tensors (gguf-py's MODEL_TENSOR names for llama, qwen2 and
// deepseek2): "model.layers.N.<hf>" in a Hugging Face checkpoint is "blk.N.<gguf>" in a GGUF file.
// Shared by the importer and the test tools' GGUF writer, so the two cannot drift apart. Stacked
// routed experts and the split MLA kv_b are not 1:1 renames and are handled by their callers.
#pragma once

#include <string_view>

namespace r1vk {

// The GGUF suffix of a Hugging Face per-layer tensor suffix, or nullptr when it has no plain rename.
const char* gguf_layer_tensor_name(std::string_view hf_suffix);

}  // namespace r1vk
