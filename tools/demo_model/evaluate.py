"""Greedy-decodes the held-out questions (data.heldout_items(): 500 canonical problems, then
the other phrasings and non-arithmetic questions) with the PyTorch model rebuilt FROM THE EXPORTED
FILES (config.json + model.safetensors, BF16 weights widened exactly to f32, math in f32), and
reports answer accuracy per kind / phrasing and the MTP draft acceptance rate. With --ckpt it also reports the f32
training checkpoint's numbers, for comparison with the bf16-rounded export.

  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/demo_model/evaluate.py --model models/r1vk-demo
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import export  # noqa: E402
import generate  # noqa: E402
import model as M  # noqa: E402
import safetensors_io  # noqa: E402


def load_exported(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        hf = json.load(f)
    if hf.get("architectures") != ["DeepseekV3ForCausalLM"]:
        raise ValueError(f"{model_dir}/config.json: not a DeepseekV3ForCausalLM")
    cfg = export.config_from_hf(hf)
    model = M.DeepseekV3(cfg)
    tensors, dtypes = safetensors_io.load(os.path.join(model_dir, "model.safetensors"))
    n = cfg.num_hidden_layers
    emb_copy = tensors.pop(f"model.layers.{n}.embed_tokens.weight")
    head_copy = tensors.pop(f"model.layers.{n}.shared_head.head.weight")
    if not torch.equal(emb_copy, tensors["model.embed_tokens.weight"]):
        raise ValueError("MTP embed_tokens copy differs from model.embed_tokens.weight")
    if not torch.equal(head_copy, tensors["lm_head.weight"]):
        raise ValueError("MTP shared_head.head copy differs from lm_head.weight")
    expected = set(model.state_dict().keys())
    if set(tensors) != expected:
        raise ValueError(f"tensor names differ: missing {sorted(expected - set(tensors))[:5]}, "
                         f"unexpected {sorted(set(tensors) - expected)[:5]}")
    model.load_state_dict(tensors)
    model.eval()
    return model, dtypes


def report(label, model, items, show_errors):
    t0 = time.time()
    r = generate.evaluate_items(model, items, show_errors=show_errors)
    print(f"{label}: accuracy {r['accuracy']:.4f} ({r['correct']}/{r['total']}), "
          f"MTP draft acceptance {r['mtp_acceptance']:.4f} over {r['mtp_drafts']} drafts, "
          f"{time.time() - t0:.0f}s", flush=True)
    canonical = [ok for i, ok in r["outcome"].items() if i < data.TEST_COUNT]
    print(f"  canonical phrasing (first {data.TEST_COUNT}): {sum(canonical)}/{len(canonical)}")
    for kind, t in r["by_kind"].items():
        print(f"  {kind}: {t['correct']}/{t['total']}")
    for q, o in r["errors"]:
        print(f"  wrong: {q} -> {o!r}")
    return r
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="exported model directory")
    ap.add_argument("--ckpt", default="", help="also evaluate this f32 training checkpoint")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--show-errors", type=int, default=10)
    ap.add_argument("--json", default="", help="write the numbers here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    problems = data.heldout_items()
    results = {}
    model, _ = load_exported(args.model)
    results["exported_bf16"] = report("exported bf16 weights, f32 math", model, problems,
                                      args.show_errors)
    if args.ckpt:
        ck_model, _ = export.load_checkpoint(args.ckpt)
        results["checkpoint_f32"] = report("training checkpoint, f32 weights", ck_model,
                                           problems, args.show_errors)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({k: {kk: vv for kk, vv in v.items() if kk not in ("errors", "outcome")}
                       for k, v in results.items()}, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
