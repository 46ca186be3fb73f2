// A Hugging Face byte-level BPE tokenizer loaded from tokenizer.json (DeepSeek R1/V3, Qwen2/3,
// Llama 3): added tokens -> normalizer -> pre-tokenizer -> BPE for encoding, ByteLevel for
// decoding. The compiler can embed the tokenizer.json text in a plan and the runtime rebuild the
// tokenizer from it with from_json(). All methods are const and thread-safe.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"
#include "text/added_tokens.h"
#include "text/normalizer.h"
#include "text/token_id.h"
#include "text/tokenizer_config.h"

namespace r1vk::text {

class BpeModel;
class PreTokenizer;

struct EncodeOptions {
  bool add_bos = false;  // prepend the BOS token (error if the tokenizer has none)
  // Match added tokens marked special in the text (Hugging Face's default). False treats them as
  // plain text, e.g. for untrusted content; non-special added tokens are matched either way.
  bool recognize_special = true;
  // Match no added token at all, special or not: the text is only ever text. For untrusted pieces
  // of a prompt (chat message contents), so that "<｜User｜>" or "</think>" typed by a client
  // cannot become a control token. Overrides recognize_special.
  bool match_added_tokens = true;
  // Add the special tokens the tokenizer files ask for, as Hugging Face's tokenizer(text) does
  // (add_special_tokens=True): BOS when adds_bos(), EOS when adds_eos(). For raw text that is fed
  // to the model as a whole (r1vk run --raw, ppl); not for pieces of a larger prompt.
  bool add_special_tokens = false;
};

struct DecodeOptions {
  bool skip_special = false;  // drop added tokens marked special
  // Apply Hugging Face's clean_up_tokenization_spaces (" ." -> "." ...). Unset: the value from
  // tokenizer_config.json (false without one).
  std::optional<bool> clean_up_spaces;
};

class Tokenizer {
 public:
  // `tokenizer_json` is the text of tokenizer.json; `config_json` of tokenizer_config.json, or
  // empty when there is none.
  static Result<Tokenizer> from_json(std::string_view tokenizer_json, std::string_view config_json = {});
  // Loads tokenizer.json and, when present beside it, tokenizer_config.json.
  static Result<Tokenizer> from_file(const std::filesystem::path& tokenizer_json_path);
  // A checkpoint directory holding tokenizer.json.
  static Result<Tokenizer> from_directory(const std::filesystem::path& dir);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Encodes UTF-8 text with added tokens recognised in it; invalid UTF-8 is an error naming the
  // byte offset.
  Result<std::vector<TokenId>> encode(std::string_view text, EncodeOptions options = {}) const;
  // Encodes arbitrary bytes losslessly: no added-token matching, no normalisation; invalid UTF-8
  // bytes become single byte tokens. decode_bytes(encode_bytes(b)) == b for every b.
  Result<std::vector<TokenId>> encode_bytes(std::string_view bytes) const;

  // Decodes ids to UTF-8 text; invalid byte sequences become U+FFFD. Unknown ids are an error.
  Result<std::string> decode(std::span<const TokenId> ids, const DecodeOptions& options = {}) const;
  // The raw bytes of the ids, with no replacement or clean-up.
  Result<std::string> decode_bytes(std::span<const TokenId> ids, bool skip_special = false) const;

  // Raw bytes one token stands for (an added token's content); empty for an unknown id.
  std::string_view token_bytes(TokenId id) const;
  bool is_valid_id(TokenId id) const { return id < id_bytes_.size() && id_known_[id]; }
  bool is_special(TokenId id) const { return id < is_special_.size() && is_special_[id]; }
  // The id of a token given as written in tokenizer.json (added tokens by content first).
  std::optional<TokenId> find_token(std::string_view content) const;
  // One past the largest id.
  size_t id_limit() const { return id_bytes_.size(); }

  // Whether encoding with add_special_tokens adds BOS / EOS: tokenizer_config.json's
  // add_bos_token / add_eos_token, or when it does not say, whether tokenizer.json's
  // TemplateProcessing post-processor starts with BOS (Llama 3) / (EOS: never).
  bool adds_bos() const { return adds_bos_; }
  bool adds_eos() const { return adds_eos_; }

  std::optional<TokenId> bos_id() const { return bos_id_; }
  std::optional<TokenId> eos_id() const { return eos_id_; }
  const TokenizerConfig& config() const { return config_; }
  const std::vector<AddedToken>& added_tokens() const { return added_; }

 private:
  Tokenizer();
  Status encode_plain(std::string_view text, std::vector<TokenId>& out) const;
  Status encode_normalized(std::string_view text, bool recognize_special, std::vector<TokenId>& out) const;
  Status resolve_bos_eos(const nlohmann::json& post_processor);

  std::unique_ptr<BpeModel> model_;
  Normalizer normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::vector<AddedToken> added_;
  std::unique_ptr<AddedTokenMatcher> raw_matcher_;         // normalized == false: on input text
  std::unique_ptr<AddedTokenMatcher> normalized_matcher_;  // normalized == true: after normalising
  TokenizerConfig config_;
  std::vector<std::string> id_bytes_;  // decoded bytes of every id
  std::vector<bool> id_known_;
  std::vector<bool> is_special_;
  std::optional<TokenId> bos_id_;
  std::optional<TokenId> eos_id_;
  bool adds_bos_ = false;
  bool adds_eos_ = false;
};

// Hugging Face's clean_up_tokenization_spaces: removes the space before . ? ! , and before
// English contractions ('s 'm 've 're n't, and " ' " -> "'").
std::string clean_up_tokenization_spaces(std::string text);

}  // namespace r1vk::text
