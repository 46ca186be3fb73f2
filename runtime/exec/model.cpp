#include "exec/model.h"

#include <algorithm>
#include <cmath>

#include "exec/op_attrs.h"
#include "vulkan/transfer.h"

namespace r1vk::exec {

Result<std::unique_ptr<Model>> Model::load(vk::Context& ctx, plan::LoadedPlan plan, const ModelOptions& options) {
  std::unique_ptr<Model> m(new Model(ctx, std::move(plan)));
  const int64_t plan_ctx = m->manifest().memory.max_context;
  if (options.context < 0 || options.context > plan_ctx) {
    return make_error(ErrorCode::kInvalidArgument, "context " + std::to_string(options.context) + " exceeds the " +
                                                       std::to_string(plan_ctx) + " positions the plan was compiled for (recompile with a larger --ctx)");
  }
  m->context_ = options.context > 0 ? options.context : plan_ctx;
  const size_t main_ops = m->manifest().main.ops.size();
  m->stage_ = {options.stage.first, std::min(options.stage.end, main_ops)};
  if (m->stage_.first >= m->stage_.end) return make_error(ErrorCode::kInvalidArgument, "the model's stage holds no ops");
  std::vector<bool> needed;  // empty: every tensor
  if (m->stage_.first > 0 || m->stage_.end < main_ops) {
    needed.assign(m->manifest().tensors.size(), false);
    auto need = [&](const plan::Op& op) {
      for (int32_t t : op.weights) needed[static_cast<size_t>(t)] = true;
    };
    for (size_t i = m->stage_.first; i < m->stage_.end; ++i) need(m->manifest().main.ops[i]);
    if (m->stage_.end == main_ops) std::for_each(m->manifest().mtp.ops.begin(), m->manifest().mtp.ops.end(), need);
  }
  R1VK_ASSIGN_OR_RETURN(m->weights_, ModelWeights::upload(ctx, m->plan_, options.progress, options.cancelled, needed));
  m->linear_ = std::make_unique<kernels::LinearKernels>(m->pipelines_);
  m->attention_ = std::make_unique<kernels::AttentionKernels>(m->pipelines_);
  R1VK_TRY(m->build_rope_table());
  R1VK_TRY(m->build_expert_tables());
  return m;
}

int64_t Model::vocab_size() const {
  const plan::Program& p = manifest().main;
  return p.values[static_cast<size_t>(p.logits_value)].width;
}

Status Model::build_rope_table() {
  // cos/sin per (position, pair) computed in f64 so long positions keep their accuracy, then
  // stored as f32 with the YaRN magnitude folded in.
  const auto& freqs = manifest().rope_freqs;
  const double mag = manifest().rope_magnitude;
  rope_.pairs = static_cast<uint32_t>(freqs.size());
  rope_.max_context = static_cast<uint32_t>(context_);
  std::vector<float> table(static_cast<size_t>(context_) * freqs.size() * 2);
  for (int64_t pos = 0; pos < context_; ++pos) {
    for (size_t i = 0; i < freqs.size(); ++i) {
      const double a = static_cast<double>(pos) * freqs[i];
      table[(static_cast<size_t>(pos) * freqs.size() + i) * 2] = static_cast<float>(std::cos(a) * mag);
      table[(static_cast<size_t>(pos) * freqs.size() + i) * 2 + 1] = static_cast<float>(std::sin(a) * mag);
    }
  }
  const uint64_t bytes = std::max<uint64_t>(table.size() * 4, 16);
  R1VK_ASSIGN_OR_RETURN(rope_buffer_, ctx_.create_buffer(bytes, vk::MemoryUsage::kDeviceLocal, "rope table"));
  if (!table.empty()) R1VK_TRY(vk::upload_span<float>(ctx_, rope_buffer_, table));
  rope_.addr = rope_buffer_.address();
  return ok_status();
}

Status Model::build_expert_tables() {
  const plan::Program* programs[2] = {&manifest().main, &manifest().mtp};
  for (int pi = 0; pi < 2; ++pi) {
    const auto& ops = programs[pi]->ops;
    for (size_t i = 0; i < ops.size(); ++i) {
      const plan::Op& op = ops[i];
      if (op.kind != plan::OpKind::kMoeExperts) continue;
      const bool in_stage = pi == 0 ? i >= stage_.first && i < stage_.end : stage_.end == manifest().main.ops.size();
      if (!in_stage) continue;  // its tensors live on another stage
      R1VK_ASSIGN_OR_RETURN(int64_t experts, attr_int(op, "experts"));
      if (experts <= 0 || static_cast<int64_t>(op.weights.size()) != 2 * experts) {
        return make_error(ErrorCode::kCorruptData, "op " + op.label + " must list gate_up and down tensors of every expert");
      }
      std::vector<kernels::ExpertAddresses> table(static_cast<size_t>(experts));
      const kernels::WeightView& first = weights_.view(static_cast<size_t>(op.weights[0]));
      for (int64_t e = 0; e < experts; ++e) {
        const auto& gu = weights_.view(static_cast<size_t>(op.weights[static_cast<size_t>(e)]));
        const auto& dn = weights_.view(static_cast<size_t>(op.weights[static_cast<size_t>(experts + e)]));
        // Gate|up and down may differ (kernels::MoeExpertsArgs::down_format), each the same for all experts.
        const kernels::WeightView& first_down = weights_.view(static_cast<size_t>(op.weights[static_cast<size_t>(experts)]));
        if (gu.format != first.format || dn.format != first_down.format || gu.group != first.group ||
            dn.group != first_down.group) {
          return make_error(ErrorCode::kCorruptData, "op " + op.label + ": experts must share one weight format");
        }
        table[static_cast<size_t>(e)] = {gu.data, gu.scales, dn.data, dn.scales};
      }
      R1VK_ASSIGN_OR_RETURN(auto buf, ctx_.create_buffer(table.size() * sizeof(kernels::ExpertAddresses),
                                                         vk::MemoryUsage::kDeviceLocal, "expert table " + op.label));
      R1VK_TRY(vk::upload_span<kernels::ExpertAddresses>(ctx_, buf, table));
      expert_tables_.push_back({{pi, i}, buf.address()});
      expert_buffers_.push_back(std::move(buf));
    }
  }
  return ok_status();
}

VkDeviceAddress Model::expert_table(int program, size_t op_index) const {
  for (const auto& [key, addr] : expert_tables_)
    if (key.first == program && key.second == op_index) return addr;
  return 0;
}

}  // namespace r1vk::exec
