// Per-layer attention history of one reference forward call: the fully expanded keys and values
// of every earlier position (naive attention keeps them per head; nothing is absorbed).
#pragma once

#include <vector>

#include "reference/reference_model.h"

namespace r1vk::ref {

struct ReferenceModel::LayerState {
  std::vector<std::vector<float>> keys;    // [pos][kv_heads * key_dim]
  std::vector<std::vector<float>> values;  // [pos][kv_heads * value_dim]
};

}  // namespace r1vk::ref
