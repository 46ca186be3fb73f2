// The GGUF container reader against the published format (ggml docs/gguf.md): a file assembled
// byte by byte in this test, every metadata value type, versions 2 and 3, alignment, splits.
#include <doctest/doctest.h>

#include <cstring>

#include "gguf_writer.h"
#include "import/gguf_file.h"
#include "import/gguf_split.h"
#include "import/import_test_util.h"

namespace r1vk {
namespace {

using gen::GgufBuilder;

void u32(std::vector<uint8_t>& b, uint32_t v) { for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i))); }
void u64(std::vector<uint8_t>& b, uint64_t v) { for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i))); }
void str(std::vector<uint8_t>& b, const std::string& s) {
  u64(b, s.size());
  b.insert(b.end(), s.begin(), s.end());
}

TEST_CASE("a GGUF v3 file assembled byte by byte from the spec") {
  std::vector<uint8_t> b = {'G', 'G', 'U', 'F'};
  u32(b, 3);  // version
  u64(b, 2);  // tensors
  u64(b, 2);  // metadata entries
  str(b, "general.alignment");
  u32(b, 4);  // u32
  u32(b, 64);
  str(b, "general.architecture");
  u32(b, 8);  // string
  str(b, "llama");
  str(b, "a");  // tensor 0: F32 {3}, offset 0
  u32(b, 1);
  u64(b, 3);
  u32(b, 0);
  u64(b, 0);
  str(b, "b");  // tensor 1: F16 {2, 2}, offset 64 (the next multiple of the alignment)
  u32(b, 2);
  u64(b, 2);
  u64(b, 2);
  u32(b, 1);
  u64(b, 64);
  const size_t header = b.size();
  while (b.size() % 64) b.push_back(0);
  const size_t data = b.size();
  const float a[3] = {1.5f, -2.0f, 0.25f};
  b.resize(data + 64 + 8, 0);
  std::memcpy(b.data() + data, a, sizeof a);
  const uint16_t h[4] = {0x3C00, 0xC000, 0x3800, 0x0000};  // 1, -2, 0.5, 0 in f16
  std::memcpy(b.data() + data + 64, h, sizeof h);

  auto f = GgufFile::from_bytes(b, "hand.gguf");
  REQUIRE_MESSAGE(f.ok(), f.error().message());
  CHECK(header < data);
  CHECK(f->version() == 3);
  CHECK(f->alignment() == 64);
  CHECK(f->metadata().string("general.architecture").value() == "llama");
  REQUIRE(f->tensors().size() == 2);
  const GgufTensorInfo* tb = f->find("b");
  REQUIRE(tb != nullptr);
  CHECK(tb->dims == std::vector<uint64_t>{2, 2});
  CHECK(tb->type == GgmlType::kF16);
  CHECK(tb->bytes == 8);
  CHECK(f->data(*tb).data() == b.data() + data + 64);
  CHECK(std::memcmp(f->data(*f->find("a")).data(), a, sizeof a) == 0);
}

TEST_CASE("every metadata value type, nested arrays of strings, versions 2 and 3") {
  for (uint32_t version : {2u, 3u}) {
    GgufBuilder g;
    g.version = version;
    g.add_u8("u8", 200);
    g.add_i8("i8", -100);
    g.add_u16("u16", 60000);
    g.add_i16("i16", -30000);
    g.add_u32("u32", 4000000000u);
    g.add_i32("i32", -2000000000);
    g.add_u64("u64", 1ull << 40);
    g.add_i64("i64", -(1ll << 40));
    g.add_f32("f32", 0.125f);
    g.add_f64("f64", -1e300);
    g.add_bool("bool", true);
    g.add_string("string", "héllo");
    g.add_strings("strings", {"a", "", "ccc"});
    g.add_i32s("i32s", {1, -2, 3});
    // array of 2 arrays of strings: [["x"], ["y", "z"]]
    std::vector<uint8_t> nested;
    u32(nested, 8 + 1);  // element type: array
    u64(nested, 2);
    u32(nested, 8);
    u64(nested, 1);
    str(nested, "x");
    u32(nested, 8);
    u64(nested, 2);
    str(nested, "y");
    str(nested, "z");
    g.add_raw("nested", 9, nested);
    const std::vector<uint8_t> bytes = g.bytes();  // from_bytes does not own the bytes
    auto f = GgufFile::from_bytes(bytes, "types.gguf");
    REQUIRE_MESSAGE(f.ok(), f.error().message());
    const GgufMetadata& m = f->metadata();
    CHECK(f->version() == version);
    CHECK(m.integer("u8", 0, 1000).value() == 200);
    CHECK(m.integer("i8", -1000, 0).value() == -100);
    CHECK(m.integer("u16", 0, 100000).value() == 60000);
    CHECK(m.integer("i16", -100000, 0).value() == -30000);
    CHECK(m.integer("u32", 0, int64_t{1} << 33).value() == 4000000000ll);
    CHECK(m.integer("i32", -(int64_t{1} << 33), 0).value() == -2000000000ll);
    CHECK(m.integer("u64", 0, int64_t{1} << 41).value() == (int64_t{1} << 40));
    CHECK(m.integer("i64", -(int64_t{1} << 41), 0).value() == -(int64_t{1} << 40));
    CHECK(m.number("f32", 0, 1).value() == 0.125);
    CHECK(m.number("f64", -1e301, 0).value() == -1e300);
    CHECK(m.boolean_or("bool", false).value());
    CHECK(m.string("string").value() == "héllo");
    CHECK(*m.string_array("strings").value() == std::vector<std::string>{"a", "", "ccc"});
    CHECK(m.integer_array("i32s").value() == std::vector<int64_t>{1, -2, 3});
    const GgufValue* n = m.find("nested");
    REQUIRE(n != nullptr);
    CHECK(n->type_name() == "array of array");
    REQUIRE(n->arrays.size() == 2);
    CHECK(n->arrays[1].strings == std::vector<std::string>{"y", "z"});
    // Typed access names the key and the type it found.
    auto wrong = m.integer("string", 0, 10);
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.error().message() == "GGUF key 'string': expected an integer, got string");
    auto range = m.integer("u8", 0, 100);
    REQUIRE_FALSE(range.ok());
    CHECK(range.error().message().find("exceeds 100") != std::string::npos);
  }
}

TEST_CASE("splits: NAME-0000k-of-0000N.gguf files open as one model") {
  testing::TempDir dir;
  const std::string first = (dir.path() / "m-00001-of-00002.gguf").string();
  CHECK(gguf_split_path(first, 1, 2) == (dir.path() / "m-00002-of-00002.gguf").string());
  CHECK(gguf_split_count_from_name(first) == 2);
  for (int k = 0; k < 2; ++k) {
    GgufBuilder g;
    if (k == 0) g.add_string("general.architecture", "llama");
    g.add_u16("split.no", static_cast<uint16_t>(k));
    g.add_u16("split.count", 2);
    g.add_i32("split.tensors.count", 3);
    for (int t = 0; t < (k == 0 ? 2 : 1); ++t) {
      g.add_tensor("t" + std::to_string(k) + std::to_string(t), {4}, GgmlType::kF32, std::vector<uint8_t>(16, 0));
    }
    REQUIRE(g.write(gguf_split_path(first, k, 2)).ok());
  }
  auto m = GgufModelFiles::open(first);
  REQUIRE_MESSAGE(m.ok(), m.error().message());
  CHECK(m->files().size() == 2);
  CHECK(m->tensor_count() == 3);
  CHECK(m->tensor("t10").ok());
  CHECK(m->metadata().string("general.architecture").value() == "llama");
  auto second = GgufModelFiles::open(gguf_split_path(first, 1, 2));
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().message().find("pass the first split") != std::string::npos);
  std::filesystem::remove(gguf_split_path(first, 1, 2));
  auto missing = GgufModelFiles::open(first);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message().find("m-00002-of-00002.gguf") != std::string::npos);
}

}  // namespace
}  // namespace r1vk
