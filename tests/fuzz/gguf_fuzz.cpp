// Fuzz target: one GGUF file's bytes (header, metadata, tensor infos, data section). A file that
// parses must describe tensors whose bytes lie inside it, at the declared alignment, and every
// tensor must dequantise to f32 from exactly its bytes without reading outside them; the
// tokenizer metadata is mapped to tokenizer.json or refused with a message.
#include <span>
#include <vector>

#include "fuzz_support.h"
#include "import/gguf_dequantize.h"
#include "import/gguf_file.h"
#include "import/gguf_tokenizer.h"

namespace {
constexpr uint64_t kMaxDequantizeElements = 1u << 20;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace r1vk;
  const std::span<const uint8_t> bytes(data, size);
  auto file = GgufFile::from_bytes(bytes, "fuzz.gguf");
  if (!file.ok()) {
    fuzz::check(!file.error().message().empty(), "a rejected file has a message");
    return 0;
  }
  auto tokenizer = gguf_tokenizer_json(file->metadata());
  if (!tokenizer.ok()) fuzz::check(!tokenizer.error().message().empty(), "a refused tokenizer has a message");
  for (const GgufTensorInfo& t : file->tensors()) {
    const std::span<const uint8_t> td = file->data(t);
    fuzz::check(td.size() == t.bytes, "a tensor's span has its declared size");
    fuzz::check(td.empty() || (td.data() >= data && td.data() + td.size() <= data + size), "tensor bytes inside the file");
    fuzz::check(t.offset % file->alignment() == 0, "tensor offsets keep the alignment");
    (void)gguf_dims_to_string(t.dims);
    if (t.elements > kMaxDequantizeElements) continue;
    std::vector<float> out(static_cast<size_t>(t.elements));
    fuzz::check(dequantize_ggml(t.type, td, out).ok(), "every accepted tensor type dequantises");
  }
  return 0;
}
