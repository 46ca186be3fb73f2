// The URL `r1vk serve` prints on start: what a user pastes into a browser or an OpenAI client's
// base_url, so an IPv6 host needs its brackets (RFC 3986 section 3.2.2).
#include <doctest/doctest.h>

#include "serve/http/http_server.h"

namespace r1vk::serve::http {
namespace {

TEST_CASE("listen_url brackets IPv6 hosts and leaves names and IPv4 alone") {
  CHECK(listen_url("127.0.0.1", 8080) == "http://127.0.0.1:8080");
  CHECK(listen_url("localhost", 80) == "http://localhost:80");
  CHECK(listen_url("::1", 8080) == "http://[::1]:8080");
  CHECK(listen_url("[::1]", 8080) == "http://[::1]:8080");
}

}  // namespace
}  // namespace r1vk::serve::http
