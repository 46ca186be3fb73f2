// Fuzz target: encode/decode of arbitrary text with the real DeepSeek-R1, Qwen3 and Llama 3.1
// tokenizers (the first byte picks one, the rest is the text). Properties: bytes round-trip
// through encode_bytes/decode_bytes; valid UTF-8 round-trips through encode/decode (Qwen3: its NFC
// form re-encodes to the same ids); streaming decode gives the same text as decoding at once.
#include <cstdlib>
#include <memory>
#include <string>

#include "fuzz_support.h"
#include "text/stream_decoder.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

namespace {

using r1vk::text::Tokenizer;

const char* const kNames[] = {"deepseek_r1", "qwen3", "llama3_1"};
std::unique_ptr<Tokenizer> g_tokenizers[3];

// The unpacked tokenizers live in the build tree (tests/text/tokenizer_data.cmake);
// R1VK_TOKENIZER_DATA overrides the path compiled in.
std::string data_dir() {
  const char* env = std::getenv("R1VK_TOKENIZER_DATA");
  return env && *env ? env : R1VK_FUZZ_TOKENIZER_DIR;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  for (size_t i = 0; i < 3; ++i) {
    auto tok = Tokenizer::from_directory(data_dir() + "/" + kNames[i]);
    if (!tok.ok()) r1vk::fuzz::fail("cannot load tokenizer " + std::string(kNames[i]) + ": " + tok.error().message());
    g_tokenizers[i] = std::make_unique<Tokenizer>(std::move(tok).value());
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace r1vk;
  using namespace r1vk::text;
  if (size == 0) return 0;
  const size_t which = data[0] % 3;
  const Tokenizer& tok = *g_tokenizers[which];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  auto raw_ids = tok.encode_bytes(input);
  fuzz::check(raw_ids.ok(), "encode_bytes accepts any bytes");
  auto raw_back = tok.decode_bytes(*raw_ids);
  fuzz::check(raw_back.ok() && *raw_back == input, "decode_bytes(encode_bytes(b)) == b");

  auto ids = tok.encode(input);
  const bool valid = !find_invalid_utf8(input).has_value();
  fuzz::check(ids.ok() == valid, "encode accepts exactly valid UTF-8");
  if (!valid) return 0;
  auto back = tok.decode(*ids, {.skip_special = false, .clean_up_spaces = false});
  fuzz::check(back.ok(), "decode of encoded ids succeeds");
  if (which == 1) {
    auto again = tok.encode(*back);
    fuzz::check(again.ok() && *again == *ids, "Qwen3: the decoded NFC text re-encodes to the same ids");
  } else {
    fuzz::check(*back == input, "decode(encode(text)) == text");
  }
  StreamDecoder stream(tok, /*show_special=*/true);
  std::string streamed;
  for (TokenId id : *ids) {
    auto piece = stream.push(id);
    fuzz::check(piece.ok(), "stream decoding of known ids succeeds");
    streamed += *piece;
  }
  streamed += stream.finish();
  fuzz::check(streamed == *back, "streamed text == decoded text");
  return 0;
}
