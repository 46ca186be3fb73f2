# cmake -DSPV=<file.spv> -DOUT=<file.cpp> -DNAME=<variant> -P EmbedSpirv.cmake
# Writes the SPIR-V module as a uint32_t array (little-endian words) in namespace r1vk::shaders.
file(READ ${SPV} hex HEX)
string(LENGTH "${hex}" len)
math(EXPR rem "${len} % 8")
if(len EQUAL 0 OR NOT rem EQUAL 0)
  message(FATAL_ERROR "${SPV}: not a whole number of 32-bit words")
endif()
math(EXPR words "${len} / 8")
string(REGEX REPLACE "([0-9a-f][0-9a-f])([0-9a-f][0-9a-f])([0-9a-f][0-9a-f])([0-9a-f][0-9a-f])"
       "0x\\4\\3\\2\\1u," body "${hex}")
file(WRITE ${OUT} "// Generated from ${NAME}.spv by cmake/EmbedSpirv.cmake. Do not edit.
#include <cstddef>
#include <cstdint>
namespace r1vk::shaders {
extern const uint32_t k_${NAME}_spv[];
extern const size_t k_${NAME}_spv_words;
alignas(4) const uint32_t k_${NAME}_spv[] = {${body}};
const size_t k_${NAME}_spv_words = ${words};
}  // namespace r1vk::shaders
")
