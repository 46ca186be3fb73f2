// read_json_file: the file-level errors a user meets before any JSON is parsed.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "base/json_util.h"

namespace r1vk {
namespace {

namespace fs = std::filesystem;

TEST_CASE("read_json_file names a directory, a missing file and an oversized file") {
  const fs::path dir = fs::temp_directory_path() / ("r1vk_json_util_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    auto r = read_json_file(dir.string(), 1 << 20);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message().find("is a directory") != std::string::npos);
  }
  {
    auto r = read_json_file((dir / "absent.json").string(), 1 << 20);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message().find("cannot open") != std::string::npos);
  }
  const fs::path file = dir / "x.json";
  std::ofstream(file) << R"({"a": [1, 2, 3]})";
  {
    auto r = read_json_file(file.string(), 4);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message().find("more than the limit of 4") != std::string::npos);
  }
  {
    auto r = read_json_file(file.string(), 1 << 20);
    REQUIRE(r.ok());
    CHECK((*r)["a"].size() == 3);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace r1vk
