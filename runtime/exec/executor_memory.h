// Device memory a BatchExecutor will take, known before it exists: Model::load keeps this much
// free when it decides how many routed experts fit on the device (docs/offload.md).
#pragma once

#include <cstdint>

#include "exec/batch_executor.h"

namespace r1vk::exec {

// The device buffers BatchExecutor::create(model, options) allocates, in the bytes it asks the
// allocator for. One function for the executor and for executor_device_bytes, so the estimate
// the load reserves cannot drift from what is allocated. Options are as create validated them.
struct ExecutorBuffers {
  uint64_t arena = 0;
  uint64_t mtp_arena = 0;       // 0: no MTP drafts
  uint64_t mtp_arena2 = 0;      // the second MTP arena of extra draft passes (draft_tokens > 1); 0: none
  uint64_t draft_hidden = 0;    // the extra passes' hidden rows, one per sequence; 0: none
  uint64_t kv_layer = 0;        // one cache layer's block pool (plus the trash block of extra draft passes)
  uint64_t kv_layers = 0;       // cache layers of the plan (a pipeline stage allocates its own only)
  uint64_t scratch = 0;         // kernel scratch of the largest bucket need
  uint64_t sample_scratch = 0;  // 0: not the last stage
  uint64_t head_rows = 0;       // gathered sampled rows for the compacted head; 0: none
};
ExecutorBuffers executor_buffers(const Model& model, const BatchOptions& options);

// Rows one step of an executor on `model` holds: the plan's prefill chunk, at most the context,
// at least 1 (a batch's sequences and a sequence's verified drafts share them).
uint32_t step_rows(const Model& model);

// Device-class bytes BatchExecutor::create(model, options) allocates: the KV block pool (every
// cache layer), the activation arena, kernel and sampler scratch; each buffer rounded up to 256
// bytes plus 256 of alignment. A buffer the executor gains must be added here too
// (tests/exec/test_offload.cpp fails when the estimate falls short).
// Host-visible step I/O and logits read-back are host memory and not counted. Needs only the
// model's manifest and context length, so Model::load can call it before uploading weights.
uint64_t executor_device_bytes(const Model& model, const BatchOptions& options);

}  // namespace r1vk::exec
