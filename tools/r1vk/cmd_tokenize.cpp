// `r1vk tokenize`: text to token ids and back with a checkpoint's tokenizer.json.
#include <iostream>
#include <iterator>
#include <sstream>

#include "command.h"
#include "common_flags.h"
#include "token_list.h"
#include "load_tokenizer.h"
#include "text/tokenizer.h"

namespace r1vk::cli {
namespace {

struct TokenizeArgs {
  std::string model;
  std::string text;
  std::string ids;
  bool special = false;
  bool skip_special = false;
};

Result<std::vector<text::TokenId>> parse_ids(const std::string& list) {
  R1VK_ASSIGN_OR_RETURN(auto ids, parse_token_list(list, "--ids"));
  return std::vector<text::TokenId>(ids.begin(), ids.end());
}

Status run_tokenize(const TokenizeArgs& args, bool have_text, bool have_ids) {
  std::vector<text::TokenId> ids;
  if (have_ids) {  // usage errors come before the slow load
    R1VK_ASSIGN_OR_RETURN(ids, parse_ids(args.ids));
  }
  R1VK_ASSIGN_OR_RETURN(text::Tokenizer tok, load_tokenizer(args.model));
  if (have_ids) {
    text::DecodeOptions options;
    options.skip_special = args.skip_special;
    R1VK_ASSIGN_OR_RETURN(std::string decoded, tok.decode(ids, options));
    std::cout << decoded << '\n';
    return ok_status();
  }
  std::string input = args.text;
  if (!have_text) input.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  R1VK_ASSIGN_OR_RETURN(ids, tok.encode(input, {.add_bos = false, .recognize_special = true, .add_special_tokens = args.special}));
  for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? "," : "") << ids[i];
  std::cout << '\n';
  return ok_status();
}

}  // namespace

void add_tokenize_command(CLI::App& app, CommandFn& selected) {
  auto args = std::make_shared<TokenizeArgs>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Encode text to token ids, or decode ids to text");
  add_model_option(*cmd, args->model, "Checkpoint directory (with tokenizer.json), tokenizer.json file, or plan file")
      ->required();
  auto* text_opt = cmd->add_option("--text", args->text, "Text to encode (default: read stdin)");
  auto* ids_opt = cmd->add_option("--ids", args->ids, "Comma-separated token ids to decode, e.g. 1,2,3");
  text_opt->excludes(ids_opt);
  cmd->add_flag("--special", args->special,
                "When encoding, add the BOS/EOS tokenizer_config.json asks for (add_bos_token, add_eos_token), as Hugging "
                "Face's tokenizer(text) does");
  cmd->add_flag("--skip-special", args->skip_special, "When decoding, hide special tokens");
  cmd->callback([args, text_opt, ids_opt, &selected] {
    const bool have_text = text_opt->count() > 0;
    const bool have_ids = ids_opt->count() > 0;
    selected = [args, have_text, have_ids] { return run_tokenize(*args, have_text, have_ids); };
  });
}

}  // namespace r1vk::cli
