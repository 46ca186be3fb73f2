#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "plan/plan_file.h"
#include "plan/plan_writer.h"

namespace r1vk::plan {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

struct TempPlan {
  fs::path path = fs::temp_directory_path() / ("r1vk_plan_test_" + std::to_string(::getpid()) + ".r1vk");
  BlobRef a, b;
  ~TempPlan() { fs::remove(path); }
  // Temp files the writer left next to the plan (<plan>.partial.<pid>.<salt>.<n>).
  size_t partial_files() const {
    const std::string prefix = path.filename().string() + ".partial";
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(path.parent_path())) n += e.path().filename().string().rfind(prefix, 0) == 0;
    return n;
  }
};

void write_sample(TempPlan& t) {
  auto w = PlanWriter::create(t.path.string());
  REQUIRE(w.ok());
  std::vector<uint8_t> a(5000), b(3);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<uint8_t>(i * 7);
  b = {1, 2, 3};
  auto ra = w->add_blob(a);
  auto rb = w->add_blob(b);
  REQUIRE(ra.ok());
  REQUIRE(rb.ok());
  t.a = *ra;
  t.b = *rb;
  json_fields::Json m{{"name", "sample"}, {"a", blob_ref_json(t.a)}, {"b", blob_ref_json(t.b)}};
  REQUIRE(w->finish(m.dump()).ok());
}

Result<std::vector<uint8_t>> load_blob(const std::string& path, const std::string& key) {
  R1VK_ASSIGN_OR_RETURN(auto plan, PlanFile::open(path));
  R1VK_ASSIGN_OR_RETURN(BlobRef ref, plan.blob_ref(plan.manifest(), key, "manifest"));
  R1VK_ASSIGN_OR_RETURN(auto bytes, plan.verified_blob(ref, key));
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

TEST_CASE("a written plan reopens with its manifest and aligned, verified blobs") {
  TempPlan t;
  write_sample(t);
  CHECK(t.partial_files() == 0);
  auto plan = PlanFile::open(t.path.string());
  REQUIRE(plan.ok());
  CHECK(plan->manifest()["name"] == "sample");
  CHECK(t.a.offset % kBlobAlignment == 0);
  CHECK(t.b.offset % kBlobAlignment == 0);
  auto a = load_blob(t.path.string(), "a");
  REQUIRE(a.ok());
  CHECK(a->size() == 5000u);
  CHECK((*a)[4999] == static_cast<uint8_t>(4999 * 7));
  auto b = load_blob(t.path.string(), "b");
  REQUIRE(b.ok());
  CHECK(*b == std::vector<uint8_t>{1, 2, 3});
}

// Flips one byte at `offset` and returns the loader's complaint.
std::string corrupt_and_load(const TempPlan& t, uint64_t offset, const std::string& key) {
  auto bytes = read_all(t.path);
  const fs::path bad = t.path.string() + ".bad";
  bytes[offset] ^= 0x40;
  write_all(bad, bytes);
  auto r = load_blob(bad.string(), key);
  fs::remove(bad);
  if (r.ok()) return "loaded";
  return r.error().message();
}

TEST_CASE("corrupting any region of the file is detected") {
  TempPlan t;
  write_sample(t);
  const auto size = fs::file_size(t.path);
  const std::string p = t.path.string() + ".bad: ";
  CHECK(corrupt_and_load(t, 0, "a") == p + "not an r1vk plan (bad magic)");
  CHECK(corrupt_and_load(t, 20, "a") == p + "header checksum mismatch");
  CHECK(corrupt_and_load(t, t.a.offset + 17, "a") == p + "a: blob checksum mismatch");
  CHECK(corrupt_and_load(t, t.b.offset + 2, "b") == p + "b: blob checksum mismatch");
  CHECK(corrupt_and_load(t, size - 2, "a") == p + "manifest checksum mismatch");
  // Padding between blobs is not covered by a checksum, and need not be.
  CHECK(corrupt_and_load(t, t.a.offset + t.a.size + 1, "a") == "loaded");
}

TEST_CASE("truncated, appended, empty and missing files are refused") {
  TempPlan t;
  write_sample(t);
  auto bytes = read_all(t.path);
  const fs::path bad = t.path.string() + ".cut";
  const std::string p = bad.string() + ": ";

  write_all(bad, std::vector<uint8_t>(bytes.begin(), bytes.end() - 10));
  auto r = PlanFile::open(bad.string());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message().find("(truncated or appended to)") != std::string::npos);

  auto longer = bytes;
  longer.push_back(0);
  write_all(bad, longer);
  CHECK_FALSE(PlanFile::open(bad.string()).ok());

  write_all(bad, {});
  r = PlanFile::open(bad.string());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message() == p + "not an r1vk plan (file is 0 bytes, shorter than the header)");
  fs::remove(bad);

  r = PlanFile::open("/nonexistent/model.r1vk");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kNotFound);
}

TEST_CASE("a plan from a newer format version is refused as unsupported") {
  TempPlan t;
  write_sample(t);
  auto bytes = read_all(t.path);
  FileHeader h;
  std::memcpy(&h, bytes.data(), sizeof(h));
  h.version = kFormatVersion + 1;
  h.header_xxh64 = XXH64(&h, offsetof(FileHeader, header_xxh64), 0);
  std::memcpy(bytes.data(), &h, sizeof(h));
  const fs::path newer = t.path.string() + ".newer";
  write_all(newer, bytes);
  auto r = PlanFile::open(newer.string());
  fs::remove(newer);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kUnsupported);
  CHECK(r.error().message().find("plan format version 2 is newer than this r1vk supports (1)") != std::string::npos);
}

TEST_CASE("blob references outside the blob area or misaligned are refused") {
  TempPlan t;
  write_sample(t);
  auto plan = PlanFile::open(t.path.string());
  REQUIRE(plan.ok());
  json_fields::Json m{{"x", blob_ref_json({t.a.offset + 1, 4, 0})},
                      {"y", blob_ref_json({t.a.offset, 1ull << 40, 0})},
                      {"z", {{"offset", -5}, {"size", 1}, {"xxh64", 0}}}};
  auto x = plan->blob_ref(m, "x", "manifest");
  REQUIRE_FALSE(x.ok());
  CHECK(x.error().message().find("manifest.x: blob offset is not aligned") != std::string::npos);
  auto y = plan->blob_ref(m, "y", "manifest");
  REQUIRE_FALSE(y.ok());
  CHECK(y.error().message().find("manifest.y: blob range lies outside the blob area") != std::string::npos);
  auto z = plan->blob_ref(m, "z", "manifest");
  REQUIRE_FALSE(z.ok());
  CHECK(z.error().message() == "manifest.z.offset: expected an unsigned integer");
}

TEST_CASE("two writers of one plan at once each write a file of their own; both finish, the last rename wins") {
  TempPlan t;
  auto w1 = PlanWriter::create(t.path.string());
  auto w2 = PlanWriter::create(t.path.string());
  REQUIRE(w1.ok());
  REQUIRE(w2.ok());
  CHECK(t.partial_files() == 2);
  std::vector<uint8_t> a(100, 1), b(200, 2);
  REQUIRE(w1->add_blob(a).ok());
  REQUIRE(w2->add_blob(b).ok());
  CHECK(w1->finish(R"({"name": "one"})").ok());
  CHECK(w2->finish(R"({"name": "two"})").ok());
  CHECK(t.partial_files() == 0);
  auto plan = PlanFile::open(t.path.string());
  REQUIRE(plan.ok());
  CHECK(plan->manifest()["name"] == "two");
}

TEST_CASE("an abandoned writer leaves no file behind") {
  TempPlan t;
  {
    auto w = PlanWriter::create(t.path.string());
    REQUIRE(w.ok());
    std::vector<uint8_t> a(10, 1);
    REQUIRE(w->add_blob(a).ok());
  }
  CHECK_FALSE(fs::exists(t.path));
  CHECK(t.partial_files() == 0);
}

TEST_CASE("a partial file of a killed writer is swept by the next writer of that plan; live and fresh ones stay") {
  TempPlan t;
  // A pid that is surely gone: a child that has exited and been reaped.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) ::_exit(0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  const std::string base = t.path.string() + ".partial.";
  const fs::path stale = base + std::to_string(child) + ".1.0";
  const fs::path fresh = base + std::to_string(child) + ".2.0";  // same dead pid, written just now
  const fs::path live = base + std::to_string(::getppid()) + ".3.0";  // a live process's
  const fs::path other = fs::path(t.path.string() + "x.partial." + std::to_string(child) + ".4.0");  // another plan's
  for (const auto& p : {stale, fresh, live, other}) write_all(p, {1, 2, 3});
  const auto old = fs::file_time_type::clock::now() - std::chrono::minutes(5);
  for (const auto& p : {stale, live, other}) fs::last_write_time(p, old);
  write_sample(t);
  CHECK_FALSE(fs::exists(stale));
  CHECK(fs::exists(fresh));
  CHECK(fs::exists(live));
  CHECK(fs::exists(other));
  for (const auto& p : {fresh, live, other}) fs::remove(p);
}

}  // namespace
}  // namespace r1vk::plan

namespace r1vk::plan {

TEST_CASE("a blob streamed in parts is the blob add_blob writes; misuse is refused") {
  TempPlan whole, streamed;
  streamed.path += ".streamed";
  std::vector<uint8_t> bytes(10000);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 13 + 1);
  {
    auto w = PlanWriter::create(whole.path.string());
    REQUIRE(w.ok());
    REQUIRE(w->add_blob(std::vector<uint8_t>{1, 2, 3}).ok());
    auto r = w->add_blob(bytes);
    REQUIRE(r.ok());
    whole.a = *r;
    REQUIRE(w->finish("{}").ok());
  }
  {
    auto w = PlanWriter::create(streamed.path.string());
    REQUIRE(w.ok());
    REQUIRE(w->add_blob(std::vector<uint8_t>{1, 2, 3}).ok());
    auto blob = w->begin_blob(bytes.size());
    REQUIRE(blob.ok());
    auto next = w->begin_blob(3);  // a second blob open at once (a tensor's data and scales)
    REQUIRE(next.ok());
    const std::span<const uint8_t> all(bytes);
    REQUIRE(w->append(*blob, all.subspan(0, 4000)).ok());
    REQUIRE(w->append(*next, std::vector<uint8_t>{9, 9, 9}).ok());
    CHECK_FALSE(w->end_blob(*blob).ok());  // not full yet
    CHECK_FALSE(w->finish("{}").ok());      // blobs still open
    REQUIRE(w->append(*blob, all.subspan(4000)).ok());
    CHECK_FALSE(w->append(*blob, std::vector<uint8_t>{0}).ok());  // past its size
    auto r = w->end_blob(*blob);
    REQUIRE(r.ok());
    streamed.a = *r;
    REQUIRE(w->end_blob(*next).ok());
    REQUIRE(w->finish("{}").ok());
  }
  CHECK(streamed.a.offset == whole.a.offset);
  CHECK(streamed.a.size == whole.a.size);
  CHECK(streamed.a.xxh64 == whole.a.xxh64);
  CHECK(streamed.a.xxh64 == XXH64(bytes.data(), bytes.size(), 0));
  auto plan = PlanFile::open(streamed.path.string());
  REQUIRE(plan.ok());
  auto got = plan->verified_blob(streamed.a, "a");
  REQUIRE(got.ok());
  CHECK(std::vector<uint8_t>(got->begin(), got->end()) == bytes);
}

TEST_CASE("released blob pages read back unchanged") {
  TempPlan t;
  write_sample(t);
  auto plan = PlanFile::open(t.path.string());
  REQUIRE(plan.ok());
  auto a = plan->verified_blob(t.a, "a");
  REQUIRE(a.ok());
  const std::vector<uint8_t> before(a->begin(), a->end());
  plan->release(t.a);
  plan->release(t.b);
  CHECK(std::vector<uint8_t>(a->begin(), a->end()) == before);  // the same span, faulted in again
  auto again = plan->verified_blob(t.a, "a");
  REQUIRE(again.ok());
  CHECK(std::vector<uint8_t>(again->begin(), again->end()) == before);
}

}  // namespace r1vk::plan
