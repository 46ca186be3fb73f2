// tokenizer.json "normalizer": none, a Unicode normalisation form (NFC, NFD, NFKC, NFKD, via
// ICU) or a Sequence of those. Other normalizer types are rejected at load time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"

namespace r1vk::text {

enum class NormalForm { kNfc, kNfd, kNfkc, kNfkd };

class Normalizer {
 public:
  // `spec` is the JSON value of "normalizer" (null allowed).
  static Result<Normalizer> from_json(const nlohmann::json& spec);

  bool is_identity() const { return forms_.empty(); }
  // Normalises valid UTF-8 text.
  Result<std::string> apply(std::string_view text) const;

 private:
  std::vector<NormalForm> forms_;  // applied in order
};

}  // namespace r1vk::text
