// Fuzz target: opening a .r1vk plan. The first byte picks the mode: odd, the rest is a whole plan
// file (header checks); even, the rest is a manifest and a blob area separated by
// fuzz::kPartSeparator, which PlanWriter wraps into a container with valid checksums so the
// fuzzer reaches manifest parsing and validation. A plan that opens is then used as the runtime
// does before touching a device: every tensor's bytes, the dump, config.json and the tokenizer.
#include <span>
#include <string>

#include "base/json_util.h"
#include "fuzz_support.h"
#include "import/config_parser.h"
#include "plan/loaded_plan.h"
#include "plan/plan_dump.h"
#include "plan/plan_writer.h"
#include "text/tokenizer.h"

namespace {
constexpr size_t kMaxTokenizerBytes = 64 * 1024;  // bigger ones are the tokenizer target's job
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace r1vk;
  if (size == 0) return 0;
  std::string path;
  if (data[0] & 1) {
    path = fuzz::write_scratch_file("fuzz.r1vk", {reinterpret_cast<const char*>(data) + 1, size - 1});
  } else {
    const auto parts = fuzz::split_parts(data + 1, size - 1, 2);
    path = fuzz::scratch_dir() + "/fuzz.r1vk";
    auto writer = plan::PlanWriter::create(path);
    fuzz::check(writer.ok(), "the scratch plan can be created");
    const auto blobs = std::span(reinterpret_cast<const uint8_t*>(parts[1].data()), parts[1].size());
    fuzz::check(writer->add_blob(blobs).ok(), "the blob area is written");
    if (!writer->finish(std::string(parts[0])).ok()) return 0;
  }
  auto loaded = plan::LoadedPlan::open(path);
  if (!loaded.ok()) {
    fuzz::check(!loaded.error().message().empty(), "a rejected plan has a message");
    return 0;
  }
  const plan::Manifest& m = loaded->manifest();
  for (size_t i = 0; i < m.tensors.size(); ++i) (void)loaded->tensor_bytes(i);
  (void)plan::dump_plan(m);
  if (auto config = parse_json(m.config_json, "config.json in the plan"); config.ok()) {
    if (auto parsed = parse_model_config(*config); parsed.ok()) (void)validate_model_config(*parsed);
  }
  if (m.has_tokenizer() && m.tokenizer_json.size() <= kMaxTokenizerBytes) {
    (void)text::Tokenizer::from_json(m.tokenizer_json, m.tokenizer_config_json);
  }
  return 0;
}
