#include "serve/http/request_framing.h"

#include <strings.h>

#include <algorithm>

namespace r1vk::serve::http {
namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool carries_body(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

}  // namespace

std::optional<ApiError> check_body_framing(const httplib::Request& req) {
  if (req.has_header("Transfer-Encoding")) {
    return ApiError{411, "request bodies with Transfer-Encoding (chunked) are not accepted: send the body with a Content-Length",
                    "invalid_request_error", "", "length_required"};
  }
  const auto [first, last] = req.headers.equal_range("Content-Length");
  if (first == last) {
    if (!carries_body(req.method)) return std::nullopt;
    return ApiError{411, "a " + req.method + " request needs a Content-Length header", "invalid_request_error", "", "length_required"};
  }
  for (auto it = first; it != last; ++it) {
    if (!all_digits(it->second)) {
      return bad_request("Content-Length '" + it->second + "' is not a non-negative decimal integer", "", "bad_content_length");
    }
    if (it->second != first->second) {
      return bad_request("the request has several different Content-Length headers (" + first->second + ", " + it->second + ")",
                         "", "bad_content_length");
    }
  }
  return std::nullopt;
}

std::optional<std::string> bearer_token(const std::string& authorization) {
  static constexpr char kScheme[] = "bearer";
  constexpr size_t n = sizeof(kScheme) - 1;
  if (authorization.size() <= n || ::strncasecmp(authorization.c_str(), kScheme, n) != 0 || authorization[n] != ' ') {
    return std::nullopt;
  }
  const size_t start = authorization.find_first_not_of(' ', n);
  if (start == std::string::npos) return std::nullopt;
  return authorization.substr(start);
}

}  // namespace r1vk::serve::http
