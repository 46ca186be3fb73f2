// Shared access to the real tokenizers the text tests run on (unpacked into the build tree by
// tests/text/tokenizer_data.cmake, with the golden files in tests/data/tokenizers/).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "text/tokenizer.h"

namespace r1vk::text::testing {

inline const char* const kTokenizerNames[] = {"deepseek_r1", "qwen3", "llama3_1"};

// The unpacked tokenizer directory of `name` (tokenizer.json + tokenizer_config.json).
std::filesystem::path tokenizer_dir(const std::string& name);
// tests/data/tokenizers/<name>/ in the source tree.
std::filesystem::path source_data_dir(const std::string& name);
// Loaded once per process and shared by every test case (loading takes a second).
const Tokenizer& tokenizer(const std::string& name);

std::string read_text_file(const std::filesystem::path& path);

}  // namespace r1vk::text::testing
