// Loading streams each blob in fixed-size chunks (docs/offload.md, "Load memory"): the plan's
// resident pages stay at one chunk whatever the largest tensor, the checksum is checked over the
// pieces, and the uploaded bytes are the plan's.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "compiler/compiler.h"
#include "exec/model.h"
#include "exec/model_weights.h"
#include "exec/session.h"
#include "harness/kernel_harness.h"
#include "import/import_test_util.h"
#include "plan/loaded_plan.h"

namespace r1vk {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// Resident bytes of this process's mappings of `path` (/proc/self/smaps "Rss" lines).
uint64_t mapped_rss(const fs::path& path) {
  std::ifstream smaps("/proc/self/smaps");
  const std::string want = fs::canonical(path).string();
  std::string line;
  bool in_mapping = false;
  uint64_t kib = 0;
  while (std::getline(smaps, line)) {
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') < line.find(' ')) {
      // A mapping header: "start-end perms offset dev inode   [path]".
      in_mapping = line.size() >= want.size() && line.compare(line.size() - want.size(), want.size(), want) == 0;
    } else if (in_mapping && line.rfind("Rss:", 0) == 0) {
      std::istringstream in(line.substr(4));
      uint64_t v = 0;
      in >> v;
      kib += v;
    }
  }
  return kib * 1024;
}

std::string compile_f32(const TempDir& dir, int64_t vocab = 0) {
  // f32 bulk weights make the embedding and head the largest tensors, many chunks each.
  ModelConfig config = testing::preset("tiny-r1");
  if (vocab > 0) config.vocab_size = vocab;
  const std::string ck = testing::generate(dir.path() / "ck", config);
  CompileOptions opt;
  opt.weights = "f32";
  opt.max_context = 32;
  opt.prefill_chunk = 8;
  const std::string out = (dir.path() / "plan.r1vk").string();
  auto m = compile_checkpoint(ck, opt, out);
  REQUIRE_MESSAGE(m.ok(), (m.ok() ? std::string() : m.error().message()));
  return out;
}

size_t largest_tensor(const plan::Manifest& m) {
  size_t best = 0;
  for (size_t i = 1; i < m.tensors.size(); ++i)
    if (m.tensors[i].data.size > m.tensors[best].data.size) best = i;
  return best;
}

TEST_CASE("stream_tensor hands out the blobs in order, in pieces of at most the chunk") {
  TempDir dir;
  auto plan = plan::LoadedPlan::open(compile_f32(dir));
  REQUIRE(plan.ok());
  constexpr uint64_t kChunk = 4096;
  for (size_t i = 0; i < plan->manifest().tensors.size(); ++i) {
    std::vector<uint8_t> data, scales;
    auto s = plan->stream_tensor(i, kChunk, [&](bool is_scales, uint64_t offset, std::span<const uint8_t> piece) -> Status {
      std::vector<uint8_t>& into = is_scales ? scales : data;
      CHECK(offset == into.size());
      CHECK(!piece.empty());
      CHECK(piece.size() <= kChunk);
      into.insert(into.end(), piece.begin(), piece.end());
      return ok_status();
    });
    REQUIRE(s.ok());
    auto whole = plan->tensor_bytes(i);
    REQUIRE(whole.ok());
    CHECK(std::equal(data.begin(), data.end(), whole->data.begin(), whole->data.end()));
    CHECK(std::equal(scales.begin(), scales.end(), whole->scales.begin(), whole->scales.end()));
  }
  CHECK_FALSE(plan->stream_tensor(0, 0, [](bool, uint64_t, std::span<const uint8_t>) { return ok_status(); }).ok());
}

TEST_CASE("a corrupted blob fails the streamed checksum after its last piece, and callback errors stop the walk") {
  TempDir dir;
  const std::string path = compile_f32(dir);
  size_t big = 0;
  uint64_t offset = 0, size = 0;
  {
    auto plan = plan::LoadedPlan::open(path);
    REQUIRE(plan.ok());
    big = largest_tensor(plan->manifest());
    offset = plan->manifest().tensors[big].data.offset;
    size = plan->manifest().tensors[big].data.size;
  }
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset + size - 1));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5A);
    f.seekp(static_cast<std::streamoff>(offset + size - 1));
    f.write(&c, 1);
  }
  auto plan = plan::LoadedPlan::open(path);
  REQUIRE(plan.ok());
  uint64_t seen = 0;
  auto s = plan->stream_tensor(big, 8192, [&](bool is_scales, uint64_t, std::span<const uint8_t> piece) -> Status {
    if (!is_scales) seen += piece.size();
    return ok_status();
  });
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code() == ErrorCode::kCorruptData);
  CHECK(s.error().message().find("checksum mismatch") != std::string::npos);
  CHECK(s.error().message().find(plan->manifest().tensors[big].name) != std::string::npos);
  CHECK(seen == size);  // every piece went by before the verdict

  int calls = 0;
  s = plan->stream_tensor(big, 8192, [&](bool, uint64_t, std::span<const uint8_t>) -> Status {
    ++calls;
    return make_error(ErrorCode::kCancelled, "stop");
  });
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code() == ErrorCode::kCancelled);
  CHECK(calls == 1);
}

// Before chunked loading, a tensor's whole blob was verified and uploaded in one piece, so the
// plan's resident pages reached the largest tensor (R1's 0.98 GB embedding); now they stay at
// about one chunk (plus the page-cache folios a fault maps whole).
TEST_CASE("uploading keeps the plan's resident pages at one chunk, not one tensor") {
  TempDir dir;
  // A 21 MB embedding: the kernel maps a file's page-cache folios whole on a fault (up to
  // 2 MiB on ext4 with large folios), so the tensor must dwarf chunk + folio to tell them apart.
  const std::string path = compile_f32(dir, 16384);
  auto plan = plan::LoadedPlan::open(path);
  REQUIRE(plan.ok());
  const auto& tensors = plan->manifest().tensors;
  const size_t big = largest_tensor(plan->manifest());
  constexpr uint64_t kChunk = 1 << 20;
  REQUIRE(tensors[big].data.size >= 12 * kChunk);  // what the bound below tells apart

  // The header and manifest pages read at open stay mapped; what the upload adds is measured.
  const uint64_t before = mapped_rss(path);
  uint64_t peak = 0, calls = 0, last = 0, total = 0;
  bool monotonic = true;
  auto w = exec::ModelWeights::upload(
      test::context(), *plan,
      [&](uint64_t done, uint64_t all) {
        const uint64_t now = mapped_rss(path);
        peak = std::max(peak, now > before ? now - before : 0);
        monotonic = monotonic && done > last;
        last = done;
        total = all;
        ++calls;
      },
      {}, {}, {}, kChunk);
  REQUIRE(w.ok());
  MESSAGE("largest tensor " << tensors[big].data.size << " bytes, plan pages resident at open " << before
                             << " bytes, most added during the upload " << peak << " bytes");
  CHECK(peak <= kChunk + (4 << 20));  // one chunk, plus the folios at its two ends
  CHECK(monotonic);
  CHECK(last == total);
  CHECK(calls > tensors.size());  // progress moves within the large tensors

}

// The chunked upload writes what the plan holds: a model loaded in 4 KiB pieces (every tensor
// of more than 4 KiB split, pieces of data and scales at their offsets) gives the same logits
// as one loaded in the default 64 MiB pieces (each tensor in one).
TEST_CASE("a model uploaded in small chunks computes the same logits") {
  TempDir dir;
  const std::string path = compile_f32(dir);
  auto logits_with_chunk = [&](uint64_t chunk) {
    auto plan = plan::LoadedPlan::open(path);
    REQUIRE(plan.ok());
    exec::ModelOptions mo;
    mo.upload_chunk_bytes = chunk;
    auto model = exec::Model::load(test::context(), std::move(plan).value(), mo);
    REQUIRE(model.ok());
    exec::SessionOptions so;
    so.keep_logits = true;
    auto s = exec::Session::create(**model, so);
    REQUIRE(s.ok());
    const std::vector<int32_t> prompt = {0, 7, 30, 41, 2};
    std::vector<float> logits;
    REQUIRE((*s)->feed(prompt, {}, &logits).ok());
    return logits;
  };
  const std::vector<float> whole = logits_with_chunk(64ull << 20), pieces = logits_with_chunk(4096);
  REQUIRE(!whole.empty());
  REQUIRE(whole.size() == pieces.size());
  CHECK(std::memcmp(whole.data(), pieces.data(), whole.size() * sizeof(float)) == 0);
}

TEST_CASE("a cancelled load stops within one chunk") {
  TempDir dir;
  auto plan = plan::LoadedPlan::open(compile_f32(dir));
  REQUIRE(plan.ok());
  const size_t big = largest_tensor(plan->manifest());
  const uint64_t first_big = plan->manifest().tensors[big].data.size;
  int calls = 0;
  uint64_t stopped_at = 0;
  auto w = exec::ModelWeights::upload(
      test::context(), *plan, [&](uint64_t done, uint64_t) { stopped_at = done; },
      [&] { return ++calls == 2; }, {}, {}, 4096);
  REQUIRE_FALSE(w.ok());
  CHECK(w.error().code() == ErrorCode::kCancelled);
  CHECK(stopped_at <= 2 * 4096 + first_big);  // at most two chunks (or the tensors before them)
}

}  // namespace
}  // namespace r1vk
