#include "api/problem_eval.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/json_util.h"
#include "text/chat_format.h"

namespace r1vk::api {
namespace {

constexpr uint64_t kMaxProblemFileBytes = 256ull << 20;

Result<std::string> string_field(const Json& obj, const char* name, bool required, const std::string& where) {
  const auto it = obj.find(name);
  if (it == obj.end()) {
    if (required) return make_error(ErrorCode::kCorruptData, where + ": missing \"" + name + "\"");
    return std::string();
  }
  if (!it->is_string()) {
    return make_error(ErrorCode::kCorruptData,
                      where + ": \"" + name + "\" must be a string, not " + json_type_name(*it));
  }
  return it->get<std::string>();
}

}  // namespace

std::string trim_answer(std::string_view text) {
  constexpr std::string_view ws = " \t\r\n\v\f";
  const size_t b = text.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  const size_t e = text.find_last_not_of(ws);
  return std::string(text.substr(b, e - b + 1));
}

Result<std::vector<Problem>> parse_problems(std::string_view text, const std::string& source) {
  std::vector<Problem> out;
  int64_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (trim_answer(line).empty()) continue;
    const std::string where = source + " line " + std::to_string(line_no);
    auto j = parse_json(line, where);
    if (!j.ok()) return std::move(j).error();
    if (!j->is_object()) return make_error(ErrorCode::kCorruptData, where + ": expected a JSON object, not " + json_type_name(*j));
    Problem p;
    p.line = line_no;
    R1VK_ASSIGN_OR_RETURN(p.question, string_field(*j, "question", true, where));
    R1VK_ASSIGN_OR_RETURN(p.answer, string_field(*j, "answer", true, where));
    R1VK_ASSIGN_OR_RETURN(p.kind, string_field(*j, "kind", false, where));
    if (trim_answer(p.question).empty()) return make_error(ErrorCode::kCorruptData, where + ": \"question\" is empty");
    out.push_back(std::move(p));
  }
  if (out.empty()) return make_error(ErrorCode::kInvalidArgument, source + " holds no problems");
  return out;
}

Result<std::vector<Problem>> read_problems_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return make_error(ErrorCode::kNotFound, path + " does not exist");
  if (std::filesystem::is_directory(path, ec)) return make_error(ErrorCode::kInvalidArgument, path + " is a directory, not a JSONL file");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return make_error(ErrorCode::kIo, path + ": " + ec.message());
  if (size > kMaxProblemFileBytes) return make_error(ErrorCode::kOutOfRange, path + " is larger than 256 MiB");
  std::ifstream f(path, std::ios::binary);
  if (!f) return make_error(ErrorCode::kIo, path + " cannot be read");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return make_error(ErrorCode::kIo, path + " cannot be read");
  return parse_problems(ss.str(), path);
}

Result<EvalReport> evaluate_problems(exec::Session& session, const text::Tokenizer& tokenizer, std::span<const Problem> problems,
                                     const EvalOptions& o) {
  R1VK_ASSIGN_OR_RETURN(auto chat, text::R1ChatFormat::from_tokenizer(tokenizer));
  GenerationOptions go;  // default sampling: greedy
  go.max_tokens = o.max_tokens;
  go.prompt_opened_think = true;
  go.split_reasoning = true;
  EvalReport r;
  for (size_t i = 0; i < problems.size(); ++i) {
    const Problem& p = problems[i];
    const text::ChatMessage msg{text::ChatRole::kUser, p.question};
    // Errors name the problem's line (a question longer than the context, say).
    const std::string where = "problem " + std::to_string(i + 1) + (p.line > 0 ? " (line " + std::to_string(p.line) + ")" : "");
    auto ids = chat.encode(std::span(&msg, 1), /*add_generation_prompt=*/true);
    if (!ids.ok()) return std::move(ids).error().with_context(where);
    const std::vector<int32_t> prompt(ids->begin(), ids->end());
    session.reset();
    bool closed = false;
    auto on_piece = [&](const text::TextPiece& piece) {
      if (piece.kind == text::TextKind::kAnswer) closed = true;
    };
    auto generated = generate(session, tokenizer, prompt, chat.eos_id(), go, on_piece);
    if (!generated.ok()) return std::move(generated).error().with_context(where);
    const GenerationStats s = std::move(generated).value();
    ProblemResult res;
    res.index = i;
    res.closed_reasoning = closed;
    res.got = res.closed_reasoning ? trim_answer(s.answer) : std::string();
    res.correct = res.closed_reasoning && res.got == p.answer;
    res.generated_tokens = s.generated_tokens;
    res.finish = s.finish;
    r.prompt_tokens += s.prompt_tokens;
    r.generated_tokens += s.generated_tokens;
    r.prompt_seconds += s.prompt_seconds;
    r.generation_seconds += s.generation_seconds;
    ++r.total;
    if (res.correct) ++r.correct;
    if (!p.kind.empty()) {
      KindTally& k = r.by_kind[p.kind];
      ++k.total;
      if (res.correct) ++k.correct;
    }
    if (!res.correct) r.failures.push_back(std::move(res));
    if (o.progress) o.progress(static_cast<int64_t>(i + 1), static_cast<int64_t>(problems.size()));
  }
  return r;
}

}  // namespace r1vk::api
