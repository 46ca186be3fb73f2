// Fuzz target: tokenizer.json (and tokenizer_config.json) loading, then encode/decode of a text
// with the tokenizer that loaded. The input is the text, tokenizer.json and tokenizer_config.json,
// separated by fuzz::kPartSeparator. Whatever the files say, a loaded tokenizer must turn any bytes
// into ids (encode_bytes) that decode to the same bytes, and must decode any ids without crashing.
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "text/stream_decoder.h"
#include "text/tokenizer.h"

namespace {
constexpr size_t kMaxTextBytes = 4096;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace r1vk;
  using namespace r1vk::text;
  const auto parts = fuzz::split_parts(data, size, 3);
  const std::string_view input_text = parts[0].substr(0, kMaxTextBytes);
  auto tok = Tokenizer::from_json(parts[1], parts[2]);
  if (!tok.ok()) {
    fuzz::check(!tok.error().message().empty(), "a rejected tokenizer has a message");
    return 0;
  }
  for (bool special : {true, false}) {
    auto ids = tok->encode(input_text, {.add_bos = false, .recognize_special = special});
    if (!ids.ok()) continue;
    for (TokenId id : *ids) fuzz::check(tok->is_valid_id(id), "encode yields known ids");
    (void)tok->decode(*ids, {.skip_special = true, .clean_up_spaces = true});
    StreamDecoder stream(*tok, /*show_special=*/special);
    for (TokenId id : *ids) fuzz::check(stream.push(id).ok(), "stream decoding of known ids succeeds");
    (void)stream.finish();
  }
  if (auto ids = tok->encode_bytes(input_text); ids.ok()) {
    auto back = tok->decode_bytes(*ids);
    fuzz::check(back.ok() && *back == input_text, "decode_bytes(encode_bytes(b)) == b");
  }
  // Arbitrary ids, some unknown: decoding fails cleanly or succeeds.
  std::vector<TokenId> ids;
  for (size_t i = 0; i + 1 < input_text.size() && ids.size() < 256; i += 2) {
    const auto raw = static_cast<TokenId>(static_cast<uint8_t>(input_text[i]) | static_cast<uint8_t>(input_text[i + 1]) << 8);
    ids.push_back(raw % static_cast<TokenId>(tok->id_limit() + 2));
  }
  (void)tok->decode(ids);
  (void)tok->decode_bytes(ids, /*skip_special=*/true);
  return 0;
}
