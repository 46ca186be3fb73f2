// SPIR-V of every shader variant in shaders/variants.cmake, compiled and validated at build time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace r1vk::shaders {

struct EmbeddedShader {
  const char* name;
  const uint32_t* words;
  size_t word_count;

  std::span<const uint32_t> spirv() const { return {words, word_count}; }
};

std::span<const EmbeddedShader> all();

// nullptr when no variant has that name.
inline const EmbeddedShader* find(std::string_view name) {
  for (const auto& s : all())
    if (name == s.name) return &s;
  return nullptr;
}

}  // namespace r1vk::shaders
