#include "import/gguf_split.h"

#include <algorithm>
#include <cstdio>

namespace r1vk {
namespace {

// The split suffix llama.cpp's gguf-split writes: "-NNNNN-of-MMMMM.gguf" (five-digit 1-based
// index and count). Parsed by hand: std::regex trips GCC 12 warnings under the sanitizers.
struct SplitName {
  std::string prefix;
  int64_t index = 0;
  int64_t count = 0;
};

bool parse_split_name(const std::string& path, SplitName& out) {
  const std::string tail = "-00000-of-00000.gguf";
  if (path.size() < tail.size() + 1) return false;
  const size_t at = path.size() - tail.size();
  auto digits = [&](size_t from, int64_t& v) {
    v = 0;
    for (size_t k = from; k < from + 5; ++k) {
      if (path[k] < '0' || path[k] > '9') return false;
      v = v * 10 + (path[k] - '0');
    }
    return true;
  };
  if (path[at] != '-' || path.compare(at + 6, 4, "-of-") != 0 || path.compare(at + 15, 5, ".gguf") != 0) return false;
  if (!digits(at + 1, out.index) || !digits(at + 10, out.count)) return false;
  out.prefix = path.substr(0, at);
  return true;
}

}  // namespace

std::string gguf_split_path(const std::string& first, int64_t index, int64_t count) {
  SplitName n;
  if (!parse_split_name(first, n)) return {};
  char suffix[64];
  std::snprintf(suffix, sizeof(suffix), "-%05lld-of-%05lld.gguf", static_cast<long long>(index + 1),
                static_cast<long long>(count));
  return n.prefix + suffix;
}

int64_t gguf_split_count_from_name(const std::string& path) {
  SplitName n;
  if (!parse_split_name(path, n)) return 1;
  return std::max<int64_t>(1, n.count);
}

GgufModelFiles::GgufModelFiles(std::vector<GgufFile> files) : files_(std::move(files)) {
  for (size_t f = 0; f < files_.size(); ++f) {
    for (const auto& t : files_[f].tensors()) where_.emplace(t.name, std::make_pair(f, &t));
  }
}

Result<GgufModelFiles> GgufModelFiles::open(const std::string& path) {
  std::vector<GgufFile> files;
  R1VK_ASSIGN_OR_RETURN(GgufFile first, GgufFile::open(path));
  const GgufMetadata& md = first.metadata();
  auto wrap = [&path](Error e) { return std::move(e).with_context(path); };
  auto count = md.integer_or("split.count", 1, 1, kMaxGgufSplits);
  if (!count.ok()) return wrap(std::move(count).error());
  auto no = md.integer_or("split.no", 0, 0, kMaxGgufSplits - 1);
  if (!no.ok()) return wrap(std::move(no).error());
  if (*no != 0) {
    return make_error(ErrorCode::kInvalidArgument, path + " is split " + std::to_string(*no + 1) + " of " +
                                                       std::to_string(*count) + ": pass the first split (-00001-of-...)");
  }
  const int64_t n = *count;
  files.push_back(std::move(first));
  if (n == 1) return GgufModelFiles(std::move(files));

  auto total = files.front().metadata().integer("split.tensors.count", 0, int64_t{1} << 32);
  if (!total.ok()) return wrap(std::move(total).error());
  if (gguf_split_path(path, 0, n) != path) {
    return make_error(ErrorCode::kInvalidArgument, path + ": split.count is " + std::to_string(n) +
                                                       " but the file name does not follow NAME-00001-of-NNNNN.gguf "
                                                       "with NNNNN = the split count");
  }
  for (int64_t k = 1; k < n; ++k) {
    const std::string p = gguf_split_path(path, k, n);
    R1VK_ASSIGN_OR_RETURN(GgufFile f, GgufFile::open(p));
    auto fno = f.metadata().integer("split.no", 0, kMaxGgufSplits);
    if (!fno.ok()) return std::move(fno).error().with_context(p);
    auto fcount = f.metadata().integer("split.count", 1, kMaxGgufSplits);
    if (!fcount.ok()) return std::move(fcount).error().with_context(p);
    if (*fno != k || *fcount != n) {
      return make_error(ErrorCode::kCorruptData, p + ": split.no " + std::to_string(*fno) + " / split.count " +
                                                     std::to_string(*fcount) + ", expected " + std::to_string(k) +
                                                     " / " + std::to_string(n));
    }
    files.push_back(std::move(f));
  }
  uint64_t sum = 0;
  std::unordered_map<std::string, size_t> seen;
  for (size_t f = 0; f < files.size(); ++f) {
    sum += files[f].tensors().size();
    for (const auto& t : files[f].tensors()) {
      const auto [it, fresh] = seen.emplace(t.name, f);
      if (!fresh) {
        return make_error(ErrorCode::kCorruptData, "tensor '" + t.name + "' is in both " + files[it->second].path() +
                                                       " and " + files[f].path());
      }
    }
  }
  if (sum != static_cast<uint64_t>(*total)) {
    return make_error(ErrorCode::kCorruptData, path + ": split.tensors.count is " + std::to_string(*total) + " but the " +
                                                   std::to_string(n) + " splits hold " + std::to_string(sum) + " tensors");
  }
  return GgufModelFiles(std::move(files));
}

const GgufTensorInfo* GgufModelFiles::find(const std::string& name) const {
  const auto it = where_.find(name);
  return it == where_.end() ? nullptr : it->second.second;
}

Result<GgufTensorRef> GgufModelFiles::tensor(const std::string& name) const {
  const auto it = where_.find(name);
  if (it == where_.end()) return make_error(ErrorCode::kNotFound, path() + ": no tensor '" + name + "'");
  const GgufFile& f = files_[it->second.first];
  return GgufTensorRef{it->second.second, f.data(*it->second.second), &f.path()};
}

std::vector<std::string> GgufModelFiles::tensor_names() const {
  std::vector<std::string> names;
  names.reserve(where_.size());
  for (const auto& [name, loc] : where_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace r1vk
