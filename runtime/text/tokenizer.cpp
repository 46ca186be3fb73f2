#include "text/tokenizer.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "text/bpe_model.h"
#include "text/byte_level.h"
#include "text/pre_tokenizer.h"
#include "text/utf8.h"

namespace r1vk::text {
namespace {

// Fallbacks when tokenizer_config.json does not name BOS / EOS: the strings these families use.
constexpr const char* kKnownBos[] = {"<｜begin▁of▁sentence｜>", "<|begin_of_text|>"};
constexpr const char* kKnownEos[] = {"<｜end▁of▁sentence｜>", "<|end_of_text|>", "<|endoftext|>"};

Result<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "cannot open " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return make_error(ErrorCode::kIo, "cannot read " + path.string());
  return ss.str();
}

Status check_decoder(const nlohmann::json& root) {
  if (!root.contains("decoder") || root["decoder"].is_null()) {
    return make_error(ErrorCode::kUnsupported, "decoder: missing; r1vk supports the ByteLevel decoder only");
  }
  const auto& d = root["decoder"];
  if (!d.is_object() || !d.contains("type") || !d["type"].is_string()) {
    return make_error(ErrorCode::kCorruptData, "decoder: expected an object with a string \"type\"");
  }
  if (d["type"].get<std::string>() != "ByteLevel") {
    return make_error(ErrorCode::kUnsupported,
                      "decoder: unsupported type \"" + d["type"].get<std::string>() + "\" (only ByteLevel)");
  }
  return ok_status();
}

// Llama 3 names its BOS only in the post-processor's TemplateProcessing: the first special token
// of the single-sequence template.
std::optional<std::string> template_bos(const nlohmann::json& pp) {
  if (!pp.is_object() || !pp.contains("type") || !pp["type"].is_string()) return std::nullopt;
  if (pp["type"] == "Sequence" && pp.contains("processors") && pp["processors"].is_array()) {
    for (const auto& p : pp["processors"]) {
      if (auto s = template_bos(p)) return s;
    }
    return std::nullopt;
  }
  if (pp["type"] != "TemplateProcessing" || !pp.contains("single") || !pp["single"].is_array() ||
      pp["single"].empty()) {
    return std::nullopt;
  }
  const auto& first = pp["single"][0];
  if (first.is_object() && first.contains("SpecialToken") && first["SpecialToken"].is_object() &&
      first["SpecialToken"].contains("id") && first["SpecialToken"]["id"].is_string()) {
    return first["SpecialToken"]["id"].get<std::string>();
  }
  return std::nullopt;
}

}  // namespace

Tokenizer::Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Result<Tokenizer> Tokenizer::from_json(std::string_view tokenizer_json, std::string_view config_json) {
  nlohmann::json root = nlohmann::json::parse(tokenizer_json, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return make_error(ErrorCode::kCorruptData, "tokenizer.json: not valid JSON");
  if (!root.is_object()) return make_error(ErrorCode::kCorruptData, "tokenizer.json: not a JSON object");
  auto wrap = [](Error e) { return std::move(e).with_context("tokenizer.json"); };

  Tokenizer t;
  R1VK_ASSIGN_OR_RETURN(t.config_, parse_tokenizer_config(config_json));
  if (!root.contains("model")) return wrap(make_error(ErrorCode::kCorruptData, "\"model\" is missing"));
  auto model = BpeModel::from_json(root["model"]);
  if (!model.ok()) return wrap(std::move(model).error());
  t.model_ = std::make_unique<BpeModel>(std::move(model).value());

  auto normalizer = Normalizer::from_json(root.contains("normalizer") ? root["normalizer"] : nlohmann::json());
  if (!normalizer.ok()) return wrap(std::move(normalizer).error());
  t.normalizer_ = std::move(normalizer).value();

  auto pre = PreTokenizer::from_json(root.contains("pre_tokenizer") ? root["pre_tokenizer"] : nlohmann::json());
  if (!pre.ok()) return wrap(std::move(pre).error());
  t.pre_tokenizer_ = std::make_unique<PreTokenizer>(std::move(pre).value());
  if (auto s = check_decoder(root); !s.ok()) return wrap(std::move(s).error());

  auto added = parse_added_tokens(root.contains("added_tokens") ? root["added_tokens"] : nlohmann::json());
  if (!added.ok()) return wrap(std::move(added).error());
  t.added_ = std::move(added).value();
  R1VK_ASSIGN_OR_RETURN(auto raw, AddedTokenMatcher::build(t.added_, false));
  R1VK_ASSIGN_OR_RETURN(auto norm, AddedTokenMatcher::build(t.added_, true));
  t.raw_matcher_ = std::make_unique<AddedTokenMatcher>(std::move(raw));
  t.normalized_matcher_ = std::make_unique<AddedTokenMatcher>(std::move(norm));

  // Decoding table: what each id stands for, in raw bytes.
  size_t limit = t.model_->id_limit();
  for (const AddedToken& a : t.added_) limit = std::max<size_t>(limit, a.id + 1);
  t.id_bytes_.assign(limit, std::string());
  t.id_known_.assign(limit, false);
  t.is_special_.assign(limit, false);
  auto set_token = [&t](TokenId id, const std::string& text) {
    // As the ByteLevel decoder: tokens outside the byte alphabet decode to their own UTF-8.
    t.id_bytes_[id] = byte_level_to_bytes(text).value_or(text);
    t.id_known_[id] = true;
  };
  for (TokenId id = 0; id < t.model_->id_limit(); ++id) {
    if (!t.model_->token_text(id).empty()) set_token(id, t.model_->token_text(id));
  }
  for (const AddedToken& a : t.added_) {
    // An added token may repeat a vocab entry, but an id standing for two different texts would
    // encode one and decode as the other (found by fuzz_tokenizer).
    if (t.id_known_[a.id] && t.id_bytes_[a.id] != a.content) {
      return wrap(make_error(ErrorCode::kCorruptData, "added token \"" + a.content + "\" has id " +
                                                          std::to_string(a.id) + ", which already stands for \"" +
                                                          t.id_bytes_[a.id] + "\""));
    }
    set_token(a.id, a.content);
    t.is_special_[a.id] = a.special;
  }
  R1VK_TRY(t.resolve_bos_eos(root.contains("post_processor") ? root["post_processor"] : nlohmann::json()));
  return t;
}

Status Tokenizer::resolve_bos_eos(const nlohmann::json& post_processor) {
  auto lookup = [this](const std::optional<std::string>& named, const char* field,
                       std::optional<TokenId>& out) -> Status {
    if (!named) return ok_status();
    out = find_token(*named);
    if (!out) {
      return make_error(ErrorCode::kCorruptData, std::string("tokenizer_config.json: ") + field + " \"" + *named +
                                                     "\" is not a token of tokenizer.json");
    }
    return ok_status();
  };
  R1VK_TRY(lookup(config_.bos_token, "bos_token", bos_id_));
  R1VK_TRY(lookup(config_.eos_token, "eos_token", eos_id_));
  const auto template_first = template_bos(post_processor);
  if (!bos_id_ && template_first) bos_id_ = find_token(*template_first);
  adds_bos_ = config_.add_bos_token.value_or(template_first.has_value());
  adds_eos_ = config_.add_eos_token.value_or(false);
  for (const char* s : kKnownBos) {
    if (!bos_id_) bos_id_ = find_token(s);
  }
  for (const char* s : kKnownEos) {
    if (!eos_id_) eos_id_ = find_token(s);
  }
  return ok_status();
}

Result<Tokenizer> Tokenizer::from_file(const std::filesystem::path& path) {
  R1VK_ASSIGN_OR_RETURN(std::string json, read_file(path));
  std::string config;
  const auto config_path = path.parent_path() / "tokenizer_config.json";
  std::error_code ec;
  if (std::filesystem::exists(config_path, ec)) {
    R1VK_ASSIGN_OR_RETURN(config, read_file(config_path));
  }
  auto t = from_json(json, config);
  if (!t.ok()) return std::move(t).error().with_context(path.string());
  return t;
}

Result<Tokenizer> Tokenizer::from_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return make_error(ErrorCode::kNotFound, dir.string() + ": not a directory");
  }
  const auto path = dir / "tokenizer.json";
  if (!std::filesystem::exists(path, ec)) {
    return make_error(ErrorCode::kNotFound, dir.string() + ": no tokenizer.json in this checkpoint directory");
  }
  return from_file(path);
}

std::optional<TokenId> Tokenizer::find_token(std::string_view content) const {
  for (const AddedToken& a : added_) {
    if (a.content == content) return a.id;
  }
  if (auto bytes = byte_level_to_bytes(content)) {
    if (const int64_t id = model_->find_bytes(*bytes); id >= 0) return static_cast<TokenId>(id);
  }
  return std::nullopt;
}

std::string_view Tokenizer::token_bytes(TokenId id) const {
  return id < id_bytes_.size() ? std::string_view(id_bytes_[id]) : std::string_view();
}

Result<std::vector<TokenId>> Tokenizer::encode(std::string_view text, EncodeOptions options) const {
  if (auto bad = find_invalid_utf8(text)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "encode: input is not valid UTF-8 (byte offset " + std::to_string(*bad) + ")");
  }
  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 1);
  if (options.add_bos || (options.add_special_tokens && adds_bos_)) {
    if (!bos_id_) return make_error(ErrorCode::kUnsupported, "encode: this tokenizer has no BOS token");
    out.push_back(*bos_id_);
  }
  std::vector<TextSegment> segments;
  if (options.match_added_tokens) {
    raw_matcher_->split(text, {0, text.size()}, !options.recognize_special, segments);
  } else {
    segments.push_back({Span{0, text.size()}, -1});
  }
  for (const TextSegment& seg : segments) {
    if (seg.token_id >= 0) {
      out.push_back(static_cast<TokenId>(seg.token_id));
      continue;
    }
    const std::string_view piece = text.substr(seg.span.begin, seg.span.end - seg.span.begin);
    if (!options.match_added_tokens) {
      if (normalizer_.is_identity()) {
        R1VK_TRY(encode_plain(piece, out));
      } else {
        R1VK_ASSIGN_OR_RETURN(std::string normalized, normalizer_.apply(piece));
        R1VK_TRY(encode_plain(normalized, out));
      }
    } else if (normalizer_.is_identity()) {
      R1VK_TRY(encode_normalized(piece, options.recognize_special, out));
    } else {
      R1VK_ASSIGN_OR_RETURN(std::string normalized, normalizer_.apply(piece));
      R1VK_TRY(encode_normalized(normalized, options.recognize_special, out));
    }
  }
  if (options.add_special_tokens && adds_eos_) {
    if (!eos_id_) return make_error(ErrorCode::kUnsupported, "encode: add_eos_token is set but this tokenizer has no EOS token");
    out.push_back(*eos_id_);
  }
  return out;
}

Status Tokenizer::encode_normalized(std::string_view text, bool recognize_special,
                                    std::vector<TokenId>& out) const {
  if (normalized_matcher_->empty()) return encode_plain(text, out);
  std::vector<TextSegment> segments;
  normalized_matcher_->split(text, {0, text.size()}, !recognize_special, segments);
  for (const TextSegment& seg : segments) {
    if (seg.token_id >= 0) out.push_back(static_cast<TokenId>(seg.token_id));
    else R1VK_TRY(encode_plain(text.substr(seg.span.begin, seg.span.end - seg.span.begin), out));
  }
  return ok_status();
}

Status Tokenizer::encode_plain(std::string_view text, std::vector<TokenId>& out) const {
  thread_local std::vector<Span> words;
  words.assign(1, Span{0, text.size()});
  if (text.empty()) return ok_status();
  R1VK_TRY(pre_tokenizer_->split(text, words));
  for (const Span& w : words) model_->encode_word(text.substr(w.begin, w.end - w.begin), out);
  return ok_status();
}

Result<std::vector<TokenId>> Tokenizer::encode_bytes(std::string_view bytes) const {
  std::vector<TokenId> out;
  size_t pos = 0;
  while (pos < bytes.size()) {
    // A maximal valid UTF-8 run goes through the pre-tokenizer; an invalid byte is its own word.
    size_t end = pos;
    while (end < bytes.size()) {
      const size_t len = utf8_sequence_length(bytes, end, nullptr);
      if (len == 0) break;
      end += len;
    }
    if (end > pos) {
      R1VK_TRY(encode_plain(bytes.substr(pos, end - pos), out));
      pos = end;
    } else {
      model_->encode_word(bytes.substr(pos, 1), out);
      ++pos;
    }
  }
  return out;
}

}  // namespace r1vk::text
