// Device memory a BatchExecutor will take, known before it exists: Model::load keeps this much
// free when it decides how many routed experts fit on the device (docs/offload.md).
#pragma once

#include <cstdint>

#include "exec/batch_executor.h"

namespace r1vk::exec {

// Device-class bytes BatchExecutor::create(model, options) allocates: the KV block pool (every
// cache layer), the activation arena, kernel and sampler scratch; each buffer rounded up to 256
// bytes plus 256 of alignment. A buffer the executor gains must be added here too
// (tests/exec/test_offload.cpp fails when the estimate falls short).
// Host-visible step I/O and logits read-back are host memory and not counted. Needs only the
// model's manifest and context length, so Model::load can call it before uploading weights.
uint64_t executor_device_bytes(const Model& model, const BatchOptions& options);

}  // namespace r1vk::exec
