#include "import/gguf_tokenizer.h"

#include <nlohmann/json.hpp>

namespace r1vk {
namespace {

using nlohmann::json;

constexpr int64_t kTokenNormal = 1;
constexpr int64_t kTokenUnknown = 2;
constexpr int64_t kTokenControl = 3;
constexpr int64_t kTokenUserDefined = 4;
constexpr int64_t kTokenUnused = 5;
constexpr int64_t kTokenByte = 6;

json split(const std::string& regex) {
  return {{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}};
}

json byte_level() { return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}; }

// The split regexes of each pre-tokenizer, as the model families' tokenizer.json files define
// them (llama.cpp's tokenizer.ggml.pre names them; llama-vocab.cpp lists the same expressions).
Result<json> pre_tokenizer(const std::string& pre) {
  json steps = json::array();
  if (pre == "deepseek-v3") {
    steps.push_back(split("\\p{N}{1,3}"));
    steps.push_back(split("[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+"));
    steps.push_back(split(
        "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|"
        "\\s*[\r\n]+|\\s+(?!\\S)|\\s+"));
  } else if (pre == "llama-bpe") {
    steps.push_back(split(
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
        "\\s+(?!\\S)|\\s+"));
  } else if (pre == "qwen2" || pre == "deepseek-r1-qwen") {  // the R1 Qwen distills keep Qwen's tokenizer
    steps.push_back(split(
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
        "\\s+(?!\\S)|\\s+"));
  } else if (pre == "deepseek-llm") {
    // Letter ranges as DeepSeek LLM's tokenizer.json has them; the escaped code points are the
    // compatibility characters (Greek oxia vowels, OHM and KELVIN signs) that Unicode
    // normalisation would fold into other characters, breaking the ranges.
    steps.push_back(split("[\r\n]"));
    steps.push_back(split(
        "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\u1F7Dᾀ-ᾴᾶ-ᾼ\u1FBEῂ-ῄῆ-ῌῐ-\u1FD3ῖ-\u1FDBῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-"
        "ℓℕℙ-ℝℤ\u2126ℨ\u212A-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+"));
    steps.push_back(split("\\s?[!-/:-~！-／：-～‘-‟　-。]+"));
    steps.push_back(split("\\s+$"));
    steps.push_back(split("[一-龥ࠀ-一가-퟿]+"));
    steps.push_back(split("\\p{N}+"));
  } else {
    return gguf_key_error("tokenizer.ggml.pre", "'" + pre + "' is not supported (deepseek-v3, deepseek-llm, qwen2, deepseek-r1-qwen, llama-bpe)",
                          ErrorCode::kUnsupported);
  }
  steps.push_back(byte_level());
  return json{{"type", "Sequence"}, {"pretokenizers", steps}};
}

}  // namespace

Result<GgufTokenizerJson> gguf_tokenizer_json(const GgufMetadata& md) {
  GgufTokenizerJson out;
  if (!md.has("tokenizer.ggml.model")) return out;
  R1VK_ASSIGN_OR_RETURN(std::string model, md.string("tokenizer.ggml.model"));
  if (model != "gpt2") {
    return gguf_key_error("tokenizer.ggml.model", "'" + model + "' is not supported (only gpt2, byte-level BPE)",
                          ErrorCode::kUnsupported);
  }
  R1VK_ASSIGN_OR_RETURN(std::string pre, md.string_or("tokenizer.ggml.pre", "default"));
  R1VK_ASSIGN_OR_RETURN(json pre_json, pre_tokenizer(pre));
  R1VK_ASSIGN_OR_RETURN(const std::vector<std::string>* tokens, md.string_array("tokenizer.ggml.tokens"));
  std::vector<int64_t> types(tokens->size(), kTokenNormal);
  if (md.has("tokenizer.ggml.token_type")) {
    R1VK_ASSIGN_OR_RETURN(types, md.integer_array("tokenizer.ggml.token_type"));
    if (types.size() != tokens->size()) {
      return gguf_key_error("tokenizer.ggml.token_type", std::to_string(types.size()) + " entries for " +
                                                             std::to_string(tokens->size()) + " tokens");
    }
  }
  R1VK_ASSIGN_OR_RETURN(const std::vector<std::string>* merges, md.string_array("tokenizer.ggml.merges"));

  json vocab = json::object();
  json added = json::array();
  for (size_t id = 0; id < tokens->size(); ++id) {
    const std::string& text = (*tokens)[id];
    switch (types[id]) {
      case kTokenNormal:
      case kTokenUnknown:
      case kTokenByte: vocab[text] = id; break;
      case kTokenControl:
      case kTokenUserDefined:
        if (text.empty()) return gguf_key_error("tokenizer.ggml.tokens", "token " + std::to_string(id) + " is empty");
        added.push_back({{"id", id}, {"content", text}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                         {"normalized", false}, {"special", types[id] == kTokenControl}});
        break;
      case kTokenUnused: break;
      default:
        return gguf_key_error("tokenizer.ggml.token_type", "token " + std::to_string(id) + " has unknown type " +
                                                               std::to_string(types[id]));
    }
  }
  json tok = {
      {"version", "1.0"},
      {"added_tokens", added},
      // Qwen2's tokenizer.json NFC-normalises its input; the others have no normalizer.
      {"normalizer", pre == "qwen2" || pre == "deepseek-r1-qwen" ? json{{"type", "NFC"}} : json(nullptr)},
      {"pre_tokenizer", pre_json},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
        // Llama 3's BPE takes a word that is itself a vocabulary entry whole (llama.cpp does too).
        {"ignore_merges", pre == "llama-bpe"}, {"vocab", vocab}, {"merges", *merges}}},
  };
  json cfg = json::object();
  auto token_at = [&](const char* key) -> Result<json> {
    if (!md.has(key)) return json(nullptr);
    R1VK_ASSIGN_OR_RETURN(int64_t id, md.integer(key, 0, static_cast<int64_t>(tokens->size()) - 1));
    return json((*tokens)[static_cast<size_t>(id)]);
  };
  R1VK_ASSIGN_OR_RETURN(json bos, token_at("tokenizer.ggml.bos_token_id"));
  R1VK_ASSIGN_OR_RETURN(json eos, token_at("tokenizer.ggml.eos_token_id"));
  if (!bos.is_null()) cfg["bos_token"] = bos;
  if (!eos.is_null()) cfg["eos_token"] = eos;
  R1VK_ASSIGN_OR_RETURN(bool add_bos, md.boolean_or("tokenizer.ggml.add_bos_token", false));
  cfg["add_bos_token"] = add_bos;
  cfg["clean_up_tokenization_spaces"] = false;
  R1VK_ASSIGN_OR_RETURN(std::string chat_template, md.string_or("tokenizer.chat_template", ""));
  if (!chat_template.empty()) cfg["chat_template"] = chat_template;
  // Token texts come from the file: invalid UTF-8 is replaced rather than thrown on.
  out.tokenizer_json = tok.dump(-1, ' ', false, json::error_handler_t::replace);
  out.tokenizer_config_json = cfg.dump(-1, ' ', false, json::error_handler_t::replace);
  return out;
}

}  // namespace r1vk
