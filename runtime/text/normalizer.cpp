#include "text/normalizer.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>

#include <cstdint>

#include <nlohmann/json.hpp>

namespace r1vk::text {
namespace {

// Real files nest one Sequence; the bound keeps hostile input from exhausting the stack.
constexpr int kMaxNesting = 16;

Status collect(const nlohmann::json& spec, std::vector<NormalForm>& out, const std::string& where, int depth) {
  if (spec.is_null()) return ok_status();
  if (depth > kMaxNesting) return make_error(ErrorCode::kCorruptData, where + ": Sequence nested too deeply");
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string()) {
    return make_error(ErrorCode::kCorruptData, where + ": expected an object with a string \"type\"");
  }
  const std::string type = spec["type"].get<std::string>();
  if (type == "NFC") out.push_back(NormalForm::kNfc);
  else if (type == "NFD") out.push_back(NormalForm::kNfd);
  else if (type == "NFKC") out.push_back(NormalForm::kNfkc);
  else if (type == "NFKD") out.push_back(NormalForm::kNfkd);
  else if (type == "Sequence") {
    if (!spec.contains("normalizers") || !spec["normalizers"].is_array()) {
      return make_error(ErrorCode::kCorruptData, where + ": Sequence needs a \"normalizers\" array");
    }
    size_t i = 0;
    for (const auto& child : spec["normalizers"]) {
      R1VK_TRY(collect(child, out, where + ".normalizers[" + std::to_string(i++) + "]", depth + 1));
    }
  } else {
    return make_error(ErrorCode::kUnsupported, where + ": unsupported normalizer type \"" + type + "\"");
  }
  return ok_status();
}

const icu::Normalizer2* instance(NormalForm form, UErrorCode& status) {
  switch (form) {
    case NormalForm::kNfc: return icu::Normalizer2::getNFCInstance(status);
    case NormalForm::kNfd: return icu::Normalizer2::getNFDInstance(status);
    case NormalForm::kNfkc: return icu::Normalizer2::getNFKCInstance(status);
    case NormalForm::kNfkd: return icu::Normalizer2::getNFKDInstance(status);
  }
  return nullptr;
}

bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

}  // namespace

Result<Normalizer> Normalizer::from_json(const nlohmann::json& spec) {
  Normalizer n;
  R1VK_TRY(collect(spec, n.forms_, "normalizer", 0));
  return n;
}

Result<std::string> Normalizer::apply(std::string_view text) const {
  std::string current(text);
  // ASCII is invariant under every normalisation form.
  if (forms_.empty() || is_ascii(text)) return current;
  if (text.size() > static_cast<size_t>(INT32_MAX)) {
    return make_error(ErrorCode::kOutOfRange, "text of " + std::to_string(text.size()) + " bytes is too long to normalise");
  }
  for (NormalForm form : forms_) {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* norm = instance(form, status);
    if (U_FAILURE(status) || !norm) {
      return make_error(ErrorCode::kInternal, std::string("ICU normalizer unavailable: ") + u_errorName(status));
    }
    std::string next;
    icu::StringByteSink<std::string> sink(&next);
    norm->normalizeUTF8(0, icu::StringPiece(current.data(), static_cast<int32_t>(current.size())), sink,
                        nullptr, status);
    if (U_FAILURE(status)) {
      return make_error(ErrorCode::kInternal, std::string("ICU normalisation failed: ") + u_errorName(status));
    }
    current = std::move(next);
  }
  return current;
}

}  // namespace r1vk::text
