// Version, status names and the per-thread last error.
#include "capi/errors.h"

namespace r1vk::capi {
namespace {

thread_local std::string g_last_error;

}  // namespace

r1vk_status fail(r1vk_status status, const std::string& message) {
  g_last_error = message;
  return status;
}

r1vk_status fail(const Error& error) { return fail(status_of(error.code()), error.message()); }

r1vk_status status_of(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return R1VK_ERROR_INVALID_ARGUMENT;
    case ErrorCode::kNotFound: return R1VK_ERROR_NOT_FOUND;
    case ErrorCode::kIo: return R1VK_ERROR_IO;
    case ErrorCode::kCorruptData: return R1VK_ERROR_CORRUPT_DATA;
    case ErrorCode::kUnsupported: return R1VK_ERROR_UNSUPPORTED;
    case ErrorCode::kOutOfRange: return R1VK_ERROR_OUT_OF_RANGE;
    case ErrorCode::kOutOfMemory: return R1VK_ERROR_OUT_OF_MEMORY;
    case ErrorCode::kVulkan: return R1VK_ERROR_VULKAN;
    case ErrorCode::kCancelled: return R1VK_ERROR_CANCELLED;
    case ErrorCode::kInternal: return R1VK_ERROR_INTERNAL;
    case ErrorCode::kOutOfBudget: return R1VK_ERROR_OUT_OF_BUDGET;
  }
  return R1VK_ERROR_INTERNAL;
}

}  // namespace r1vk::capi

extern "C" {

R1VK_EXPORT uint32_t r1vk_api_version(void) { return R1VK_API_VERSION; }
R1VK_EXPORT uint32_t r1vk_version(void) { return R1VK_VERSION; }
R1VK_EXPORT const char* r1vk_version_string(void) { return R1VK_VERSION_STRING; }

R1VK_EXPORT const char* r1vk_status_name(r1vk_status status) {
  switch (status) {
    case R1VK_OK: return "R1VK_OK";
    case R1VK_ERROR_INVALID_ARGUMENT: return "R1VK_ERROR_INVALID_ARGUMENT";
    case R1VK_ERROR_NOT_FOUND: return "R1VK_ERROR_NOT_FOUND";
    case R1VK_ERROR_IO: return "R1VK_ERROR_IO";
    case R1VK_ERROR_CORRUPT_DATA: return "R1VK_ERROR_CORRUPT_DATA";
    case R1VK_ERROR_UNSUPPORTED: return "R1VK_ERROR_UNSUPPORTED";
    case R1VK_ERROR_OUT_OF_RANGE: return "R1VK_ERROR_OUT_OF_RANGE";
    case R1VK_ERROR_OUT_OF_MEMORY: return "R1VK_ERROR_OUT_OF_MEMORY";
    case R1VK_ERROR_VULKAN: return "R1VK_ERROR_VULKAN";
    case R1VK_ERROR_CANCELLED: return "R1VK_ERROR_CANCELLED";
    case R1VK_ERROR_INTERNAL: return "R1VK_ERROR_INTERNAL";
    case R1VK_ERROR_OUT_OF_BUDGET: return "R1VK_ERROR_OUT_OF_BUDGET";
    case R1VK_ERROR_CONTEXT_FULL: return "R1VK_ERROR_CONTEXT_FULL";
    case R1VK_ERROR_BUSY: return "R1VK_ERROR_BUSY";
    case R1VK_ERROR_BUFFER_TOO_SMALL: return "R1VK_ERROR_BUFFER_TOO_SMALL";
  }
  return "R1VK_ERROR_UNKNOWN";
}

R1VK_EXPORT const char* r1vk_last_error(void) { return r1vk::capi::g_last_error.c_str(); }

}  // extern "C"
