#include "tokenizer_writer.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <utility>

namespace r1vk::gen {
namespace {

constexpr int64_t kSpecialCount = 6;

// Original sample text for learning merges (letters, digits, punctuation, newlines).
constexpr const char* kSample =
    "The model reads the question, thinks step by step, and then writes the answer.\n"
    "When the answer is a number, it is put in a box: 12 + 30 = 42, and 7 * 6 = 42 as well.\n"
    "Reasoning is the process of drawing conclusions from what is known; the model shows the "
    "reasoning between the think tags and then gives a short answer to the user.\n"
    "There are three things to check in every solution: the question, the method and the result. "
    "If the result does not match the question, then the method is wrong and the model tries again.\n"
    "In the beginning there was a small tokenizer with only a few merges, and it was enough for tests.\n"
    "Print the sum of the first 100 numbers: the answer is 5050. Then print the product of 3 and 4.\n"
    "def add(a, b):\n    return a + b\n\nfor i in range(10):\n    print(add(i, i))\n";

// Pieces for learning: a run of letters with an optional leading space, a run of digits, or one
// other byte; the same classes the Split pre-tokenizer produces for this text.
std::vector<std::string> pieces(const std::string& text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    if (text[j] == ' ' && j + 1 < text.size() && std::isalpha(static_cast<unsigned char>(text[j + 1]))) ++j;
    if (std::isalpha(static_cast<unsigned char>(text[j]))) {
      while (j < text.size() && std::isalpha(static_cast<unsigned char>(text[j]))) ++j;
    } else if (std::isdigit(static_cast<unsigned char>(text[j]))) {
      while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j])) && j - i < 3) ++j;
    } else {
      ++j;
    }
    out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

using Word = std::vector<std::string>;  // a piece as a sequence of token strings

std::vector<std::pair<std::string, std::string>> learn_merges(int64_t max_merges) {
  std::map<Word, int64_t> words;
  for (const std::string& p : pieces(kSample)) {
    Word w;
    for (char ch : p) w.push_back(byte_to_unicode(static_cast<uint8_t>(ch)));
    ++words[w];
  }
  std::vector<std::pair<std::string, std::string>> merges;
  while (static_cast<int64_t>(merges.size()) < max_merges) {
    std::map<std::pair<std::string, std::string>, int64_t> pairs;
    for (const auto& [w, n] : words)
      for (size_t k = 0; k + 1 < w.size(); ++k) pairs[{w[k], w[k + 1]}] += n;
    if (pairs.empty()) break;
    // Most frequent pair; ties go to the smallest pair, so the result is deterministic.
    auto best = pairs.begin();
    for (auto it = pairs.begin(); it != pairs.end(); ++it)
      if (it->second > best->second) best = it;
    const auto [a, b] = best->first;
    merges.emplace_back(a, b);
    std::map<Word, int64_t> merged;
    for (const auto& [w, n] : words) {
      Word nw;
      for (size_t k = 0; k < w.size(); ++k) {
        if (k + 1 < w.size() && w[k] == a && w[k + 1] == b) {
          nw.push_back(a + b);
          ++k;
        } else {
          nw.push_back(w[k]);
        }
      }
      merged[nw] += n;
    }
    words = std::move(merged);
  }
  return merges;
}

Json added_token(int64_t id, const char* content, bool special) {
  return {{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
          {"normalized", false}, {"special", special}};
}

// Split: contractions, letter runs with one optional leading non-letter, 1-3 digits, punctuation
// runs, newlines, whitespace (the common Llama-3 style pattern).
constexpr const char* kSplitPattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// Keeps the text after </think> in past assistant turns (MODEL_SPEC.md §4).
constexpr const char* kChatTemplate =
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'system' %}{{ message['content'] }}"
    "{% elif message['role'] == 'user' %}{{ '<\xEF\xBD\x9CUser\xEF\xBD\x9C>' + message['content'] }}"
    "{% elif message['role'] == 'assistant' %}{% set content = message['content'] %}"
    "{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}"
    "{{ '<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C>' + content + eos_token }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C><think>\\n' }}{% endif %}";

}  // namespace

std::string byte_to_unicode(uint8_t b) {
  auto printable = [](int c) { return (c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255); };
  int cp = b;
  if (!printable(b)) {
    int n = 0;
    for (int c = 0; c < b; ++c) n += printable(c) ? 0 : 1;
    cp = 256 + n;
  }
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

Result<TokenizerSpec> make_tokenizer(int64_t vocab_size, int64_t max_merges, int64_t model_max_length) {
  if (vocab_size < 256 + kSpecialCount) {
    return make_error(ErrorCode::kInvalidArgument, "vocab_size " + std::to_string(vocab_size) +
                                                       " is below 262, the generated tokenizer's minimum");
  }
  Json vocab = Json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_to_unicode(static_cast<uint8_t>(b))] = b;
  Json merges = Json::array();
  int64_t next = 256;
  for (const auto& [a, b] : learn_merges(std::min(max_merges, vocab_size - 256 - kSpecialCount))) {
    merges.push_back(a + " " + b);
    if (!vocab.contains(a + b)) vocab[a + b] = next++;
  }
  TokenizerSpec spec;
  spec.bos_id = next;
  spec.eos_id = next + 1;
  Json added = Json::array();
  const std::pair<const char*, bool> specials[] = {{kBosToken, true},       {kEosToken, true},
                                                   {kUserToken, true},      {kAssistantToken, true},
                                                   {kThinkToken, false},    {kEndThinkToken, false}};
  for (const auto& [content, special] : specials) {
    added.push_back(added_token(next, content, special));
    vocab[content] = next++;
  }
  spec.token_count = next;

  const Json bos_piece = {{"SpecialToken", {{"id", kBosToken}, {"type_id", 0}}}};
  spec.tokenizer = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", kSplitPattern}}}, {"behavior", "Isolated"}, {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}}}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {bos_piece, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"pair", {bos_piece, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}, bos_piece,
                  {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
        {"special_tokens", {{kBosToken, {{"id", kBosToken}, {"ids", {spec.bos_id}}, {"tokens", {kBosToken}}}}}}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", false},
        {"vocab", vocab}, {"merges", merges}}}};
  spec.tokenizer_config = {{"add_bos_token", true},
                           {"add_eos_token", false},
                           {"bos_token", kBosToken},
                           {"eos_token", kEosToken},
                           {"pad_token", kEosToken},
                           {"unk_token", nullptr},
                           {"clean_up_tokenization_spaces", false},
                           {"legacy", true},
                           {"model_max_length", model_max_length},
                           {"tokenizer_class", "LlamaTokenizerFast"},
                           {"chat_template", kChatTemplate}};
  return spec;
}

}  // namespace r1vk::gen
