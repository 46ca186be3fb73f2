// The malformed-GGUF corpus: every case is a small file built from the published format with one
// thing wrong (truncation, absurd counts and sizes, overflowing dimensions, overlapping or
// misaligned tensors, unknown or IQ types, ...), and must fail with its own message and code,
// never a crash, hang or huge allocation (this suite also runs under ASan + UBSan). With
// R1VK_GGUF_SEED_DIR set, the cases are also written there as fuzzing seeds
// (tests/fuzz/corpus/gguf/ holds the committed copy).
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>

#include "gguf_writer.h"
#include "import/gguf_file.h"
#include "import/gguf_import.h"
#include "import/import_test_util.h"

namespace r1vk {
namespace {

namespace fs = std::filesystem;
using gen::GgufBuilder;
using gen::put_string;
using gen::put_u32;
using gen::put_u64;

GgufBuilder base() {
  GgufBuilder g;
  g.add_string("general.architecture", "llama");
  g.add_tensor("a", {8}, GgmlType::kF32, std::vector<uint8_t>(32, 0));
  g.add_tensor("b", {32, 2}, GgmlType::kQ8_0, std::vector<uint8_t>(68, 0));
  return g;
}

// The header fields after magic and version, for hand-made files.
std::vector<uint8_t> header(uint32_t version, uint64_t tensors, uint64_t kvs) {
  std::vector<uint8_t> b = {'G', 'G', 'U', 'F'};
  put_u32(b, version);
  put_u64(b, tensors);
  put_u64(b, kvs);
  return b;
}

std::vector<uint8_t> one_tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset,
                                size_t data_bytes) {
  std::vector<uint8_t> b = header(3, 1, 0);
  put_string(b, name);
  put_u32(b, static_cast<uint32_t>(dims.size()));
  for (uint64_t d : dims) put_u64(b, d);
  put_u32(b, type);
  put_u64(b, offset);
  while (b.size() % 32) b.push_back(0);
  b.resize(b.size() + data_bytes, 0);
  return b;
}

struct BadGguf {
  const char* name;
  std::function<std::vector<uint8_t>()> make;
  const char* message;
  ErrorCode code;
};

std::vector<BadGguf> corpus() {
  auto kv = [](const std::string& key, uint32_t type, std::vector<uint8_t> payload) {
    GgufBuilder g = base();
    g.add_raw(key, type, payload);
    return g.bytes();
  };
  auto u32v = [](uint32_t v) { std::vector<uint8_t> p; put_u32(p, v); return p; };
  return {
      {"bad magic", [] { auto b = base().bytes(); b[0] = 'X'; return b; }, "not a GGUF file (bad magic)", ErrorCode::kCorruptData},
      {"version 1", [] { GgufBuilder g = base(); g.version = 1; return g.bytes(); }, "GGUF version 1 is not supported", ErrorCode::kUnsupported},
      {"big-endian", [] { auto b = base().bytes(); b[4] = 0; b[7] = 3; return b; }, "big-endian GGUF files are not supported", ErrorCode::kUnsupported},
      {"version 4", [] { GgufBuilder g = base(); g.version = 4; return g.bytes(); }, "unknown GGUF version 4", ErrorCode::kUnsupported},
      {"absurd tensor count", [] { return header(3, 1ull << 62, 0); }, "tensors and 0 metadata entries cannot fit", ErrorCode::kCorruptData},
      {"absurd metadata count", [] { return header(3, 0, ~0ull); }, "metadata entries cannot fit", ErrorCode::kCorruptData},
      {"key length 2^63", [] { auto b = header(3, 0, 1); put_u64(b, 1ull << 63); b.resize(b.size() + 16, 0); return b; }, "metadata key 0: length 9223372036854775808 exceeds the limit", ErrorCode::kCorruptData},
      {"string value past the end", [] { auto b = header(3, 0, 1); put_string(b, "k"); put_u32(b, 8); put_u64(b, 100); b.push_back('x'); return b; }, "truncated: metadata 'k' at offset", ErrorCode::kCorruptData},
      {"array count 2^61 of u64", [&] { std::vector<uint8_t> p; put_u32(p, 10); put_u64(p, 1ull << 61); return kv("arr", 9, p); }, "array of 2305843009213693952 u64 elements cannot fit", ErrorCode::kCorruptData},
      {"array count overflowing the size", [&] { std::vector<uint8_t> p; put_u32(p, 12); put_u64(p, ~0ull / 4); return kv("arr", 9, p); }, "f64 elements cannot fit", ErrorCode::kCorruptData},
      {"array of 2^40 strings", [&] { std::vector<uint8_t> p; put_u32(p, 8); put_u64(p, 1ull << 40); return kv("arr", 9, p); }, "string elements cannot fit", ErrorCode::kCorruptData},
      {"arrays nested 5 deep", [&] {
         std::vector<uint8_t> p;
         for (int d = 0; d < 5; ++d) { put_u32(p, 9); put_u64(p, 1); }
         put_u32(p, 0); put_u64(p, 0);
         return kv("deep", 9, std::vector<uint8_t>(p.begin() + 0, p.end()));
       }, "arrays nested deeper than 4 levels", ErrorCode::kCorruptData},
      {"unknown value type", [&] { return kv("k", 13, u32v(0)); }, "metadata 'k' type: unknown value type 13", ErrorCode::kCorruptData},
      {"bool 2", [&] { return kv("k", 7, {2}); }, "metadata 'k': bool is 2, not 0 or 1", ErrorCode::kCorruptData},
      {"duplicate key", [] { GgufBuilder g = base(); g.add_u32("x", 1); g.add_u32("x", 2); return g.bytes(); }, "metadata key 'x' appears twice", ErrorCode::kCorruptData},
      {"alignment 3", [] { GgufBuilder g = base(); g.add_u32("general.alignment", 3); return g.bytes(); }, "general.alignment 3 is not a power of two", ErrorCode::kCorruptData},
      {"alignment 0", [] { GgufBuilder g = base(); g.add_u32("general.alignment", 0); return g.bytes(); }, "general.alignment 0 is not a power of two", ErrorCode::kCorruptData},
      {"alignment as a string", [] { GgufBuilder g = base(); g.add_string("general.alignment", "32"); return g.bytes(); }, "general.alignment is string, expected u32", ErrorCode::kCorruptData},
      {"declared alignment not kept", [] { GgufBuilder g = base(); g.add_u32("general.alignment", 64); return g.bytes(); }, "is not a multiple of the alignment 64", ErrorCode::kCorruptData},
      {"five dimensions", [] { return one_tensor("t", {1, 1, 1, 1, 1}, 0, 0, 4); }, "tensor 't': 5 dimensions", ErrorCode::kCorruptData},
      {"zero dimension", [] { return one_tensor("t", {4, 0}, 0, 0, 16); }, "tensor 't': dimension 1 is 0", ErrorCode::kCorruptData},
      {"dimension product overflow", [] { return one_tensor("t", {1ull << 32, 1ull << 32, 1ull << 32}, 0, 0, 0); }, "element count of dimensions {4294967296, 4294967296} overflows", ErrorCode::kCorruptData},
      {"byte size overflow", [] { return one_tensor("t", {1ull << 62, 2}, 0, 0, 0); }, "element count of dimensions", ErrorCode::kCorruptData},
      {"unknown ggml type", [] { return one_tensor("t", {32}, 99, 0, 128); }, "tensor 't': unknown ggml type 99", ErrorCode::kUnsupported},
      {"retired ggml type 4", [] { return one_tensor("t", {32}, 4, 0, 128); }, "unknown ggml type 4", ErrorCode::kUnsupported},
      {"IQ2_XXS tensor", [] { return one_tensor("blk.0.ffn_down.weight", {256}, 16, 0, 66); }, "tensor 'blk.0.ffn_down.weight' has type IQ2_XXS, which r1vk does not decode", ErrorCode::kUnsupported},
      {"IQ4_XS tensor", [] { return one_tensor("t", {256}, 23, 0, 136); }, "has type IQ4_XS", ErrorCode::kUnsupported},
      {"row not whole blocks", [] { return one_tensor("t", {33}, 8, 0, 68); }, "row length 33 is not a multiple of the Q8_0 block size 32", ErrorCode::kCorruptData},
      {"misaligned offset", [] { return one_tensor("t", {4}, 0, 4, 64); }, "offset 4 is not a multiple of the alignment 32", ErrorCode::kCorruptData},
      {"tensor past the end", [] { return one_tensor("t", {64}, 0, 0, 100); }, "tensor 't' (256 bytes at data offset 0) runs past the end", ErrorCode::kCorruptData},
      {"offset + size overflow", [] { return one_tensor("t", {8}, 0, ~0ull - 31, 64); }, "runs past the end of the file", ErrorCode::kCorruptData},
      {"overlapping tensors", [] {
         GgufBuilder g;
         g.add_tensor_at("x", {16}, 0, std::vector<uint8_t>(64, 0), 0);
         g.add_tensor_at("y", {16}, 0, std::vector<uint8_t>(64, 0), 32);
         return g.bytes();
       }, "tensors 'x' and 'y' overlap", ErrorCode::kCorruptData},
      {"duplicate tensor", [] {
         GgufBuilder g;
         g.add_tensor("x", {8}, GgmlType::kF32, std::vector<uint8_t>(32, 0));
         g.add_tensor("x", {8}, GgmlType::kF32, std::vector<uint8_t>(32, 0));
         return g.bytes();
       }, "tensor 'x' appears twice", ErrorCode::kCorruptData},
      {"tensor name 2^40 bytes", [] { auto b = header(3, 1, 0); put_u64(b, 1ull << 40); b.resize(b.size() + 64, 0); return b; }, "tensor info 0 name: length 1099511627776 exceeds the limit", ErrorCode::kCorruptData},
  };
}

void write_seed(const std::string& name, const std::vector<uint8_t>& bytes) {
  const char* dir = std::getenv("R1VK_GGUF_SEED_DIR");
  if (!dir) return;
  std::string file;
  for (char c : std::string(name)) file += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  testing::write_bytes(fs::path(dir) / (file + ".gguf"), bytes);
}

TEST_CASE("malformed GGUF corpus: every case fails with its own message") {
  const auto cases = corpus();
  CHECK(cases.size() >= 30);
  for (const BadGguf& c : cases) {
    CAPTURE(c.name);
    const std::vector<uint8_t> bytes = c.make();
    write_seed(std::string("bad ") + c.name, bytes);
    auto f = GgufFile::from_bytes(bytes, "bad.gguf");
    REQUIRE_FALSE(f.ok());
    const std::string message = f.error().message();
    CAPTURE(message);
    CHECK(message.find(c.message) != std::string::npos);
    CHECK(f.error().code() == c.code);
  }
}

TEST_CASE("the unmutated base parses, and every truncation of it is refused") {
  const std::vector<uint8_t> good = base().bytes();
  write_seed("good small", good);
  REQUIRE(GgufFile::from_bytes(good, "good.gguf").ok());
  for (size_t n = 0; n < good.size(); ++n) {
    CAPTURE(n);
    auto f = GgufFile::from_bytes(std::span<const uint8_t>(good.data(), n), "cut.gguf");
    CHECK_FALSE(f.ok());
  }
}

TEST_CASE("random byte corruption of a GGUF header never crashes the reader") {
  GgufBuilder g = base();
  g.add_strings("tokenizer.ggml.tokens", {"a", "bb", "ccc"});
  g.add_i32s("tokenizer.ggml.token_type", {1, 1, 3});
  const std::vector<uint8_t> original = g.bytes();
  uint64_t state = 0x243F6A8885A308D3ull;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int rejected = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<uint8_t> bytes = original;
    const int flips = 1 + static_cast<int>(next() % 4);
    for (int f = 0; f < flips; ++f) bytes[static_cast<size_t>(next() % (original.size() - 100))] = static_cast<uint8_t>(next());
    auto f = GgufFile::from_bytes(bytes, "fuzz.gguf");
    if (!f.ok()) ++rejected;
  }
  CHECK(rejected > 500);
}

TEST_CASE("model-level problems: unknown architecture, missing tensors") {
  testing::TempDir dir;
  GgufBuilder g;
  g.add_string("general.architecture", "gpt2");
  const std::string p = (dir.path() / "gpt2.gguf").string();
  REQUIRE(g.write(p).ok());
  auto im = import_gguf(p);
  REQUIRE_FALSE(im.ok());
  CHECK(im.error().message().find("GGUF architecture 'gpt2' is not supported (supported: deepseek2, qwen2, llama)") != std::string::npos);
  CHECK(im.error().code() == ErrorCode::kUnsupported);

  GgufBuilder h;
  h.add_string("general.architecture", "qwen2");
  h.add_u32("qwen2.embedding_length", 64);
  h.add_u32("qwen2.feed_forward_length", 128);
  h.add_u32("qwen2.block_count", 1);
  h.add_u32("qwen2.attention.head_count", 4);
  h.add_u32("qwen2.context_length", 128);
  h.add_f32("qwen2.attention.layer_norm_rms_epsilon", 1e-6f);
  h.add_tensor("token_embd.weight", {64, 16}, GgmlType::kF32, std::vector<uint8_t>(64 * 16 * 4, 0));
  const std::string q = (dir.path() / "qwen.gguf").string();
  REQUIRE(h.write(q).ok());
  auto iq = import_gguf(q);
  REQUIRE_FALSE(iq.ok());
  CHECK(iq.error().message().find("missing tensor 'output_norm.weight'") != std::string::npos);
}

}  // namespace
}  // namespace r1vk
