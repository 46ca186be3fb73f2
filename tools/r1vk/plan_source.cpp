#include "plan_source.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <vector>
#include <cstdlib>
#include <filesystem>

#include <xxhash.h>

#include "base/progress_bar.h"
#include "compiler/compiler.h"
#include "import/gguf_import.h"
#include "import/gguf_split.h"

namespace r1vk::cli {
namespace {

namespace fs = std::filesystem;

// Identifies a checkpoint's contents cheaply: names, sizes and modification times of its files.
uint64_t checkpoint_key(const fs::path& dir, const PlanSourceOptions& o) {
  std::string key = fs::weakly_canonical(dir).string() + "|" + o.weights + "|" + std::to_string(o.context) + "|" +
                    std::to_string(o.prefill_chunk);
  std::error_code ec;
  std::vector<std::string> files;
  auto add = [&files](const fs::directory_entry& e) {
    files.push_back(e.path().filename().string() + ":" + std::to_string(e.file_size()) + ":" +
                    std::to_string(e.last_write_time().time_since_epoch().count()));
  };
  if (fs::is_regular_file(dir, ec)) {  // a GGUF file: it and its splits
    add(fs::directory_entry(dir));
    const int64_t n = gguf_split_count_from_name(dir.string());
    for (int64_t k = 1; k < n; ++k) {
      if (fs::exists(gguf_split_path(dir.string(), k, n), ec)) add(fs::directory_entry(gguf_split_path(dir.string(), k, n)));
    }
  }
  for (const auto& e : fs::directory_iterator(fs::is_directory(dir, ec) ? dir : fs::path(), ec)) {
    if (!e.is_regular_file()) continue;
    add(e);
  }
  std::sort(files.begin(), files.end());  // directory order is unspecified
  for (const auto& f : files) key += "|" + f;
  return XXH64(key.data(), key.size(), 0);
}

}  // namespace

std::string plan_cache_dir() {
  if (const char* d = std::getenv("R1VK_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/r1vk";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/r1vk";
  return (fs::temp_directory_path() / "r1vk-cache").string();
}

int64_t cached_context_for(int64_t needed) {
  return needed <= kDefaultContext ? 0 : static_cast<int64_t>(std::bit_ceil(static_cast<uint64_t>(needed)));
}

Result<plan::LoadedPlan> open_model(const std::string& model, const PlanSourceOptions& o) {
  std::error_code ec;
  if (!fs::exists(model, ec)) return make_error(ErrorCode::kNotFound, "model " + model + " does not exist");
  if (!fs::is_directory(model, ec) && !is_gguf_file(model)) return plan::LoadedPlan::open(model);

  char name[32];
  std::snprintf(name, sizeof(name), "%016llx.r1vk", static_cast<unsigned long long>(checkpoint_key(model, o)));
  const fs::path cache = fs::path(plan_cache_dir());
  const fs::path plan_path = cache / name;
  if (fs::exists(plan_path, ec)) {
    auto cached = plan::LoadedPlan::open(plan_path.string());
    if (cached.ok()) return cached;
    std::fprintf(stderr, "r1vk: recompiling: cached plan %s is unusable (%s)\n", plan_path.c_str(),
                 cached.error().message().c_str());
  }
  fs::create_directories(cache, ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot create the plan cache " + cache.string() + ": " + ec.message());
  CompileOptions co;
  co.weights = o.weights;
  co.max_context = o.context;
  co.prefill_chunk = o.prefill_chunk;
  ProgressBar bar("compiling " + fs::path(model).filename().string(), 0);
  co.progress = [&bar](uint64_t done, uint64_t total) { bar.update(done, total); };
  auto m = compile_checkpoint(model, co, plan_path.string());
  bar.finish();
  if (!m.ok()) return std::move(m).error().with_context("compiling " + model);
  auto compiled = plan::LoadedPlan::open(plan_path.string());
  if (!compiled.ok()) fs::remove(plan_path, ec);  // a plan its loader refuses must not stay cached
  return compiled;
}

}  // namespace r1vk::cli
