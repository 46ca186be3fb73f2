#include "safetensors_writer.h"

#include <cerrno>
#include <cstring>
#include <memory>

#include "base/json_util.h"

namespace r1vk::gen {

uint64_t PlannedTensor::byte_size() const {
  uint64_t n = dtype_size(dtype);
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

Status ByteSink::write(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return ok_status();
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    return make_error(ErrorCode::kIo, path_ + ": write failed: " + std::strerror(errno));
  }
  written_ += bytes.size();
  return ok_status();
}

std::string safetensors_header(const std::vector<PlannedTensor>& tensors,
                               const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const PlannedTensor& t : tensors) {
    const uint64_t end = offset + t.byte_size();
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string text = header.dump(-1, ' ', false, Json::error_handler_t::replace);
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

Status write_safetensors(const std::string& path, const std::vector<PlannedTensor>& tensors,
                         const std::map<std::string, std::string>& metadata, const TensorProducer& produce) {
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!file) return make_error(ErrorCode::kIo, path + ": cannot create: " + std::strerror(errno));
  const std::string header = safetensors_header(tensors, metadata);
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(static_cast<uint64_t>(header.size()) >> (8 * i));
  ByteSink sink(file.get(), path);
  R1VK_TRY(sink.write(length));
  R1VK_TRY(sink.write({reinterpret_cast<const uint8_t*>(header.data()), header.size()}));
  for (size_t i = 0; i < tensors.size(); ++i) {
    sink.reset_count();
    R1VK_TRY(produce(i, sink));
    if (sink.written() != tensors[i].byte_size()) {
      return make_error(ErrorCode::kInternal, path + ": tensor '" + tensors[i].name + "' produced " +
                                                  std::to_string(sink.written()) + " bytes, expected " +
                                                  std::to_string(tensors[i].byte_size()));
    }
  }
  if (std::fflush(file.get()) != 0) return make_error(ErrorCode::kIo, path + ": flush failed: " + std::strerror(errno));
  return ok_status();
}

}  // namespace r1vk::gen
