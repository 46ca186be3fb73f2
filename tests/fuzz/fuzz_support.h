// Shared by the fuzz targets: the libFuzzer entry points, splitting one input into several
// documents, invariant checks that abort (so libFuzzer records the input), and a per-process
// scratch directory for parsers that only take paths.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace r1vk::fuzz {

// Inputs carrying several documents (a text and a tokenizer.json, an index and a shard) separate
// them with this line; the seed corpora and tests/fuzz/dict/*.dict use it too.
inline constexpr std::string_view kPartSeparator = "\n--r1vk-part--\n";

// At most `max_parts` parts: the last one keeps the rest, separators included. Missing parts are
// empty.
std::vector<std::string_view> split_parts(const uint8_t* data, size_t size, size_t max_parts);

// An invariant the parser promises (a round trip, a bound) failed: print and abort.
[[noreturn]] void fail(const std::string& what);
inline void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

// A private directory, made once per process and removed at exit.
const std::string& scratch_dir();
// Writes `bytes` to scratch_dir()/name (replacing it) and returns the path.
std::string write_scratch_file(const std::string& name, std::string_view bytes);
void remove_scratch_file(const std::string& name);

}  // namespace r1vk::fuzz
