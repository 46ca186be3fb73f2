// Fault injection for testing the failure paths real devices take: device memory running out,
// the device being lost. Off unless R1VK_FAULT is set. Every check reads it, so a test can set it
// in-process right before the operation it wants to fail (a C API test has no other way in);
// the calls are counted from the moment the variable took its current value.
// Spec: "SITE:N[,SITE:N...]", SITE one of
//   alloc   the Nth device buffer allocation (1-based; Allocator::allocate) fails as if
//           vkAllocateMemory returned VK_ERROR_OUT_OF_DEVICE_MEMORY; later ones succeed again
//   submit  the Nth vkQueueSubmit fails with VK_ERROR_DEVICE_LOST
//   wait    the Nth fence or timeline-semaphore wait fails with VK_ERROR_DEVICE_LOST (after
//           waiting for real, so no work is still running when the caller frees its buffers)
// A device once lost stays lost, as a real one does: after an injected VK_ERROR_DEVICE_LOST every
// later submit and wait fails the same way.
// Where R1VK_FAULT is unset, R1VK_FAULT_FILE may name a file holding the spec (its first line),
// read at every check the same way: a test makes a running process (the server) fail at a moment
// of its choosing by writing the spec into the file; a missing or empty file injects nothing.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace r1vk::vk::fault {

enum class Site { kAllocate, kSubmit, kWait };

// The result to use instead of calling Vulkan (an error), or VK_SUCCESS to make the real call.
// Counts the call. Thread-safe.
VkResult check(Site site);

// Parses a spec (for messages and tests); errors name the bad part.
Status validate_spec(std::string_view spec);

}  // namespace r1vk::vk::fault
