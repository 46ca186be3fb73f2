#include <doctest/doctest.h>

#include <cstring>

#include "base/numeric_formats.h"
#include "import/dequantize.h"
#include "import/import_test_util.h"
#include "base/json_util.h"
#include "import/safetensors_file.h"

namespace r1vk {
namespace {

using testing::safetensors_bytes;

std::vector<uint8_t> f32_bytes(std::initializer_list<float> values) {
  std::vector<uint8_t> out(values.size() * 4);
  std::memcpy(out.data(), values.begin(), out.size());
  return out;
}

TEST_CASE("a valid file parses with shapes, offsets, metadata and data views") {
  std::vector<uint8_t> data = f32_bytes({1, 2, 3, 4, 5, 6});
  data.push_back(0x38);  // one F8_E4M3 element: 1.0
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[24,25]},)"
      R"("a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"empty":{"dtype":"BF16","shape":[0,4],"data_offsets":[25,25]}})";
  const auto file = safetensors_bytes(header, data);
  auto parsed = parse_safetensors(file, "t.safetensors");
  REQUIRE(parsed.ok());
  REQUIRE(parsed->tensors.size() == 3);
  CHECK(parsed->metadata.at("format") == "pt");
  CHECK(parsed->data_offset == 8 + header.size());
  for (const TensorInfo& t : parsed->tensors) {
    if (t.name == "a") {
      CHECK(t.dtype == DType::kF32);
      CHECK(t.shape == std::vector<int64_t>{2, 3});
      CHECK(t.element_count == 6);
    } else if (t.name == "empty") {
      CHECK(t.element_count == 0);
    } else {
      CHECK(t.name == "b");
      CHECK(t.data_begin == 24);
    }
  }

  testing::TempDir dir;
  testing::write_bytes(dir.path() / "t.safetensors", file);
  auto st = SafetensorsFile::open((dir.path() / "t.safetensors").string());
  REQUIRE(st.ok());
  const TensorInfo* a = st->find("a");
  REQUIRE(a != nullptr);
  const auto bytes = st->data(*a);
  REQUIRE(bytes.size() == 24);
  std::vector<float> values(6);
  REQUIRE(convert_to_f32(DType::kF32, bytes, values).ok());
  CHECK(values == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(st->find("missing") == nullptr);
}

TEST_CASE("UTF-8 validation rejects broken, overlong and surrogate sequences") {
  CHECK(is_valid_utf8("plain ascii"));
  CHECK(is_valid_utf8("\xEF\xBD\x9C" "User\xE2\x96\x81"));
  CHECK(is_valid_utf8("\xF0\x9F\x98\x80"));
  CHECK_FALSE(is_valid_utf8("\xC3"));              // truncated
  CHECK_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xFF"));
}

TEST_CASE("parse_json reports duplicate keys at any depth") {
  CHECK(parse_json(R"({"a":1,"b":{"a":2}})", "x").ok());
  auto dup = parse_json(R"({"a":1,"b":{"c":2,"c":3}})", "x");
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().message() == "x: duplicate key 'c'");
  auto broken = parse_json(R"({"a":)", "x");
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().message() == "x: malformed JSON");
}

TEST_CASE("every checkpoint dtype converts to f32 exactly") {
  std::vector<float> out(2);
  const uint16_t bf16[] = {f32_to_bf16(1.5f), f32_to_bf16(-3.0f)};
  REQUIRE(convert_to_f32(DType::kBF16, {reinterpret_cast<const uint8_t*>(bf16), 4}, out).ok());
  CHECK(out == std::vector<float>{1.5f, -3.0f});
  const uint16_t f16[] = {f32_to_f16(0.25f), f32_to_f16(65504.0f)};
  REQUIRE(convert_to_f32(DType::kF16, {reinterpret_cast<const uint8_t*>(f16), 4}, out).ok());
  CHECK(out == std::vector<float>{0.25f, 65504.0f});
  const uint8_t fp8[] = {0x7E, 0x01};  // 448 and the smallest subnormal 2^-9
  REQUIRE(convert_to_f32(DType::kF8E4M3, {fp8, 2}, out).ok());
  CHECK(out == std::vector<float>{448.0f, 0.001953125f});
  const int32_t i32[] = {-7, 1 << 20};
  REQUIRE(convert_to_f32(DType::kI32, {reinterpret_cast<const uint8_t*>(i32), 8}, out).ok());
  CHECK(out == std::vector<float>{-7.0f, 1048576.0f});
  const uint8_t b[] = {1, 0};
  CHECK_FALSE(convert_to_f32(DType::kBool, {b, 2}, out).ok());
  CHECK_FALSE(convert_to_f32(DType::kF32, {b, 2}, out).ok());  // size mismatch
}

TEST_CASE("FP8 block dequantisation uses the scale of each (row/bn, col/bk) block, partial blocks included") {
  // 3 x 5 matrix, blocks of 2 x 2: scale grid 2 x 3.
  std::vector<uint8_t> q(15);
  for (size_t i = 0; i < q.size(); ++i) q[i] = f32_to_fp8_e4m3(static_cast<float>(i % 7) - 3.0f);
  const float scales[6] = {1.0f, 2.0f, 4.0f, 0.5f, 0.25f, 8.0f};
  std::vector<float> out(15);
  dequantize_fp8_blockwise(q, {reinterpret_cast<const uint8_t*>(scales), sizeof scales}, 3, 5, 2, 2, out);
  for (int64_t i = 0; i < 3; ++i) {
    for (int64_t j = 0; j < 5; ++j) {
      const auto k = static_cast<size_t>(i * 5 + j);
      const float expected = static_cast<float>(static_cast<int64_t>(k) % 7 - 3) * scales[(i / 2) * 3 + j / 2];
      CHECK(out[k] == expected);
    }
  }
}

}  // namespace
}  // namespace r1vk
