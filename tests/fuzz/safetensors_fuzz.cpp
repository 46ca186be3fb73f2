// Fuzz target: one safetensors file's bytes (length prefix, JSON header, data section). A header
// that parses must describe tensors that tile the data section exactly, and every tensor must
// convert to f32 without reading outside its bytes.
#include <span>
#include <vector>

#include "fuzz_support.h"
#include "import/dequantize.h"
#include "import/safetensors_file.h"

namespace {
constexpr uint64_t kMaxConvertElements = 1u << 20;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace r1vk;
  const std::span<const uint8_t> file(data, size);
  auto header = parse_safetensors(file, "fuzz.safetensors");
  if (!header.ok()) {
    fuzz::check(!header.error().message().empty(), "a rejected header has a message");
    return 0;
  }
  fuzz::check(header->data_offset >= 8 && header->data_offset <= size, "data offset inside the file");
  const uint64_t data_size = size - header->data_offset;
  for (const TensorInfo& t : header->tensors) {
    fuzz::check(t.data_begin <= t.data_end && t.data_end <= data_size, "tensor bytes inside the data section");
    fuzz::check(t.data_end - t.data_begin == t.element_count * dtype_size(t.dtype), "tensor bytes match its shape");
    (void)shape_to_string(t.shape);
    if (t.element_count > kMaxConvertElements || t.dtype == DType::kBool) continue;
    std::vector<float> out(static_cast<size_t>(t.element_count));
    const auto bytes = file.subspan(static_cast<size_t>(header->data_offset + t.data_begin),
                                    static_cast<size_t>(t.data_end - t.data_begin));
    fuzz::check(convert_to_f32(t.dtype, bytes, out).ok(), "every non-bool dtype converts");
  }
  return 0;
}
