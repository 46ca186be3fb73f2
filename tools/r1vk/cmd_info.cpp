// `r1vk info DIR`: imports and validates a checkpoint (config, shard headers, tensor inventory;
// tensor data stays mapped and untouched) and prints its architecture and sizes.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "command.h"
#include "common_flags.h"
#include "plan/loaded_plan.h"
#include "plan/plan_dump.h"
#include "import/config_parser.h"
#include "import/model_stats.h"
#include "import/gguf_import.h"
#include "import/import_model.h"
#include "import/tensor_inventory.h"

namespace r1vk::cli {
namespace {

std::string bytes_text(uint64_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%llu bytes (%.2f GiB)", static_cast<unsigned long long>(bytes),
                static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

std::string params_text(uint64_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%llu (%.3f B)", static_cast<unsigned long long>(n), static_cast<double>(n) / 1e9);
  return buf;
}

// Why the MTP count differs from config.json's, or which MTP tensors are the main model's.
std::string mtp_note(const ImportedModel& m) {
  const ModelConfig& c = m.config;
  if (m.declared_mtp_layers != c.num_nextn_predict_layers) {
    return "; config.json declares " + std::to_string(m.declared_mtp_layers) + ", the checkpoint lacks the rest";
  }
  if (c.mtp_shares_embedding && c.mtp_shares_head) return "; embedding and head shared with the main model";
  if (c.mtp_shares_embedding) return "; embedding shared with the main model";
  if (c.mtp_shares_head) return "; head shared with the main model";
  return "";
}

void print_attention(const ModelConfig& c) {
  if (c.is_deepseek()) {
    std::printf("attention      MLA, %lld heads, q_lora_rank %lld, kv_lora_rank %lld, qk_nope %lld, qk_rope %lld, v %lld\n",
                static_cast<long long>(c.num_attention_heads), static_cast<long long>(c.mla.q_lora_rank),
                static_cast<long long>(c.mla.kv_lora_rank), static_cast<long long>(c.mla.qk_nope_head_dim),
                static_cast<long long>(c.mla.qk_rope_head_dim), static_cast<long long>(c.mla.v_head_dim));
  } else {
    std::printf("attention      GQA, %lld heads, %lld KV heads, head_dim %lld%s\n",
                static_cast<long long>(c.num_attention_heads), static_cast<long long>(c.num_key_value_heads),
                static_cast<long long>(c.head_dim), c.attention_qkv_bias ? ", q/k/v bias" : "");
  }
  if (c.moe.n_routed_experts > 0) {
    const char* methods[] = {"greedy", "group_limited_greedy", "noaux_tc"};
    std::printf("experts        %lld routed, %lld per token, %lld shared, %lld groups (top %lld), %s scoring, %s; "
                "first %lld layer(s) dense\n",
                static_cast<long long>(c.moe.n_routed_experts), static_cast<long long>(c.moe.num_experts_per_tok),
                static_cast<long long>(c.moe.n_shared_experts), static_cast<long long>(c.moe.n_group),
                static_cast<long long>(c.moe.topk_group),
                c.moe.scoring_func == ScoringFunc::kSigmoid ? "sigmoid" : "softmax",
                methods[static_cast<int>(c.moe.topk_method)], static_cast<long long>(c.moe.first_k_dense_replace));
  }
}

// A plan file: its summary, per-format tensor counts and quantisation errors.
Status run_plan_info(const std::string& path) {
  R1VK_ASSIGN_OR_RETURN(plan::LoadedPlan p, plan::LoadedPlan::open(path));
  const plan::Manifest& m = p.manifest();
  std::printf("%s", plan::summarize_plan(m).c_str());
  std::map<std::string, std::pair<uint64_t, double>> by_format;  // count, worst nmse
  for (const auto& t : m.tensors) {
    auto& e = by_format[weight_format_name(t.format)];
    e.first += 1;
    e.second = std::max(e.second, t.quant_nmse);
  }
  for (const auto& [fmt, e] : by_format) {
    std::printf("  %-4s %6llu tensors, worst normalised MSE %.3g\n", fmt.c_str(), static_cast<unsigned long long>(e.first), e.second);
  }
  std::printf("program: %zu ops (main)%s\n", m.main.ops.size(),
              m.mtp.ops.empty() ? ", no MTP program (multi-token prediction unavailable)"
                                : (", " + std::to_string(m.mtp.ops.size()) + " ops (MTP)").c_str());
  return ok_status();
}

void print_sizes(const ModelConfig& c);

// A GGUF file (or the first of its splits): the mapped config and its tensors by ggml type.
Status run_gguf_info(const std::string& path) {
  R1VK_ASSIGN_OR_RETURN(GgufImport model, import_gguf(path));
  const ModelConfig& c = model.config();
  R1VK_ASSIGN_OR_RETURN(std::string arch, model.files->metadata().string("general.architecture"));
  std::printf("gguf           %s (GGUF v%u, %zu file(s))\n", path.c_str(), model.files->files().front().version(),
              model.files->files().size());
  std::printf("architecture   %s -> %s (%s)\n", arch.c_str(), architecture_name(c.arch), model_type_name(c.arch));
  std::printf("layers         %lld\n", static_cast<long long>(c.num_hidden_layers));
  std::printf("hidden         %lld, dense intermediate %lld, vocab %lld\n", static_cast<long long>(c.hidden_size),
              static_cast<long long>(c.intermediate_size), static_cast<long long>(c.vocab_size));
  print_attention(c);
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_type;  // count, bytes
  for (const GgufFile& f : model.files->files()) {
    for (const GgufTensorInfo& t : f.tensors()) {
      auto& entry = by_type[ggml_type_name(t.type)];
      entry.first += 1;
      entry.second += t.bytes;
    }
  }
  std::printf("tensors        %zu\n", model.files->tensor_count());
  for (const auto& [type, entry] : by_type) {
    std::printf("  %-12s %llu tensors, %s\n", type.c_str(), static_cast<unsigned long long>(entry.first),
                bytes_text(entry.second).c_str());
  }
  std::printf("tokenizer      %s\n", model.tokenizer.tokenizer_json.empty() ? "none" : "gpt2 BPE from the GGUF metadata");
  print_sizes(c);
  return ok_status();
}

Status run_info(const std::string& dir) {
  std::error_code ec;
  if (is_gguf_file(dir)) return run_gguf_info(dir);
  if (std::filesystem::is_regular_file(dir, ec)) return run_plan_info(dir);
  auto model = import_model(dir);
  if (!model.ok()) return std::move(model).error();
  for (const std::string& w : model->warnings) std::fprintf(stderr, "r1vk: warning: %s\n", w.c_str());
  const ModelConfig& c = model->config;
  const Checkpoint& ck = model->checkpoint;
  std::printf("checkpoint     %s\n", dir.c_str());
  std::printf("architecture   %s (%s)%s\n", architecture_name(c.arch), model_type_name(c.arch),
              c.fp8.enabled ? ", FP8 e4m3 block-quantised" : "");
  std::printf("layers         %lld (+%lld MTP%s)\n", static_cast<long long>(c.num_hidden_layers),
              static_cast<long long>(c.num_nextn_predict_layers), mtp_note(*model).c_str());
  std::printf("hidden         %lld, dense intermediate %lld, vocab %lld\n", static_cast<long long>(c.hidden_size),
              static_cast<long long>(c.intermediate_size), static_cast<long long>(c.vocab_size));
  print_attention(c);

  const ParameterCounts p = count_parameters(c);
  std::printf("parameters     total %s\n", params_text(p.total).c_str());
  std::printf("               active per token %s\n", params_text(p.active).c_str());
  std::printf("               MTP layers %s\n", params_text(p.mtp).c_str());

  std::map<std::string, std::pair<uint64_t, uint64_t>> by_dtype;  // count, bytes
  for (const SafetensorsFile& shard : ck.shards()) {
    for (const TensorInfo& t : shard.tensors()) {
      auto& entry = by_dtype[dtype_name(t.dtype)];
      entry.first += 1;
      entry.second += t.data_end - t.data_begin;
    }
  }
  std::printf("tensors        %zu in %zu file(s)\n", ck.tensor_count(), ck.shards().size());
  for (const auto& [dtype, entry] : by_dtype) {
    std::printf("  %-12s %llu tensors, %s\n", dtype.c_str(), static_cast<unsigned long long>(entry.first),
                bytes_text(entry.second).c_str());
  }
  print_sizes(c);
  return ok_status();
}

void print_sizes(const ModelConfig& c) {
  const MemoryEstimate m = estimate_memory(c);
  std::printf("weights        f16 %s\n", bytes_text(m.f16).c_str());
  std::printf("               q8  %s\n", bytes_text(m.q8).c_str());
  std::printf("               q4  %s\n", bytes_text(m.q4).c_str());
  std::printf("               fp8 %s\n", bytes_text(m.fp8).c_str());
  std::printf("kv cache       %llu bytes per token (fp16)\n", static_cast<unsigned long long>(kv_cache_bytes_per_token(c)));
}

}  // namespace

void add_info_command(CLI::App& app, CommandFn& selected) {
  auto dir = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "info",
      "Validate a Hugging Face checkpoint directory, a GGUF file (or a compiled plan file) and print its architecture and sizes.\n"
      "Parameters: total = every weight of the main model (embeddings, layers, final norm, lm_head), without\n"
      "MTP layers and FP8 scales; active per token = total minus the routed experts, plus num_experts_per_tok\n"
      "routed experts per MoE layer (so dense, shared-expert, attention, embedding and head weights count fully).\n"
      "Weights memory (main model): 2-D tensors in the format (f16: 2 bytes; q8: 1 byte + fp16 scale per 32;\n"
      "q4: 0.5 byte + fp16 scale per 32; fp8: 1 byte + f32 scale per 128x128 block), 1-D tensors as f32.\n"
      "KV cache per token at fp16: MLA (kv_lora_rank + qk_rope_head_dim) x layers x 2 bytes;\n"
      "GQA 2 x kv_heads x head_dim x layers x 2 bytes.");
  add_model_option(*cmd, *dir, "Checkpoint directory (config.json, *.safetensors), GGUF file or plan file (.r1vk)")->required();
  cmd->callback([dir, &selected] { selected = [dir] { return run_info(*dir); }; });
}

}  // namespace r1vk::cli
