#define PCRE2_CODE_UNIT_WIDTH 8
#include "text/regex.h"

#include "text/regex_dialect.h"

#include <pcre2.h>

namespace r1vk::text {

struct Regex::State {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~State() { pcre2_code_free(code); }
};

namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};

// One match-data block per thread, reused across calls (allocating per piece would dominate).
pcre2_match_data* thread_match_data() {
  thread_local std::unique_ptr<pcre2_match_data, MatchDataDeleter> data(
      pcre2_match_data_create(1, nullptr));
  return data.get();
}

}  // namespace

Result<Regex> Regex::compile(std::string_view source) {
  // In Oniguruma's dialect (see regex_dialect.h). An error's offset is in the rewritten pattern
  // when the two differ, so then that is shown too.
  const std::string pcre2_source = oniguruma_to_pcre2(source);
  auto r = build(pcre2_source, 0);
  if (!r.ok() && pcre2_source != source) {
    return make_error(r.error().code(), r.error().message() + " (as PCRE2 /" + pcre2_source + "/)");
  }
  if (r.ok()) r->source_ = std::string(source);
  return r;
}

Result<Regex> Regex::literal(std::string_view literal) { return build(literal, PCRE2_LITERAL); }

Result<Regex> Regex::build(std::string_view source, uint32_t extra_options) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  // PCRE2_LITERAL rejects PCRE2_UCP (it has no classes to apply it to).
  const uint32_t options = PCRE2_UTF | ((extra_options & PCRE2_LITERAL) ? 0 : PCRE2_UCP) | extra_options;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source.data()), source.size(),
                                   options, &error, &offset, nullptr);
  if (!code) {
    return make_error(ErrorCode::kCorruptData, "bad regex /" + std::string(source) + "/ at offset " +
                                                   std::to_string(offset) + ": " + pcre2_message(error));
  }
  auto state = std::make_shared<State>();
  state->code = code;
  state->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  Regex r;
  r.state_ = std::move(state);
  r.source_ = std::string(source);
  return r;
}

Status Regex::find_all(std::string_view text, Span piece, std::vector<Span>& out) const {
  pcre2_match_data* md = thread_match_data();
  if (!md) return make_error(ErrorCode::kOutOfMemory, "pcre2 match data");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data() + piece.begin);
  const size_t length = piece.end - piece.begin;
  size_t start = 0;
  while (start <= length) {
    int rc = state_->jit ? pcre2_jit_match(state_->code, subject, length, start, PCRE2_NO_UTF_CHECK, md, nullptr)
                         : pcre2_match(state_->code, subject, length, start, PCRE2_NO_UTF_CHECK, md, nullptr);
    // The JIT's fixed stack can run out on pathological input; the interpreter uses the heap.
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      rc = pcre2_match(state_->code, subject, length, start, PCRE2_NO_UTF_CHECK, md, nullptr);
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      return make_error(ErrorCode::kInternal, "regex /" + source_ + "/: " + pcre2_message(rc));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    size_t mb = ov[0], me = ov[1];
    if (me == mb) {
      // Empty matches split nothing; step one whole character past them.
      start = me + 1;
      while (start < length && (static_cast<unsigned char>(text[piece.begin + start]) & 0xC0) == 0x80) ++start;
      continue;
    }
    out.push_back({piece.begin + mb, piece.begin + me});
    start = me;
  }
  return ok_status();
}

}  // namespace r1vk::text
