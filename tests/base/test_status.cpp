#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "base/status.h"

namespace r1vk {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return make_error(ErrorCode::kInvalidArgument, "value " + std::to_string(v) + " is not positive");
  return v;
}

Result<int> doubled(int v) {
  R1VK_ASSIGN_OR_RETURN(int x, parse_positive(v));
  return 2 * x;
}

Status check_twice(int v) {
  R1VK_TRY(parse_positive(v));
  R1VK_TRY(parse_positive(v - 1));
  return ok_status();
}

TEST_CASE("Result carries a value or an error with its message") {
  auto good = doubled(4);
  REQUIRE(good.ok());
  CHECK(*good == 8);

  auto bad = doubled(-3);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code() == ErrorCode::kInvalidArgument);
  CHECK(bad.error().message() == "value -3 is not positive");
}

TEST_CASE("R1VK_TRY stops at the first failure") {
  CHECK(check_twice(5).ok());
  auto s = check_twice(1);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message() == "value 0 is not positive");
}

TEST_CASE("with_context prefixes the location") {
  Error e = make_error(ErrorCode::kCorruptData, "bad dtype").with_context("tensor w");
  CHECK(e.message() == "tensor w: bad dtype");
  CHECK(std::string(error_code_name(e.code())) == "corrupt data");
}

TEST_CASE("Result holds move-only values") {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  REQUIRE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  CHECK(*p == 7);
}

}  // namespace
}  // namespace r1vk
