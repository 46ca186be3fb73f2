#include "npy_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace r1vk::cli {

Status write_npy_f32(const std::string& path, std::span<const float> data, const std::vector<int64_t>& shape) {
  // A Python tuple literal: "()", "(5,)", "(3, 272)" (one element needs its trailing comma).
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i) dims += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dims += ',';
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Magic (6) + version (2) + header length (2) + header, padded with spaces to 64 and ended by '\n'.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return make_error(ErrorCode::kIo, "cannot write " + path + ": " + std::strerror(errno));
  const unsigned char magic[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  const uint16_t len = static_cast<uint16_t>(header.size());
  bool ok = std::fwrite(magic, 1, 8, f) == 8 && std::fwrite(&len, 2, 1, f) == 1 &&
            std::fwrite(header.data(), 1, header.size(), f) == header.size() &&
            std::fwrite(data.data(), 4, data.size(), f) == data.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok) return make_error(ErrorCode::kIo, "writing " + path + " failed");
  return ok_status();
}

}  // namespace r1vk::cli
