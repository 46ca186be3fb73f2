// `r1vk gen-checkpoint`: writes a synthetic Hugging Face checkpoint from a preset, optionally
// resized, FP8-quantised, with MTP layers and sharded.
#include <cstdio>
#include <string>

#include "command.h"
#include "common_flags.h"
#include "gen_checkpoint.h"
#include "gguf_writer.h"
#include "import/config_parser.h"
#include "presets.h"

namespace r1vk::cli {
namespace {

struct GenFlags {
  std::string preset = "tiny-r1";
  std::string out;
  uint64_t seed = 0;
  bool fp8 = false;
  int64_t mtp = -1;
  int64_t shards = 1;
  int64_t layers = 0;
  int64_t hidden = 0;
  int64_t intermediate = 0;
  int64_t vocab = 0;
  int64_t experts = 0;
  std::string gguf;
  std::string gguf_type = "f16";
  bool gguf_kv_b = false;
};

Status run_gen(const GenFlags& f) {
  auto preset = gen::preset_config(f.preset);
  if (!preset.ok()) return std::move(preset).error();
  ModelConfig c = *preset;
  if (f.layers > 0) c.num_hidden_layers = f.layers;
  if (f.hidden > 0) {
    c.hidden_size = f.hidden;
    if (!c.is_deepseek() && f.hidden % c.num_attention_heads == 0) c.head_dim = f.hidden / c.num_attention_heads;
  }
  if (f.intermediate > 0) c.intermediate_size = f.intermediate;
  if (f.vocab > 0) c.vocab_size = f.vocab;
  if (f.experts > 0) c.moe.n_routed_experts = f.experts;
  if (f.mtp >= 0) c.num_nextn_predict_layers = f.mtp;
  if (f.fp8) c.fp8.enabled = true;
  if (c.moe.first_k_dense_replace > c.num_hidden_layers) c.moe.first_k_dense_replace = c.num_hidden_layers;
  if (Status s = validate_model_config(c); !s.ok()) {
    return make_error(ErrorCode::kInvalidArgument, "preset " + f.preset + " with these flags: " + s.error().message());
  }
  gen::GenOptions options;
  options.config = c;
  options.seed = f.seed;
  options.shards = f.shards;
  auto summary = gen::generate_checkpoint(f.out, options);
  if (!summary.ok()) return std::move(summary).error();
  std::printf("wrote %s: %lld tensors, %llu bytes in %lld file(s)\n", f.out.c_str(),
              static_cast<long long>(summary->tensors), static_cast<unsigned long long>(summary->bytes),
              static_cast<long long>(summary->shards));
  if (f.gguf.empty()) return ok_status();
  gen::GgufConvertOptions g;
  g.weight_type = f.gguf_type == "q8_0"                             ? GgmlType::kQ8_0
                  : f.gguf_type == "q4_k" || f.gguf_type == "q4_k_m" ? GgmlType::kQ4_K
                  : f.gguf_type == "q6_k"                            ? GgmlType::kQ6_K
                  : f.gguf_type == "f32"                             ? GgmlType::kF32
                  : f.gguf_type == "bf16"                            ? GgmlType::kBF16
                                                                     : GgmlType::kF16;
  g.q4_k_m = f.gguf_type == "q4_k_m";
  g.split_kv_b = !f.gguf_kv_b;
  R1VK_TRY(gen::convert_checkpoint_to_gguf(f.out, f.gguf, g));
  std::printf("wrote %s (GGUF, %s)\n", f.gguf.c_str(), f.gguf_type.c_str());
  return ok_status();
}

}  // namespace

void add_gen_checkpoint_command(CLI::App& app, CommandFn& selected) {
  auto flags = std::make_shared<GenFlags>();
  std::string presets;
  for (const std::string& p : gen::preset_names()) presets += (presets.empty() ? "" : ", ") + p;
  CLI::App* cmd = app.add_subcommand("gen-checkpoint", "Write a synthetic Hugging Face checkpoint directory");
  cmd->add_option("--preset", flags->preset, "Model preset: " + presets)->capture_default_str();
  cmd->add_option("--out,-o", flags->out, "Output directory")->required();
  add_seed_option(*cmd, flags->seed, "Random seed");
  cmd->add_flag("--fp8", flags->fp8, "FP8 e4m3 linear weights with 128x128 block scales (DeepseekV3 only)");
  cmd->add_option("--mtp", flags->mtp, "Number of MTP layers (DeepseekV3 only; default: the preset's)")->check(CLI::Range(0, 16));
  cmd->add_option("--shards", flags->shards, "Number of safetensors shards (>1 writes an index)")->check(CLI::Range(1, 10000));
  cmd->add_option("--layers", flags->layers, "Override num_hidden_layers")->check(CLI::Range(1, 1024));
  cmd->add_option("--hidden", flags->hidden, "Override hidden_size")->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--intermediate", flags->intermediate, "Override intermediate_size")->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--vocab", flags->vocab, "Override vocab_size (>= 262)")->check(CLI::Range(262, 1 << 24));
  cmd->add_option("--experts", flags->experts, "Override n_routed_experts")->check(CLI::Range(1, 8192));
  cmd->add_option("--gguf", flags->gguf,
                  "Also convert the checkpoint into this GGUF file, with llama.cpp's conventions (docs/gguf.md)");
  cmd->add_option("--gguf-type", flags->gguf_type, "GGUF type of 2-D weights: f16, bf16, f32, q8_0, q4_k, q6_k or q4_k_m (Q4_K with Q6_K ffn_down, attn_v and output)")
      ->check(CLI::IsMember({"f16", "bf16", "f32", "q8_0", "q4_k", "q6_k", "q4_k_m"}))
      ->capture_default_str();
  cmd->add_flag("--gguf-kv-b", flags->gguf_kv_b, "DeepSeek: write the older single attn_kv_b instead of attn_k_b/attn_v_b");
  cmd->callback([flags, &selected] { selected = [flags] { return run_gen(*flags); }; });
}

}  // namespace r1vk::cli
