// Robustness: a tokenizer.json with any one value replaced by a value of another type either
// loads or fails with an error; it never crashes, throws or hangs, and what loads can encode.
#include <doctest/doctest.h>

#include <random>

#include "text/tiny_tokenizer.h"
#include "text/tokenizer.h"

namespace r1vk::text {
namespace {

TEST_CASE("tokenizer.json with one value of a wrong type loads or errors, never crashes") {
  const nlohmann::json base = testing::tiny_tokenizer_json();
  // Every leaf and container path, except the 262 vocab entries which would dominate the draw.
  std::vector<nlohmann::json::json_pointer> paths;
  const nlohmann::json flat = base.flatten();
  for (auto it = flat.begin(); it != flat.end(); ++it) {
    for (nlohmann::json::json_pointer p(it.key()); !p.empty(); p = p.parent_pointer()) {
      if (p.to_string().rfind("/model/vocab/", 0) == 0 && p.to_string() != "/model/vocab/h") continue;
      paths.push_back(p);
    }
  }
  const nlohmann::json replacements[] = {nullptr, 0, -1, 1e30, "x", "", true, nlohmann::json::array(),
                                         nlohmann::json::object(), nlohmann::json::array({1, "a"})};
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> pick_path(0, paths.size() - 1);
  std::uniform_int_distribution<size_t> pick_value(0, std::size(replacements) - 1);
  size_t loaded = 0, failed = 0;
  for (int i = 0; i < 600; ++i) {
    nlohmann::json j = base;
    const auto& path = paths[pick_path(rng)];
    const auto& value = replacements[pick_value(rng)];
    j[path] = value;
    auto t = Tokenizer::from_json(j.dump());
    INFO("path " << path.to_string() << " = " << value.dump());
    if (!t.ok()) {
      CHECK_FALSE(t.error().message().empty());
      ++failed;
      continue;
    }
    ++loaded;
    auto ids = t->encode("hello world <eos> 123");
    if (ids.ok()) CHECK(t->decode(*ids).ok());
  }
  // Both outcomes occur: the mutations reach fields that matter and fields that do not.
  CHECK(loaded > 0);
  CHECK(failed > 0);
}

}  // namespace
}  // namespace r1vk::text
