"""Exports a training checkpoint in DeepSeek-R1's Hugging Face layout:

  config.json              DeepseekV3ForCausalLM, every field R1's config has (minus
                           quantization_config and auto_map: these weights are plain bf16)
  generation_config.json   bos/eos ids; greedy (the accuracy in the README is greedy)
  model.safetensors        R1 tensor names, BF16 except mlp.gate.e_score_correction_bias (F32);
                           MTP module as layer num_hidden_layers, with copies of the embedding
                           (model.layers.N.embed_tokens.weight) and the output head
                           (model.layers.N.shared_head.head.weight)
  tokenizer.json, tokenizer_config.json

  /usr/bin/python3 tools/demo_model/export.py --ckpt build/demo_ckpt.pt --out models/r1vk-demo
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402
import safetensors_io  # noqa: E402
import tokenizer as tok  # noqa: E402


def hf_config(cfg):
    rs = cfg.rope_scaling
    return {
        "architectures": ["DeepseekV3ForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "aux_loss_alpha": 0.001,
        "bos_token_id": tok.BOS_ID,
        "eos_token_id": tok.EOS_ID,
        "ep_size": 1,
        "first_k_dense_replace": cfg.first_k_dense_replace,
        "hidden_act": "silu",
        "hidden_size": cfg.hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": cfg.intermediate_size,
        "kv_lora_rank": cfg.kv_lora_rank,
        "max_position_embeddings": cfg.max_position_embeddings,
        "model_type": "deepseek_v3",
        "moe_intermediate_size": cfg.moe_intermediate_size,
        "moe_layer_freq": 1,
        "n_group": cfg.n_group,
        "n_routed_experts": cfg.n_routed_experts,
        "n_shared_experts": cfg.n_shared_experts,
        "norm_topk_prob": cfg.norm_topk_prob,
        "num_attention_heads": cfg.num_attention_heads,
        "num_experts_per_tok": cfg.num_experts_per_tok,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_key_value_heads": cfg.num_attention_heads,
        "num_nextn_predict_layers": cfg.num_nextn_predict_layers,
        "pretraining_tp": 1,
        "q_lora_rank": cfg.q_lora_rank,
        "qk_nope_head_dim": cfg.qk_nope_head_dim,
        "qk_rope_head_dim": cfg.qk_rope_head_dim,
        "rms_norm_eps": cfg.rms_norm_eps,
        "rope_scaling": {
            "beta_fast": rs["beta_fast"],
            "beta_slow": rs["beta_slow"],
            "factor": rs["factor"],
            "mscale": rs["mscale"],
            "mscale_all_dim": rs["mscale_all_dim"],
            "original_max_position_embeddings": rs["original_max_position_embeddings"],
            "type": "yarn",
        },
        "rope_theta": cfg.rope_theta,
        "routed_scaling_factor": cfg.routed_scaling_factor,
        "scoring_func": "sigmoid",
        "seq_aux": True,
        "tie_word_embeddings": False,
        "topk_group": cfg.topk_group,
        "topk_method": "noaux_tc",
        "torch_dtype": "bfloat16",
        "transformers_version": "4.46.3",
        "use_cache": True,
        "v_head_dim": cfg.v_head_dim,
        "vocab_size": cfg.vocab_size,
    }


def config_from_hf(c):
    """DemoConfig from an exported config.json (used by evaluate.py)."""
    rs = dict(c["rope_scaling"])
    return M.DemoConfig(
        vocab_size=c["vocab_size"], hidden_size=c["hidden_size"],
        intermediate_size=c["intermediate_size"], moe_intermediate_size=c["moe_intermediate_size"],
        num_hidden_layers=c["num_hidden_layers"], num_attention_heads=c["num_attention_heads"],
        q_lora_rank=c["q_lora_rank"], kv_lora_rank=c["kv_lora_rank"],
        qk_nope_head_dim=c["qk_nope_head_dim"], qk_rope_head_dim=c["qk_rope_head_dim"],
        v_head_dim=c["v_head_dim"], n_routed_experts=c["n_routed_experts"],
        n_shared_experts=c["n_shared_experts"], num_experts_per_tok=c["num_experts_per_tok"],
        n_group=c["n_group"], topk_group=c["topk_group"],
        routed_scaling_factor=c["routed_scaling_factor"], norm_topk_prob=c["norm_topk_prob"],
        first_k_dense_replace=c["first_k_dense_replace"],
        num_nextn_predict_layers=c["num_nextn_predict_layers"], rms_norm_eps=c["rms_norm_eps"],
        rope_theta=c["rope_theta"], max_position_embeddings=c["max_position_embeddings"],
        rope_scaling=rs)


def export_tensors(model):
    cfg = model.cfg
    n = cfg.num_hidden_layers
    out = {}
    for name, t in model.state_dict().items():
        dtype = "F32" if name.endswith("e_score_correction_bias") else "BF16"
        out[name] = (t, dtype)
    # R1 stores the MTP module's embedding and head as its own tensors.
    out[f"model.layers.{n}.embed_tokens.weight"] = (model.model.embed_tokens.weight, "BF16")
    out[f"model.layers.{n}.shared_head.head.weight"] = (model.lm_head.weight, "BF16")
    return out


def load_checkpoint(path):
    ck = torch.load(path, map_location="cpu")
    cfg = M.DemoConfig(**ck["config"])
    model = M.DeepseekV3(cfg)
    model.load_state_dict(ck["state_dict"])
    model.eval()
    return model, ck


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    model, ck = load_checkpoint(args.ckpt)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(hf_config(model.cfg), f, indent=2)
        f.write("\n")
    with open(os.path.join(args.out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": tok.BOS_ID, "eos_token_id": tok.EOS_ID, "do_sample": False,
                   "transformers_version": "4.46.3"}, f, indent=2)
        f.write("\n")
    safetensors_io.save(os.path.join(args.out, "model.safetensors"), export_tensors(model),
                        {"format": "pt"})
    tok.write_tokenizer_files(args.out)
    print(f"exported step {ck['step']} ({M.count_parameters(model)} parameters) to {args.out}")


if __name__ == "__main__":
    main()
