// Errors are values (DESIGN.md decision 9): every fallible call returns Status or Result<T>,
// whose message names the file, tensor, field or Vulkan call that failed. Nothing aborts.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace r1vk {

// Broad classes a caller (the CLI's exit code, the C API's status code) can act on.
enum class ErrorCode {
  kInvalidArgument = 1,  // bad flag, bad request from the caller
  kNotFound,             // missing file, tensor, device
  kIo,                   // read/write/mmap failure
  kCorruptData,          // malformed file contents
  kUnsupported,          // valid input that r1vk does not handle (architecture, device feature)
  kOutOfRange,           // sizes beyond a limit (context length, device limit)
  kOutOfMemory,
  kVulkan,               // a Vulkan call failed
  kCancelled,
  kInternal,
  kOutOfBudget,          // a device-memory budget the caller set would be exceeded
};

const char* error_code_name(ErrorCode code);

class [[nodiscard]] Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with where it happened: "loading plan a.r1vk: tensor x: ...".
  Error with_context(const std::string& context) && {
    message_ = context + ": " + message_;
    return std::move(*this);
  }

 private:
  ErrorCode code_;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!ok()); return std::get<1>(v_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Status is Result<void>: success carries nothing.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { assert(!ok_); return error_; }
  Error&& error() && { assert(!ok_); return std::move(error_); }

 private:
  Error error_{ErrorCode::kInternal, ""};
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok_status() { return {}; }

inline Error make_error(ErrorCode code, std::string message) { return Error(code, std::move(message)); }

}  // namespace r1vk

#define R1VK_CONCAT_INNER(a, b) a##b
#define R1VK_CONCAT(a, b) R1VK_CONCAT_INNER(a, b)

// Returns the error of a failed Status/Result from the enclosing function.
#define R1VK_TRY(expr)                                   \
  do {                                                   \
    auto&& r1vk_try_result_ = (expr);                    \
    if (!r1vk_try_result_.ok())                          \
      return std::move(r1vk_try_result_).error();        \
  } while (0)

// `R1VK_ASSIGN_OR_RETURN(auto x, make_x());` binds the value or returns the error.
#define R1VK_ASSIGN_OR_RETURN(lhs, expr) \
  R1VK_ASSIGN_OR_RETURN_IMPL(R1VK_CONCAT(r1vk_result_, __LINE__), lhs, expr)
#define R1VK_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return std::move(tmp).error();    \
  lhs = std::move(tmp).value()
