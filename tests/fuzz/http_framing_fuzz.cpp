// Fuzz target: the server's checks of a request's framing and credentials before its body is read
// (runtime/serve/http/request_framing): Content-Length / Transfer-Encoding and the Authorization
// scheme. The input is a request head as a client sends it: a request line, then "Name: value"
// header lines (CRLF or LF), split the way cpp-httplib splits them (name up to the first ':',
// value with blanks trimmed; the names compare case-insensitively, as in httplib::Headers), up to
// an empty line.
// Invariants: check_body_framing follows RFC 7230 section 3.3.3 as the header documents it
// (Transfer-Encoding: 411; POST/PUT/PATCH with no Content-Length: 411; a Content-Length that is
// not all digits, or several that differ: 400; else accepted), every refusal is a well-formed
// OpenAI error that the server can send; bearer_token returns exactly the credentials after
// "Bearer" (any case) and its spaces, never an empty token.
#include <strings.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "serve/http/openai_response.h"
#include "serve/http/request_framing.h"

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits off the next line (without its CR LF or LF); false at the end of the input.
bool next_line(std::string_view& rest, std::string_view& line) {
  if (rest.empty()) return false;
  const size_t lf = rest.find('\n');
  line = rest.substr(0, lf);
  rest.remove_prefix(lf == std::string_view::npos ? rest.size() : lf + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return true;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void check_error(const r1vk::serve::http::ApiError& e) {
  using r1vk::fuzz::check;
  check(!e.message.empty(), "a refusal says what is wrong");
  const auto j = e.to_json();
  check(j.contains("error") && j["error"].contains("message") && j["error"].contains("code"), "OpenAI error shape");
  (void)r1vk::serve::http::dump(j);  // header bytes that are not UTF-8 must not make the answer throw
}

void check_bearer(const std::string& authorization) {
  using r1vk::fuzz::check;
  const auto token = r1vk::serve::http::bearer_token(authorization);
  const bool bearer = authorization.size() > 6 && ::strncasecmp(authorization.c_str(), "bearer", 6) == 0 && authorization[6] == ' ';
  const size_t start = bearer ? authorization.find_first_not_of(' ', 6) : std::string::npos;
  if (!bearer || start == std::string::npos) {
    check(!token, "no token without 'Bearer <credentials>'");
    return;
  }
  check(token && *token == authorization.substr(start), "the token is everything after the scheme and its spaces");
  check(!token->empty() && token->front() != ' ', "a token is never empty nor starts with a space");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace r1vk;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::string_view line;
  if (!next_line(rest, line)) return 0;
  httplib::Request req;
  req.method = std::string(line.substr(0, line.find(' ')));
  while (next_line(rest, line) && !line.empty()) {
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;  // httplib skips such lines
    req.headers.emplace(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
  }

  const auto error = serve::http::check_body_framing(req);
  if (error) check_error(*error);
  const auto [first, last] = req.headers.equal_range("Content-Length");
  const bool body_method = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
  if (req.has_header("Transfer-Encoding")) {
    fuzz::check(error && error->status == 411 && error->code == "length_required", "Transfer-Encoding is refused with 411");
  } else if (first == last) {
    fuzz::check(body_method ? error && error->status == 411 : !error, "a body method needs a Content-Length, others do not");
  } else {
    bool valid = true;
    for (auto it = first; it != last; ++it) valid = valid && all_digits(it->second) && it->second == first->second;
    fuzz::check(valid ? !error : error && error->status == 400 && error->code == "bad_content_length",
                "one decimal Content-Length (or several equal ones) is accepted, anything else is 400");
  }

  const auto [auth_first, auth_last] = req.headers.equal_range("Authorization");
  for (auto it = auth_first; it != auth_last; ++it) check_bearer(it->second);
  return 0;
}
