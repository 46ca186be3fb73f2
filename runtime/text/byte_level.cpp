#include "text/byte_level.h"

#include <array>

#include "text/utf8.h"

namespace r1vk::text {
namespace {

bool shows_as_itself(unsigned b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct Tables {
  std::array<char32_t, 256> to_char{};
  std::array<int, 512> to_byte{};  // indexed by code point; every alphabet member is < 512
  Tables() {
    to_byte.fill(-1);
    char32_t next = 256;  // bytes that are not printable map to 256, 257, ... in byte order
    for (unsigned b = 0; b < 256; ++b) {
      to_char[b] = shows_as_itself(b) ? char32_t(b) : next++;
      to_byte[to_char[b]] = static_cast<int>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

char32_t byte_to_char(unsigned char byte) { return tables().to_char[byte]; }

std::optional<std::string> byte_level_to_bytes(std::string_view token) {
  if (find_invalid_utf8(token)) return std::nullopt;
  std::string out;
  out.reserve(token.size());
  size_t pos = 0;
  while (pos < token.size()) {
    const char32_t cp = decode_utf8(token, pos);
    if (cp >= 512 || tables().to_byte[cp] < 0) return std::nullopt;
    out += static_cast<char>(tables().to_byte[cp]);
  }
  return out;
}

std::string bytes_to_byte_level(std::string_view bytes) {
  std::string out;
  for (char c : bytes) append_utf8(out, byte_to_char(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace r1vk::text
