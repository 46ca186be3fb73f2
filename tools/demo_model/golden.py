"""Writes golden logits of the exported demo model for the runtime to match
(tests/data/demo_logits/, format in docs/demo_model.md):

  golden.json        token ids, prompt length, greedy continuation, argmaxes, routing choices
  main_logits.f32    [T, V] little-endian float32: main-model logits at every position of
                     tokens = prompt + greedy continuation (position t scores token t+1)
  mtp_logits.f32     [T-1, V] little-endian float32: MTP draft logits for slot t = 0..T-2,
                     fed (token t+1, main normed hidden h_t) at RoPE position t; slot P-1 is the
                     draft made right after the prompt (given the first greedy token)

Computed with the PyTorch model rebuilt from the exported files: BF16 weights widened exactly
to f32, every operation in f32 (RoPE angles in f64, then cos/sin rounded to f32).

  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/demo_model/golden.py \
      --model models/r1vk-demo --out tests/data/demo_logits
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import evaluate  # noqa: E402
import generate  # noqa: E402
import tokenizer as tok  # noqa: E402

GOLDEN_PROBLEM = (31415, "-", 92653)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, _ = evaluate.load_exported(args.model)
    prompt_text = data.prompt_text(*GOLDEN_PROBLEM)
    prompt = tok.encode(prompt_text)
    outs, _, _ = generate.greedy_batch(model, [prompt], max_new=300)
    greedy = outs[0]
    tokens = prompt + greedy
    routing = []
    hooks = []
    for moe in model.moe_layers():   # main MoE layers in order, then the MTP layer
        hooks.append(moe.gate.register_forward_hook(
            lambda mod, inp, out: routing.append(out[0].tolist())))
    with torch.no_grad():
        x = torch.tensor([tokens])
        main_logits, hn = model.forward_main(x)
        mtp_logits = model.forward_mtp(x[:, 1:], hn[:, :-1])
    for h in hooks:
        h.remove()
    main = main_logits[0].numpy().astype("<f4")
    mtp = mtp_logits[0].numpy().astype("<f4")
    os.makedirs(args.out, exist_ok=True)
    main.tofile(os.path.join(args.out, "main_logits.f32"))
    mtp.tofile(os.path.join(args.out, "mtp_logits.f32"))
    P = len(prompt)
    n_main = model.cfg.num_hidden_layers
    moe_layer_ids = [i for i in range(n_main + 1) if i >= model.cfg.first_k_dense_replace]
    meta = {
        "problem": data.question(*GOLDEN_PROBLEM),
        "prompt_text": prompt_text,
        "expected_answer": data.answer_value(*GOLDEN_PROBLEM),
        "greedy_text": tok.decode(greedy),
        "tokens": tokens,
        "prompt_length": P,
        "greedy_continuation": greedy,
        "vocab_size": int(main.shape[1]),
        "main_logits": {"file": "main_logits.f32", "shape": list(main.shape),
                        "dtype": "float32 little-endian, row-major",
                        "sha256": hashlib.sha256(main.tobytes()).hexdigest()},
        "mtp_logits": {"file": "mtp_logits.f32", "shape": list(mtp.shape),
                       "dtype": "float32 little-endian, row-major",
                       "sha256": hashlib.sha256(mtp.tobytes()).hexdigest()},
        "main_argmax": main.argmax(-1).tolist(),
        "mtp_argmax": mtp.argmax(-1).tolist(),
        "mtp_draft_after_prompt": {"slot": P - 1, "argmax": int(mtp[P - 1].argmax())},
        "routing_layers": moe_layer_ids,
        "routing_topk": routing,
        "notes": ("main_logits[t] scores tokens[t+1]; mtp_logits[t] scores tokens[t+2] given "
                  "tokens[t+1] and main normed hidden h_t at RoPE position t (embedding zeroed "
                  "at position 0); routing_topk[l][t] = expert ids chosen (selection order) in "
                  "MoE layer routing_layers[l] at position t (MTP layer last)."),
    }
    # The cached decode and the full teacher-forced pass must agree (proves the KV-cache path).
    if meta["main_argmax"][P - 1:len(tokens) - 1] != greedy:
        raise SystemExit("cached greedy decode disagrees with the full forward pass")
    with open(os.path.join(args.out, "golden.json"), "w", encoding="utf-8") as f:
        f.write("{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}"
                                    for k, v in meta.items()) + "\n}\n")
    correct = data.parse_answer(tok.decode(greedy)) == meta["expected_answer"]
    print(f"golden: {len(tokens)} tokens (prompt {P}), answer correct: {correct}")
    print(tok.decode(greedy))


if __name__ == "__main__":
    main()
