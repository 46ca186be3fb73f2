// The streaming compiler (docs/import.md, "Compile memory"): worker threads and row slices must
// not change a single byte of the plan, and compiling keeps a bounded working set.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "compiler/compiler.h"
#include "import/import_test_util.h"
#include "plan/loaded_plan.h"

namespace r1vk {
namespace {

using testing::TempDir;

struct Compiled {
  std::vector<uint8_t> bytes;
  plan::Manifest manifest;
  size_t progress_calls = 0;
};

Compiled compile(const std::string& dir, const std::string& weights, int threads, int64_t slice_elements,
                 const std::filesystem::path& out) {
  CompileOptions o;
  o.weights = weights;
  o.max_context = 64;
  o.threads = threads;
  o.slice_elements = slice_elements;
  Compiled c;
  o.progress = [&c](uint64_t, uint64_t) { ++c.progress_calls; };
  o.warn = [](const std::string&) {};
  auto m = compile_checkpoint(dir, o, out.string());
  REQUIRE_MESSAGE(m.ok(), m.error().message());
  c.manifest = std::move(m).value();
  c.bytes = testing::read_bytes(out);
  std::filesystem::remove(out);
  return c;
}

void check_same_blobs(const plan::Manifest& whole, const plan::Manifest& sliced) {
  REQUIRE(whole.tensors.size() == sliced.tensors.size());
  for (size_t i = 0; i < whole.tensors.size(); ++i) {
    const plan::TensorEntry& a = whole.tensors[i];
    const plan::TensorEntry& b = sliced.tensors[i];
    INFO(a.name);
    CHECK(a.name == b.name);
    CHECK(a.format == b.format);
    CHECK(a.group == b.group);
    CHECK(a.data.offset == b.data.offset);
    CHECK(a.data.size == b.data.size);
    CHECK(a.data.xxh64 == b.data.xxh64);
    CHECK(a.scales.offset == b.scales.offset);
    CHECK(a.scales.size == b.scales.size);
    CHECK(a.scales.xxh64 == b.scales.xxh64);
    // The error sums are added slice by slice: the same measure up to summation order (so the
    // manifest's text, and the file's size, may differ by a digit).
    CHECK(std::fabs(a.quant_nmse - b.quant_nmse) <= 1e-9 * std::max(a.quant_nmse, 1e-30));
  }
}

}  // namespace

TEST_CASE("threads and row slices do not change the plan") {
  struct Case {
    const char* preset;
    bool fp8;
    const char* weights;
  };
  // fp8 of an FP8 checkpoint keeps the stored bytes (sliced in 128-row blocks); fp8 of a BF16
  // one requantises; q4/q8/f16 and the GGUF block format q8_0 quantise per row. The MLA
  // presets slice their absorbed kv_b matrices by heads.
  const Case cases[] = {
      {"tiny-r1", true, "q4"},      {"tiny-r1", true, "fp8"},  {"tiny-r1", false, "fp8"},
      {"tiny-v2-lite", false, "q8"}, {"tiny-qwen2", false, "f16"}, {"tiny-llama3", false, "q8_0"},
  };
  for (const Case& c : cases) {
    const std::string what = std::string(c.preset) + (c.fp8 ? " fp8 checkpoint" : "") + " --weights " + c.weights;
    INFO(what);
    TempDir dir;
    const std::string ck = testing::generate(dir.path() / "ck", testing::preset(c.preset, c.fp8), 2);
    const auto out = dir.path() / "plan.r1vk";
    const int64_t unsliced = int64_t{1} << 40;
    const Compiled one = compile(ck, c.weights, 1, unsliced, out);
    const Compiled three = compile(ck, c.weights, 3, unsliced, out);
    CHECK(one.bytes == three.bytes);
    CHECK(one.progress_calls == one.manifest.tensors.size());

    // 4096 elements: every matrix of the tiny models splits into many slices.
    const Compiled sliced1 = compile(ck, c.weights, 1, 4096, out);
    const Compiled sliced2 = compile(ck, c.weights, 2, 4096, out);
    CHECK(sliced1.bytes == sliced2.bytes);
    CHECK(sliced1.progress_calls > 2 * one.manifest.tensors.size());
    check_same_blobs(one.manifest, sliced1.manifest);
  }
}

TEST_CASE("bad compile threading options are refused") {
  TempDir dir;
  const std::string ck = testing::generate(dir.path() / "ck", testing::preset("tiny-llama3"));
  CompileOptions o;
  o.threads = -1;
  auto m = compile_checkpoint(ck, o, (dir.path() / "p.r1vk").string());
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().message().find("--threads") != std::string::npos);
  o.threads = 1;
  o.slice_elements = 0;
  m = compile_checkpoint(ck, o, (dir.path() / "p.r1vk").string());
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().message().find("slice_elements") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "p.r1vk"));
}

// The bound the docs state: about 2 x threads slices of slice_elements (16 MiB of f32 each,
// up to three buffers per slice) plus the program itself, independent of the checkpoint. A
// compiler that buffered the checkpoint (or kept its mapping resident, or converted its largest
// tensors whole) passes 400 MB here.
TEST_CASE("compiling a 430 MB checkpoint stays under 200 MB of peak RSS") {
  TempDir dir;
  ModelConfig config = testing::preset("v2-lite");
  config.num_hidden_layers = 1;  // one dense layer: a 67M-parameter MLP, split into slices
  config.moe.first_k_dense_replace = 1;
  config.vocab_size = 32000;     // embedding and head: 65.5M parameters each
  config.num_nextn_predict_layers = 0;
  const std::string ck = testing::generate(dir.path() / "ck", config, 3);
  uint64_t checkpoint_bytes = 0;
  for (const auto& f : std::filesystem::directory_iterator(ck)) checkpoint_bytes += f.file_size();
  REQUIRE(checkpoint_bytes > 400'000'000);

  // The compile runs in a child so its peak RSS is its own (wait4's ru_maxrss, in KiB).
  const auto out = dir.path() / "plan.r1vk";
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    CompileOptions o;
    o.weights = "q4";
    o.max_context = 64;
    o.threads = 2;
    o.warn = [](const std::string&) {};
    auto m = compile_checkpoint(ck, o, out.string());
    ::_exit(m.ok() ? 0 : 1);
  }
  int wstatus = 0;
  struct rusage usage {};
  REQUIRE(::wait4(pid, &wstatus, 0, &usage) == pid);
  REQUIRE(WIFEXITED(wstatus));
  REQUIRE(WEXITSTATUS(wstatus) == 0);
  const double peak_mb = static_cast<double>(usage.ru_maxrss) * 1024 / 1e6;
  MESSAGE("checkpoint " << checkpoint_bytes / 1'000'000 << " MB, compile peak RSS " << peak_mb << " MB");
  CHECK(peak_mb < 200.0);
  REQUIRE(plan::LoadedPlan::open(out.string()).ok());
}

}  // namespace r1vk
