// Rotary frequencies of a model as MODEL_SPEC.md §2 defines them (plain, YaRN, llama3). The
// compiler bakes them into the plan and the CPU reference uses the same definition; tests pin
// the results to the spec's figures.
#pragma once

#include <cstdint>
#include <vector>

#include "import/model_config.h"

namespace r1vk::rope_math {

// f_i for i = 0..dim/2-1 with the scaling applied.
std::vector<double> frequencies(const RopeScaling& scaling, double theta, int64_t dim);
// YaRN cos/sin magnitude get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dim); 1 otherwise.
double magnitude(const RopeScaling& scaling);
// get_mscale(scale, mscale) = 0.1 * mscale * ln(scale) + 1 for scale > 1, else 1.
double yarn_mscale(double scale, double mscale);
// DeepSeek attention softmax scale: (dn + dr)^-0.5, times yarn_mscale(factor, mscale_all_dim)^2 under YaRN.
double mla_softmax_scale(const ModelConfig& config);

}  // namespace r1vk::rope_math
