// The C API's error boundary: a per-thread last-error message, the mapping from r1vk's error
// codes to r1vk_status, and `guarded`, which every entry point runs its body in so that no C++
// exception crosses into C.
#pragma once

#include <exception>
#include <new>
#include <string>

#include "base/status.h"
#include "r1vk/r1vk.h"

namespace r1vk::capi {

// Records `message` as this thread's last error and returns `status`.
r1vk_status fail(r1vk_status status, const std::string& message);
r1vk_status fail(const Error& error);
r1vk_status status_of(ErrorCode code);

template <typename F>
r1vk_status guarded(F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(R1VK_ERROR_OUT_OF_MEMORY, "out of host memory");
  } catch (const std::exception& e) {
    try {
      return fail(R1VK_ERROR_INTERNAL, std::string("internal error: ") + e.what());
    } catch (...) {
      return R1VK_ERROR_INTERNAL;
    }
  } catch (...) {
    return R1VK_ERROR_INTERNAL;
  }
}

// Fails with R1VK_ERROR_INVALID_ARGUMENT naming the argument when `p` is null.
#define R1VK_CAPI_REQUIRE(p)                                                                 \
  do {                                                                                       \
    if (!(p)) return ::r1vk::capi::fail(R1VK_ERROR_INVALID_ARGUMENT, #p " must not be NULL"); \
  } while (0)

}  // namespace r1vk::capi
