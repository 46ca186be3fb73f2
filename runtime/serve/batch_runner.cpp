#include "serve/batch_runner.h"

namespace r1vk::serve {

BatchRunner::BatchRunner(std::unique_ptr<exec::BatchExecutor> executor) : ex_(executor.get()) { steps_ = std::move(executor); }

BatchRunner::BatchRunner(std::shared_ptr<exec::Pipeline> pipeline) : pipeline_(pipeline), ex_(&pipeline->first_stage()) {
  steps_ = std::move(pipeline);
}

std::string BatchRunner::lost() const {
  std::string why = pipeline_ ? pipeline_->lost() : ex_->model().context().lost();
  return why.empty() ? stuck_ : why;
}

Result<SeqId> BatchRunner::add_sequence(std::span<const int32_t> prompt) {
  if (ex_->live_sequences() >= ex_->max_batch()) {
    return make_error(ErrorCode::kOutOfMemory, "all " + std::to_string(ex_->max_batch()) + " sequence slots are in use");
  }
  return steps_->add_sequence(prompt);
}

void BatchRunner::free_sequence(SeqId seq) {
  // Unknown ids are ignored (the interface's contract); the executor reports them as errors.
  (void)steps_->free_sequence(seq);
}

uint32_t BatchRunner::step_rows(uint32_t rows) const { return ex_->bucket_rows(rows); }

int64_t BatchRunner::position(SeqId seq) const {
  auto p = ex_->position(seq);
  return p.ok() ? *p : 0;
}

Result<std::vector<std::vector<int32_t>>> BatchRunner::step(std::span<const StepEntry> entries) {
  std::vector<exec::BatchExecutor::Entry> es(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    es[i].seq = entries[i].seq;
    es[i].tokens = entries[i].tokens;
    es[i].sampling = entries[i].sampling;
    es[i].sample = entries[i].sample;
    es[i].speculate = entries[i].drafts > 0 && steps_->mtp();
    es[i].max_drafts = entries[i].drafts;
  }
  if (auto done = steps_->step(es, nullptr); !done.ok()) {
    if (steps_->pending() && stuck_.empty()) stuck_ = "a step did not finish: " + done.error().message();
    return std::move(done).error();
  }
  return steps_->emitted();
}

}  // namespace r1vk::serve
