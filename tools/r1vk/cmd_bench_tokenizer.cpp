// `r1vk bench-tokenizer`: single-thread encode throughput on a few MB of generated text
// (English-like prose, code, CJK, numbers, and all of them mixed), deterministic from a seed.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

#include "command.h"
#include "common_flags.h"
#include "load_tokenizer.h"
#include "text/utf8.h"

namespace r1vk::cli {
namespace {

struct BenchArgs {
  std::string model;
  double megabytes = 2.0;  // per category
  uint32_t seed = 42;
};

constexpr const char* kCommonWords[] = {
    "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on", "not",
    "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had", "they", "you",
    "were", "their", "one", "all", "we", "can", "her", "has", "there", "been", "if", "more", "when", "will",
    "would", "who", "so", "no", "model", "memory", "reasoning", "answer", "because", "between", "through"};
constexpr const char* kSyllables[] = {"ka", "ther", "in", "com", "pre", "tion", "al", "ly", "ment", "con", "ver",
                                      "sa", "lo", "gen", "er", "ous", "dis", "un", "re", "ble", "ing", "ed",
                                      "ist", "ra", "mo", "ti", "que", "ph", "st", "ar"};
constexpr const char* kCodeLines[] = {
    "for (int i = 0; i < n; ++i) { sum += values[i] * %d; }\n",
    "    if (status.ok()) return result_%d;\n",
    "def compute_%d(x, y):\n    return x ** 2 + y / 3.0\n",
    "std::vector<uint32_t> ids_%d = tokenizer.encode(text);\n",
    "  const auto& layer = model.layers[%d]; // attention block\n",
    "#include <vector>\nint main() { return %d; }\n"};

template <typename List>
const char* pick(std::mt19937& rng, const List& list) {
  return list[std::uniform_int_distribution<size_t>(0, std::size(list) - 1)(rng)];
}

// Prose: half common words, half made-up words of 1-4 syllables (so BPE does real merging work
// rather than hitting a handful of cached words), with punctuation and paragraph breaks.
std::string make_prose(std::mt19937& rng, size_t bytes) {
  std::string s;
  std::uniform_int_distribution<int> die(0, 99);
  bool capital = true;
  while (s.size() < bytes) {
    std::string word;
    if (die(rng) < 50) {
      word = pick(rng, kCommonWords);
    } else {
      for (int k = 1 + die(rng) % 4; k > 0; --k) word += pick(rng, kSyllables);
    }
    if (capital) word[0] = static_cast<char>(word[0] - 'a' + 'A');
    s += word;
    const int r = die(rng);
    capital = r < 8;
    s += r < 6 ? ". " : r < 8 ? "?\n\n" : r < 14 ? ", " : " ";
  }
  return s;
}

std::string make_code(std::mt19937& rng, size_t bytes) {
  std::string s;
  char line[256];
  std::uniform_int_distribution<int> number(0, 99999);
  while (s.size() < bytes) {
    std::snprintf(line, sizeof line, pick(rng, kCodeLines), number(rng));
    s += line;
  }
  return s;
}

std::string make_cjk(std::mt19937& rng, size_t bytes) {
  std::string s;
  std::uniform_int_distribution<uint32_t> han(0x4E00, 0x9FA5);
  std::uniform_int_distribution<int> die(0, 99);
  while (s.size() < bytes) {
    text::append_utf8(s, han(rng));
    const int r = die(rng);
    if (r < 5) s += "，";
    else if (r < 8) s += "。";
    else if (r < 10) s += "\n";
  }
  return s;
}

std::string make_numbers(std::mt19937& rng, size_t bytes) {
  std::string s;
  std::uniform_int_distribution<uint64_t> value(0, 9'999'999'999ULL);
  std::uniform_int_distribution<int> die(0, 3);
  while (s.size() < bytes) {
    s += std::to_string(value(rng));
    s += die(rng) == 0 ? ".5, " : die(rng) == 1 ? " + " : " ";
  }
  return s;
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

Status run_bench(const BenchArgs& args) {
  if (!(args.megabytes > 0.0 && args.megabytes <= 256.0)) {
    return make_error(ErrorCode::kInvalidArgument, "--mb must be in (0, 256]");
  }
  R1VK_ASSIGN_OR_RETURN(text::Tokenizer tok, load_tokenizer(args.model));
  std::mt19937 rng(args.seed);
  const auto bytes = static_cast<size_t>(args.megabytes * 1024 * 1024);
  const std::string prose = make_prose(rng, bytes), code = make_code(rng, bytes), cjk = make_cjk(rng, bytes),
                    numbers = make_numbers(rng, bytes);
  std::string mixed;
  for (size_t off = 0; off < bytes; off += 4096) {
    for (const std::string* part : {&prose, &code, &cjk, &numbers}) {
      // Cut on a character boundary so the mix stays valid UTF-8.
      size_t end = std::min(part->size(), off + 1024);
      while (end < part->size() && (static_cast<unsigned char>((*part)[end]) & 0xC0) == 0x80) ++end;
      size_t begin = std::min(off, end);
      while (begin < end && (static_cast<unsigned char>((*part)[begin]) & 0xC0) == 0x80) ++begin;
      mixed.append(*part, begin, end - begin);
    }
  }
  // CPU time of this thread is reported beside wall time: on a busy machine it is the steadier
  // figure of what one core achieves.
  std::printf("%-8s %8s %10s %8s %10s %10s\n", "text", "MB", "tokens", "wall s", "MB/s wall", "MB/s cpu");
  for (const auto& [name, data] : {std::pair{"prose", &prose}, {"code", &code}, {"cjk", &cjk},
                                    {"numbers", &numbers}, {"mixed", &mixed}}) {
    const double cpu_start = thread_cpu_seconds();
    const auto start = std::chrono::steady_clock::now();
    R1VK_ASSIGN_OR_RETURN(auto ids, tok.encode(*data));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu = thread_cpu_seconds() - cpu_start;
    const double mb = static_cast<double>(data->size()) / (1024.0 * 1024.0);
    std::printf("%-8s %8.2f %10zu %8.3f %10.2f %10.2f\n", name, mb, ids.size(), seconds, mb / seconds, mb / cpu);
  }
  return ok_status();
}

}  // namespace

void add_bench_tokenizer_command(CLI::App& app, CommandFn& selected) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand("bench-tokenizer", "Measure single-thread tokenizer encode throughput");
  add_model_option(*cmd, args->model, "Checkpoint directory (with tokenizer.json) or a tokenizer.json file")
      ->required();
  cmd->add_option("--mb", args->megabytes, "Megabytes of text per category (default 2)");
  add_seed_option(*cmd, args->seed, "Seed of the text generator");
  cmd->callback([args, &selected] { selected = [args] { return run_bench(*args); }; });
}

}  // namespace r1vk::cli
