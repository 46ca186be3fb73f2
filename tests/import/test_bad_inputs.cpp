// The malformed-checkpoint corpus: each case mutates a freshly generated checkpoint in one way and
// checks the import fails with that problem's own message and error code (never a crash; this
// suite also runs under ASan + UBSan).
#include <doctest/doctest.h>

#include <functional>
#include <map>

#include "import/import_test_util.h"
#include "base/json_util.h"
#include "import/import_model.h"
#include "import/tensor_inventory.h"

namespace r1vk {
namespace {

namespace fs = std::filesystem;
using testing::read_bytes;
using testing::read_text;
using testing::write_bytes;
using testing::write_text;
using testing::edit_json_file;

struct Base {
  const char* preset;
  bool fp8;
  int64_t shards;
};
constexpr Base kQwen{"tiny-qwen2", false, 1};
constexpr Base kQwenSharded{"tiny-qwen2", false, 3};
constexpr Base kR1Fp8{"tiny-r1", true, 1};
constexpr Base kV2{"tiny-v2-lite", false, 1};

const fs::path& pristine(const Base& base) {
  static std::map<std::string, std::unique_ptr<testing::TempDir>> dirs;
  const std::string key = std::string(base.preset) + (base.fp8 ? "-fp8-" : "-") + std::to_string(base.shards);
  auto& dir = dirs[key];
  if (!dir) {
    dir = std::make_unique<testing::TempDir>();
    testing::generate(dir->path(), testing::preset(base.preset, base.fp8), base.shards);
  }
  return dir->path();
}

// Rewrites a safetensors header through `edit`, keeping the data section as it is.
void edit_header(const fs::path& file, const std::function<void(Json&)>& edit) {
  const std::vector<uint8_t> bytes = read_bytes(file);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[static_cast<size_t>(i)];
  Json header = Json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  edit(header);
  const std::vector<uint8_t> data(bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n), bytes.end());
  write_bytes(file, testing::safetensors_bytes(header.dump(), data));
}

void set_length(const fs::path& file, uint64_t length) {
  std::vector<uint8_t> bytes = read_bytes(file);
  for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(length >> (8 * i));
  write_bytes(file, bytes);
}

void replace_file_text(const fs::path& file, const std::string& from, const std::string& to) {
  std::string text = read_text(file);
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  write_text(file, text);
}

// A single-file checkpoint of a raw safetensors body, with tiny-qwen2's config.
void write_raw(const fs::path& dir, const std::string& header, size_t data_bytes) {
  write_bytes(dir / "model.safetensors", testing::safetensors_bytes(header, std::vector<uint8_t>(data_bytes, 0)));
}

struct BadCase {
  const char* name;
  Base base;
  std::function<void(const fs::path&)> mutate;
  const char* message;  // substring of the error message
  ErrorCode code;
};

const std::string kNorm = "model.norm.weight";
const std::string kEhProj = "model.layers.3.eh_proj.weight";  // tiny-r1's MTP projection

// Rewrites the single-file checkpoint's tensors through `edit` (data included).
void edit_tensors(const fs::path& dir, const std::function<void(testing::RawTensors&)>& edit) {
  testing::RawTensors tensors = testing::read_tensors(dir / "model.safetensors");
  edit(tensors);
  testing::write_tensors(dir / "model.safetensors", tensors);
}

void strip_prefix(testing::RawTensors& tensors, const std::string& prefix) {
  std::erase_if(tensors, [&](const auto& t) { return t.first.rfind(prefix, 0) == 0; });
}

std::vector<BadCase> corpus() {
  return {
      // --- safetensors structure
      {"empty file", kQwen, [](const fs::path& d) { write_bytes(d / "model.safetensors", {}); }, "0 bytes, too short for a header", ErrorCode::kCorruptData},
      {"truncated to 5 bytes", kQwen, [](const fs::path& d) { fs::resize_file(d / "model.safetensors", 5); }, "too short for a header", ErrorCode::kCorruptData},
      {"header length over 100 MB", kQwen, [](const fs::path& d) { set_length(d / "model.safetensors", 200ull << 20); }, "exceeds the 100 MB limit", ErrorCode::kOutOfRange},
      {"header length past the end", kQwen, [](const fs::path& d) { set_length(d / "model.safetensors", fs::file_size(d / "model.safetensors")); }, "runs past the end", ErrorCode::kCorruptData},
      {"truncated data", kQwen, [](const fs::path& d) { fs::resize_file(d / "model.safetensors", fs::file_size(d / "model.safetensors") - 100); }, "past the end of the file", ErrorCode::kCorruptData},
      {"trailing bytes", kQwen, [](const fs::path& d) { fs::resize_file(d / "model.safetensors", fs::file_size(d / "model.safetensors") + 16); }, "trailing bytes", ErrorCode::kCorruptData},
      {"header not UTF-8", kQwen, [](const fs::path& d) { replace_file_text(d / "model.safetensors", "model.norm", "model\xFFnorm"); }, "not valid UTF-8", ErrorCode::kCorruptData},
      {"header JSON broken", kQwen, [](const fs::path& d) { replace_file_text(d / "model.safetensors", "\"dtype\":", "\"dtype\" "); }, "header: malformed JSON", ErrorCode::kCorruptData},
      {"header is an array", kQwen, [](const fs::path& d) { write_raw(d, "[1, 2]  ", 0); }, "header is not a JSON object", ErrorCode::kCorruptData},
      {"unknown dtype", kQwen, [](const fs::path& d) { edit_header(d / "model.safetensors", [](Json& h) { h[kNorm]["dtype"] = "F9"; }); }, "unknown dtype 'F9'", ErrorCode::kUnsupported},
      {"dtype not a string", kQwen, [](const fs::path& d) { edit_header(d / "model.safetensors", [](Json& h) { h[kNorm]["dtype"] = 4; }); }, "dtype is not a string", ErrorCode::kCorruptData},
      {"lying shape (byte range != shape x dtype)", kQwen, [](const fs::path& d) { edit_header(d / "model.safetensors", [](Json& h) { h[kNorm]["shape"] = {193}; }); }, "span 384 bytes but shape [193] of BF16 needs 386", ErrorCode::kCorruptData},
      {"overlapping offsets", kQwen, [](const fs::path& d) { write_raw(d, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12); }, "tensor 'b' overlaps the previous tensor", ErrorCode::kCorruptData},
      {"gap between tensors", kQwen, [](const fs::path& d) { write_raw(d, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})", 20); }, "gap before tensor 'b'", ErrorCode::kCorruptData},
      {"element count overflow", kQwen, [](const fs::path& d) { write_raw(d, R"({"a":{"dtype":"F32","shape":[4611686018427387904,16],"data_offsets":[0,8]}})", 8); }, "element count of shape [4611686018427387904, 16] overflows", ErrorCode::kOutOfRange},
      {"byte size overflow", kQwen, [](const fs::path& d) { write_raw(d, R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}})", 8); }, "byte size of shape [4611686018427387904] overflows", ErrorCode::kOutOfRange},
      {"huge offsets", kQwen, [](const fs::path& d) { write_raw(d, R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[18446744073709551600,18446744073709551608]}})", 8); }, "are not 0 <= begin <= end", ErrorCode::kCorruptData},
      {"negative dimension", kQwen, [](const fs::path& d) { edit_header(d / "model.safetensors", [](Json& h) { h[kNorm]["shape"] = {-192}; }); }, "not a non-negative integer", ErrorCode::kCorruptData},
      {"rank above 8", kQwen, [](const fs::path& d) { write_raw(d, R"({"a":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]}})", 1); }, "rank 9 exceeds 8", ErrorCode::kCorruptData},
      {"offsets reversed", kQwen, [](const fs::path& d) { write_raw(d, R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[8,0]}})", 8); }, "are not 0 <= begin <= end", ErrorCode::kCorruptData},
      {"duplicate tensor name", kQwen, [](const fs::path& d) { write_raw(d, R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", 2); }, "duplicate key 'a'", ErrorCode::kCorruptData},
      {"metadata value not a string", kQwen, [](const fs::path& d) { edit_header(d / "model.safetensors", [](Json& h) { h["__metadata__"]["format"] = 1; }); }, "__metadata__ value 'format' is not a string", ErrorCode::kCorruptData},
      {"unknown key in a tensor entry", kQwen, [](const fs::path& d) { edit_header(d / "model.safetensors", [](Json& h) { h[kNorm]["strides"] = {1}; }); }, "unknown key 'strides'", ErrorCode::kCorruptData},
      // --- shards and index
      {"missing shard", kQwenSharded, [](const fs::path& d) { fs::remove(d / "model-00002-of-00003.safetensors"); }, "shard 'model-00002-of-00003.safetensors' is missing", ErrorCode::kNotFound},
      {"indexed tensor absent from its shard", kQwenSharded, [](const fs::path& d) { edit_json_file(d / "model.safetensors.index.json", [](Json& j) { j["weight_map"]["model.layers.9.mlp.up_proj.weight"] = "model-00001-of-00003.safetensors"; }); }, "tensor 'model.layers.9.mlp.up_proj.weight' is indexed to shard 'model-00001-of-00003.safetensors' but that shard does not contain it", ErrorCode::kCorruptData},
      {"shard tensor not in the index", kQwenSharded, [](const fs::path& d) { edit_json_file(d / "model.safetensors.index.json", [](Json& j) { j["weight_map"].erase("model.embed_tokens.weight"); }); }, "tensor 'model.embed_tokens.weight' is not indexed to this shard", ErrorCode::kCorruptData},
      {"tensor indexed to the wrong shard", kQwenSharded, [](const fs::path& d) { edit_json_file(d / "model.safetensors.index.json", [](Json& j) { j["weight_map"]["model.embed_tokens.weight"] = "model-00003-of-00003.safetensors"; }); }, "is not indexed to this shard", ErrorCode::kCorruptData},
      {"index JSON broken", kQwenSharded, [](const fs::path& d) { write_text(d / "model.safetensors.index.json", "{\"weight_map\": {"); }, "malformed JSON", ErrorCode::kCorruptData},
      {"index without weight_map", kQwenSharded, [](const fs::path& d) { write_text(d / "model.safetensors.index.json", "{\"metadata\": {}}"); }, "field 'weight_map' missing or not an object", ErrorCode::kCorruptData},
      {"index shard path escapes the directory", kQwenSharded, [](const fs::path& d) { edit_json_file(d / "model.safetensors.index.json", [](Json& j) { j["weight_map"]["model.norm.weight"] = "../model-00001-of-00003.safetensors"; }); }, "not a plain file name", ErrorCode::kCorruptData},
      {"no weights at all", kQwen, [](const fs::path& d) { fs::remove(d / "model.safetensors"); }, "neither model.safetensors nor model.safetensors.index.json", ErrorCode::kNotFound},
      {"a shard is corrupt", kQwenSharded, [](const fs::path& d) { fs::resize_file(d / "model-00003-of-00003.safetensors", 3); }, "model-00003-of-00003.safetensors: file is 3 bytes", ErrorCode::kCorruptData},
      // --- config.json
      {"missing config.json", kQwen, [](const fs::path& d) { fs::remove(d / "config.json"); }, "config.json: cannot open", ErrorCode::kNotFound},
      {"config JSON broken", kQwen, [](const fs::path& d) { write_text(d / "config.json", "{\"architectures\": [\"Qwen2ForCausalLM\"],"); }, "config.json: malformed JSON", ErrorCode::kCorruptData},
      {"config is not an object", kQwen, [](const fs::path& d) { write_text(d / "config.json", "42"); }, "config is not a JSON object", ErrorCode::kCorruptData},
      {"unknown architecture", kQwen, [](const fs::path& d) { edit_json_file(d / "config.json", [](Json& j) { j["architectures"] = {"MistralForCausalLM"}; }); }, "field 'architectures': unknown architecture 'MistralForCausalLM'", ErrorCode::kUnsupported},
      {"string where an integer belongs", kQwen, [](const fs::path& d) { edit_json_file(d / "config.json", [](Json& j) { j["hidden_size"] = "192"; }); }, "field 'hidden_size': expected an integer, got string", ErrorCode::kCorruptData},
      {"float where an integer belongs", kQwen, [](const fs::path& d) { edit_json_file(d / "config.json", [](Json& j) { j["num_hidden_layers"] = 2.5; }); }, "field 'num_hidden_layers': expected an integer, got number", ErrorCode::kCorruptData},
      {"string where a number belongs", kQwen, [](const fs::path& d) { edit_json_file(d / "config.json", [](Json& j) { j["rms_norm_eps"] = "1e-6"; }); }, "field 'rms_norm_eps': expected a number, got string", ErrorCode::kCorruptData},
      {"huge dimension in config", kQwen, [](const fs::path& d) { edit_json_file(d / "config.json", [](Json& j) { j["hidden_size"] = 1000000000000LL; }); }, "field 'hidden_size': 1000000000000 is out of range [1, 1048576]", ErrorCode::kOutOfRange},
      {"missing required field", kQwen, [](const fs::path& d) { edit_json_file(d / "config.json", [](Json& j) { j.erase("vocab_size"); }); }, "field 'vocab_size': missing", ErrorCode::kCorruptData},
      {"heads not divisible by KV heads", kQwen, [](const fs::path& d) { edit_json_file(d / "config.json", [](Json& j) { j["num_key_value_heads"] = 4; }); }, "field 'num_key_value_heads': num_attention_heads (6) is not divisible by num_key_value_heads (4)", ErrorCode::kCorruptData},
      {"model_type contradicts architecture", kQwen, [](const fs::path& d) { edit_json_file(d / "config.json", [](Json& j) { j["model_type"] = "llama"; }); }, "field 'model_type': 'llama' does not match", ErrorCode::kCorruptData},
      {"sliding window in use", kQwen, [](const fs::path& d) { edit_json_file(d / "config.json", [](Json& j) { j["use_sliding_window"] = true; }); }, "field 'use_sliding_window': true is not supported", ErrorCode::kUnsupported},
      {"unsupported rope scaling", kQwen, [](const fs::path& d) { edit_json_file(d / "config.json", [](Json& j) { j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}}; }); }, "field 'rope_scaling.type': rope scaling 'linear' is not supported", ErrorCode::kUnsupported},
      {"topk_group above n_group", kR1Fp8, [](const fs::path& d) { edit_json_file(d / "config.json", [](Json& j) { j["topk_group"] = 5; }); }, "field 'topk_group': 5 exceeds n_group (4)", ErrorCode::kCorruptData},
      {"experts not divisible by n_group", kR1Fp8, [](const fs::path& d) { edit_json_file(d / "config.json", [](Json& j) { j["n_group"] = 3; j["topk_group"] = 1; }); }, "field 'n_group': n_routed_experts (8) is not divisible by n_group (3)", ErrorCode::kCorruptData},
      {"unsupported quantisation", kR1Fp8, [](const fs::path& d) { edit_json_file(d / "config.json", [](Json& j) { j["quantization_config"]["quant_method"] = "gptq"; }); }, "field 'quantization_config.quant_method': 'gptq' is not supported", ErrorCode::kUnsupported},
      {"bad FP8 block size", kR1Fp8, [](const fs::path& d) { edit_json_file(d / "config.json", [](Json& j) { j["quantization_config"]["weight_block_size"] = {128}; }); }, "field 'quantization_config.weight_block_size': expected [n, k]", ErrorCode::kCorruptData},
      {"V2 with noaux_tc routing", kV2, [](const fs::path& d) { edit_json_file(d / "config.json", [](Json& j) { j["topk_method"] = "noaux_tc"; }); }, "field 'topk_method': DeepseekV2ForCausalLM uses greedy or group_limited_greedy", ErrorCode::kCorruptData},
      {"absurd expert count", kR1Fp8, [](const fs::path& d) { edit_json_file(d / "config.json", [](Json& j) { j["n_routed_experts"] = 8192; j["num_hidden_layers"] = 1000; }); }, "field 'n_routed_experts': 8192 experts in 1001 layers exceed the limit of 131072 expert-layers", ErrorCode::kCorruptData},
      {"unknown topk_method", kV2, [](const fs::path& d) { edit_json_file(d / "config.json", [](Json& j) { j["topk_method"] = "random"; }); }, "field 'topk_method': unknown value 'random'", ErrorCode::kUnsupported},
      // --- tensor inventory
      {"missing tensor", kQwen, [](const fs::path& d) { edit_header(d / "model.safetensors", [](Json& h) { h["model.normx.weight"] = h[kNorm]; h.erase(kNorm); }); }, "missing tensor 'model.norm.weight' (expected BF16|F16|F32 [192]) (and 1 more problems)", ErrorCode::kCorruptData},
      {"extra tensor", kQwen, [](const fs::path& d) { edit_header(d / "model.safetensors", [](Json& h) { h["model.extra.weight"] = {{"dtype", "BF16"}, {"shape", {0}}, {"data_offsets", {0, 0}}}; }); }, "unexpected tensor 'model.extra.weight'", ErrorCode::kCorruptData},
      {"misshaped tensor", kQwen, [](const fs::path& d) { edit_header(d / "model.safetensors", [](Json& h) { h[kNorm]["shape"] = {96, 2}; }); }, "tensor 'model.norm.weight' has shape [96, 2], expected [192]", ErrorCode::kCorruptData},
      {"mistyped tensor", kQwen, [](const fs::path& d) { edit_header(d / "model.safetensors", [](Json& h) { h[kNorm]["dtype"] = "I16"; }); }, "tensor 'model.norm.weight' has dtype I16, expected BF16|F16|F32", ErrorCode::kCorruptData},
      {"FP8 weight without its scale", kR1Fp8, [](const fs::path& d) { edit_header(d / "model.safetensors", [](Json& h) { const std::string s = "model.layers.0.mlp.down_proj.weight_scale_inv"; h["x" + s] = h[s]; h.erase(s); }); }, "missing tensor 'model.layers.0.mlp.down_proj.weight_scale_inv' (expected F32 [3, 5])", ErrorCode::kCorruptData},
      {"FP8 weight stored as U8", kR1Fp8, [](const fs::path& d) { edit_header(d / "model.safetensors", [](Json& h) { h["model.layers.0.mlp.down_proj.weight"]["dtype"] = "U8"; }); }, "tensor 'model.layers.0.mlp.down_proj.weight' has dtype U8, expected F8_E4M3", ErrorCode::kCorruptData},
      {"FP8 config over a bf16 checkpoint", kV2, [](const fs::path& d) { edit_json_file(d / "config.json", [](Json& j) { j["quantization_config"] = {{"quant_method", "fp8"}}; }); }, "field 'quantization_config': FP8 checkpoints are DeepseekV3ForCausalLM only", ErrorCode::kCorruptData},
      // --- optional parts are optional (test_checkpoint_variants.cpp), what is present must still fit
      {"main-model tensor missing, MTP layer stripped", kR1Fp8, [](const fs::path& d) { edit_tensors(d, [](testing::RawTensors& t) { strip_prefix(t, "model.layers.3."); t.erase("model.layers.1.mlp.gate.weight"); }); }, "missing tensor 'model.layers.1.mlp.gate.weight' (expected BF16|F16|F32|F8_E4M3 [8, 320])", ErrorCode::kCorruptData},
      {"MTP tensor misshaped", kR1Fp8, [](const fs::path& d) { edit_header(d / "model.safetensors", [](Json& h) { h[kEhProj]["shape"] = {640, 320}; }); }, "tensor 'model.layers.3.eh_proj.weight' has shape [640, 320], expected [320, 640]", ErrorCode::kCorruptData},
      {"MTP embedding misshaped", kR1Fp8, [](const fs::path& d) { edit_header(d / "model.safetensors", [](Json& h) { h["model.layers.3.embed_tokens.weight"]["shape"] = {320, 613}; }); }, "tensor 'model.layers.3.embed_tokens.weight' has shape [320, 613], expected [613, 320]", ErrorCode::kCorruptData},
      {"FP8 projection without its scale where BF16 was expected", kR1Fp8, [](const fs::path& d) { edit_tensors(d, [](testing::RawTensors& t) { auto& w = t[kEhProj]; w.dtype = "F8_E4M3"; w.bytes.resize(w.bytes.size() / 2); }); }, "missing tensor 'model.layers.3.eh_proj.weight_scale_inv' (expected F32 [3, 5]), the block scales of FP8 tensor 'model.layers.3.eh_proj.weight'", ErrorCode::kCorruptData},
      {"block scales beside a BF16 weight", kR1Fp8, [](const fs::path& d) { edit_tensors(d, [](testing::RawTensors& t) { t[kEhProj + "_scale_inv"] = {"F32", {3, 5}, std::vector<uint8_t>(60, 0)}; }); }, "unexpected tensor 'model.layers.3.eh_proj.weight_scale_inv' (block scales for 'model.layers.3.eh_proj.weight', which is not stored as F8_E4M3)", ErrorCode::kCorruptData},
      {"FP8 scale grid of the wrong shape", kR1Fp8, [](const fs::path& d) { edit_header(d / "model.safetensors", [](Json& h) { h["model.layers.0.mlp.down_proj.weight_scale_inv"]["shape"] = {5, 3}; }); }, "tensor 'model.layers.0.mlp.down_proj.weight_scale_inv' is F32 [5, 3], expected F32 [3, 5]", ErrorCode::kCorruptData},
  };
}

TEST_CASE("malformed checkpoint corpus: every case fails with its own message") {
  const std::vector<BadCase> cases = corpus();
  CHECK(cases.size() >= 30);
  for (const BadCase& c : cases) {
    CAPTURE(c.name);
    testing::TempDir dir;
    fs::copy(pristine(c.base), dir.path(), fs::copy_options::recursive);
    c.mutate(dir.path());
    auto model = import_model(dir.str());
    REQUIRE_FALSE(model.ok());
    const std::string message = model.error().message();
    CAPTURE(message);
    CHECK(message.find(c.message) != std::string::npos);
    CHECK(model.error().code() == c.code);
  }
}

TEST_CASE("the unmutated bases import, so the corpus tests the mutations") {
  for (const Base& b : {kQwen, kQwenSharded, kR1Fp8, kV2}) {
    CAPTURE(b.preset);
    auto model = import_model(pristine(b).string());
    if (!model.ok()) FAIL(model.error().message());
  }
}

TEST_CASE("read_f32 rejects an FP8 tensor whose scale has the wrong shape") {
  testing::TempDir dir;
  fs::copy(pristine(kR1Fp8), dir.path(), fs::copy_options::recursive);
  const std::string w = "model.layers.0.mlp.down_proj.weight";
  // Swap the scale grid's dims in the header only: still a valid file, wrong for the weight.
  edit_header(dir.path() / "model.safetensors", [&](Json& h) { h[w + "_scale_inv"]["shape"] = {5, 3}; });
  auto ck = Checkpoint::open(dir.str());
  REQUIRE(ck.ok());
  auto values = ck->read_f32(w);
  REQUIRE_FALSE(values.ok());
  CHECK(values.error().message() == "tensor '" + w + "_scale_inv' is F32 [5, 3], expected F32 [3, 5]");
}

TEST_CASE("random byte corruption of a header never crashes the reader") {
  // Deterministic xorshift so failures reproduce; every result must be a value, never a crash.
  const std::vector<uint8_t> original = read_bytes(pristine(kQwen) / "model.safetensors");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | original[static_cast<size_t>(i)];
  uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int rejected = 0;
  const int trials = 300;
  for (int trial = 0; trial < trials; ++trial) {
    std::vector<uint8_t> bytes = original;
    const int flips = 1 + static_cast<int>(next() % 4);
    for (int f = 0; f < flips; ++f) {
      const size_t at = static_cast<size_t>(next() % (8 + header_len));
      bytes[at] = static_cast<uint8_t>(next());
    }
    auto parsed = parse_safetensors(bytes, "fuzz");
    if (!parsed.ok()) {
      ++rejected;
      CHECK_FALSE(parsed.error().message().empty());
    }
  }
  CHECK(rejected > trials / 2);  // most random edits break something the reader notices
}

}  // namespace
}  // namespace r1vk
