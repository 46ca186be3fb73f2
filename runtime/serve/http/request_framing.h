// Checks of a request's framing and credentials that cpp-httplib 0.11 leaves undone, applied
// before the body is read (in the pre-routing handler):
//  - the body must be framed by one Content-Length. Chunked bodies are refused with 411, since
//    0.11 does not apply set_payload_max_length to them (a client could stream without limit),
//    and so is a body-carrying request with no length at all (0.11 would read it to the end of
//    the connection). Several Content-Length headers that differ, and a value that is not a
//    non-negative decimal integer, are 400 (RFC 7230 section 3.3.3, rule 4).
//  - the Authorization scheme is compared case-insensitively (RFC 7235 section 2.1).
#pragma once

#include <httplib.h>

#include <optional>
#include <string>

#include "serve/http/api_error.h"

namespace r1vk::serve::http {

// The error to answer with when the request's body framing is unacceptable; nullopt when fine.
std::optional<ApiError> check_body_framing(const httplib::Request& req);

// The credentials of "Authorization: Bearer <token>" (scheme in any case, one or more spaces);
// nullopt for another scheme or no header.
std::optional<std::string> bearer_token(const std::string& authorization);

}  // namespace r1vk::serve::http
