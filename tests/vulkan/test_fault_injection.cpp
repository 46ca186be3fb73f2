// The fault-injection hook (runtime/vulkan/fault_injection.h) on its own, without a device: the
// spec from R1VK_FAULT or from the file R1VK_FAULT_FILE names, counting from the moment the spec
// took its value, and a lost device staying lost.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "vulkan/fault_injection.h"

namespace r1vk::vk {
namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::trunc);
  out << text;
}

TEST_CASE("R1VK_FAULT_FILE: the spec written into the file takes effect at the next check, counted from then") {
  ::unsetenv("R1VK_FAULT");
  const fs::path file = fs::temp_directory_path() / ("r1vk_fault_" + std::to_string(::getpid()));
  fs::remove(file);
  ::setenv("R1VK_FAULT_FILE", file.c_str(), 1);
  // No file yet, then an empty one: nothing is injected.
  for (int i = 0; i < 5; ++i) CHECK(fault::check(fault::Site::kSubmit) == VK_SUCCESS);
  write_file(file, "");
  CHECK(fault::check(fault::Site::kSubmit) == VK_SUCCESS);
  // The third submit from now fails; the device then stays lost for submits and waits, while
  // allocations still work.
  write_file(file, "submit:3\n");
  CHECK(fault::check(fault::Site::kSubmit) == VK_SUCCESS);
  CHECK(fault::check(fault::Site::kSubmit) == VK_SUCCESS);
  CHECK(fault::check(fault::Site::kSubmit) == VK_ERROR_DEVICE_LOST);
  CHECK(fault::check(fault::Site::kWait) == VK_ERROR_DEVICE_LOST);
  CHECK(fault::check(fault::Site::kSubmit) == VK_ERROR_DEVICE_LOST);
  CHECK(fault::check(fault::Site::kAllocate) == VK_SUCCESS);
  // R1VK_FAULT, where set, wins over the file.
  ::setenv("R1VK_FAULT", "alloc:1", 1);
  CHECK(fault::check(fault::Site::kSubmit) == VK_SUCCESS);
  CHECK(fault::check(fault::Site::kAllocate) == VK_ERROR_OUT_OF_DEVICE_MEMORY);
  ::unsetenv("R1VK_FAULT");
  // Clearing the file ends the fault (a new spec: the lost state is reset too).
  write_file(file, "");
  CHECK(fault::check(fault::Site::kSubmit) == VK_SUCCESS);
  ::unsetenv("R1VK_FAULT_FILE");
  fs::remove(file);
}

TEST_CASE("a malformed fault spec is refused with the part at fault") {
  CHECK(fault::validate_spec("submit:2,wait:1").ok());
  const Status bad = fault::validate_spec("submit:2,lose:1");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message().find("\"lose:1\"") != std::string::npos);
  CHECK_FALSE(fault::validate_spec("wait:0").ok());
}

}  // namespace
}  // namespace r1vk::vk
