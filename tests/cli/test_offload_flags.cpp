// --gpu-memory and --expert-cache text (tools/r1vk/offload_flags): the documented forms are
// accepted with their exact byte counts, anything else is refused with a message saying why.
#include <doctest/doctest.h>

#include <string>

#include "offload_flags.h"

namespace r1vk::cli {
namespace {

uint64_t size_of(const std::string& text) {
  auto r = parse_memory_size(text, "--gpu-memory");
  REQUIRE_MESSAGE(r.ok(), text);
  return *r;
}

std::string size_error(const std::string& text) {
  auto r = parse_memory_size(text, "--gpu-memory");
  REQUIRE_FALSE_MESSAGE(r.ok(), text);
  CHECK(r.error().message().find("--gpu-memory '" + text + "' is not a size") != std::string::npos);
  return r.error().message();
}

TEST_CASE("--gpu-memory accepts bytes and K/M/G/T binary units, with decimal fractions") {
  CHECK(size_of("1") == 1);
  CHECK(size_of("123456789") == 123456789);
  CHECK(size_of("800K") == 800ull << 10);
  CHECK(size_of("512M") == 512ull << 20);
  CHECK(size_of("24G") == 24ull << 30);
  CHECK(size_of("24GiB") == 24ull << 30);
  CHECK(size_of("24gb") == 24ull << 30);
  CHECK(size_of("2T") == 2ull << 40);
  CHECK(size_of("100B") == 100);
  CHECK(size_of("1.5G") == 3ull << 29);
  CHECK(size_of("0.5K") == 512);
  CHECK(size_of("0.1K") == 102);  // 102.4 bytes: rounded down
  CHECK(size_of("1.0") == 1);     // a zero fraction is whole bytes
  CHECK(size_of("18446744073709551615") == 18446744073709551615ull);
  CHECK(size_of("16777215.99999999999999T") == (16777216ull << 40) - 1);
}

TEST_CASE("--gpu-memory refuses hex, exponents, signs, fractions of a byte and overflow, saying why") {
  CHECK(size_error("0x100000").find("hexadecimal is not accepted") != std::string::npos);
  CHECK(size_error("0X1G").find("hexadecimal") != std::string::npos);
  CHECK(size_error("1e9").find("unknown unit") != std::string::npos);
  CHECK(size_error("12X").find("unknown unit") != std::string::npos);
  CHECK(size_error("1.5").find("a fraction needs a unit") != std::string::npos);
  CHECK(size_error("0").find("at least 1 byte") != std::string::npos);
  CHECK(size_error("0.0001K").find("at least 1 byte") != std::string::npos);
  CHECK(size_error("18446744073709551616").find("larger than 2^64 - 1 bytes") != std::string::npos);
  CHECK(size_error("16777216T").find("larger than 2^64 - 1 bytes") != std::string::npos);
  for (const char* text : {"", "-1G", "+1G", " 1G", "1G ", ".5G", "1.G", "inf", "nan", "1,5G", "1KK", "1iB", "GiB"}) {
    size_error(text);
  }
}

TEST_CASE("--expert-cache takes 'all' or any count >= 0 up to 2^63 - 1; past that a clear error") {
  CHECK(*parse_expert_cache_slots("all") == exec::ModelOptions::kExpertCacheAll);
  CHECK(*parse_expert_cache_slots("0") == 0);
  CHECK(*parse_expert_cache_slots("4") == 4);
  // Counts past the model's experts are clamped by the load, whatever their size.
  CHECK(*parse_expert_cache_slots("2147483648") == 2147483648ll);
  CHECK(*parse_expert_cache_slots("4294967297") == 4294967297ll);
  CHECK(*parse_expert_cache_slots("9223372036854775807") == 9223372036854775807ll);
  auto big = parse_expert_cache_slots("9223372036854775808");
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().message() ==
        "--expert-cache '9223372036854775808' is not a slot count: larger than 9223372036854775807 (use 'all' for every expert)");
  for (const char* text : {"", "many", "-1", "+4", " 4", "4 ", "0x10", "1e3", "ALL"}) {
    auto r = parse_expert_cache_slots(text);
    REQUIRE_FALSE_MESSAGE(r.ok(), text);
    CHECK(r.error().message() == std::string("--expert-cache '") + text + "' is not a slot count: use a whole number >= 0 or 'all'");
  }
}

}  // namespace
}  // namespace r1vk::cli
