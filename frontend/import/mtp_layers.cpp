#include "import/mtp_layers.h"

#include "import/tensor_inventory.h"

namespace r1vk {
namespace {

std::string layer_prefix(int64_t layer) { return "model.layers." + std::to_string(layer) + "."; }

// The first tensor of MTP layer `layer` that `config` expects and the checkpoint lacks, and how
// many are missing in all. FP8 scales are checked with their weights by validate_checkpoint.
std::pair<std::string, int64_t> missing_in_layer(const Checkpoint& checkpoint, const ModelConfig& config, int64_t layer) {
  std::pair<std::string, int64_t> missing{"", 0};
  for (const ExpectedTensor& t : expected_tensors(config)) {
    if (t.layer != layer || t.role == TensorRole::kFp8Scale || checkpoint.contains(t.name)) continue;
    if (missing.second++ == 0) missing.first = t.name;
  }
  return missing;
}

}  // namespace

MtpLayers resolve_mtp_layers(const Checkpoint& checkpoint, ModelConfig& config) {
  MtpLayers m;
  m.declared = config.num_nextn_predict_layers;
  if (m.declared == 0) return m;
  const int64_t first = config.num_hidden_layers;
  config.mtp_shares_embedding = !checkpoint.contains(layer_prefix(first) + "embed_tokens.weight");
  config.mtp_shares_head = !checkpoint.contains(layer_prefix(first) + "shared_head.head.weight");
  std::string why;
  for (; m.present < m.declared; ++m.present) {
    const int64_t layer = first + m.present;
    if (checkpoint.tensor_names(layer_prefix(layer)).empty()) {
      why = "the checkpoint holds no tensors of layer " + std::to_string(layer) + " (model.layers." + std::to_string(layer) + ".*)";
      break;
    }
    const auto [name, count] = missing_in_layer(checkpoint, config, layer);
    if (count > 0) {
      why = "MTP layer " + std::to_string(layer) + " is incomplete (no tensor '" + name + "'" +
            (count > 1 ? " and " + std::to_string(count - 1) + " more" : std::string()) + ") and is ignored";
      break;
    }
  }
  config.num_nextn_predict_layers = m.present;
  if (m.present == m.declared) return m;
  for (int64_t i = m.present; i < m.declared; ++i) {
    for (std::string& name : checkpoint.tensor_names(layer_prefix(first + i))) m.ignored.insert(std::move(name));
  }
  if (m.present == 0) {
    config.mtp_shares_embedding = config.mtp_shares_head = false;
    m.warning = "config.json declares " + std::to_string(m.declared) + " MTP layer(s) (num_nextn_predict_layers) but " + why +
                ": multi-token prediction (MTP) is unavailable; the main model is complete and runs as usual";
  } else {
    m.warning = "config.json declares " + std::to_string(m.declared) + " MTP layers but " + why + ": using the first " +
                std::to_string(m.present);
  }
  return m;
}

}  // namespace r1vk
