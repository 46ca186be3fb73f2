"""Trains the demo model (main next-token loss + MTP next-next-token loss) on generated
arithmetic problems. Deterministic for a given seed, thread count and BLAS library.

  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/demo_model/train.py --out build/demo_ckpt.pt

Router balancing is DeepSeek-V3's auxiliary-loss-free rule: after every step each MoE layer's
e_score_correction_bias moves by bias_update_speed * sign(mean load - expert load), so
under-used experts become more likely to be selected; gradients never touch the bias.
"""
import argparse
import json
import math
import os
import random
import shutil
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import evaluate  # noqa: E402
import generate  # noqa: E402
import model as M  # noqa: E402
import phrasing  # noqa: E402
import tokenizer as tok  # noqa: E402

VALID_SEED = 777  # small validation set for progress logs (the test set is never used here)


def make_batches(stream, batch_size, pool_batches, rng):
    """Draw pool_batches*batch_size (question, completion) texts, sort by length so batches
    pad little, shuffle."""
    exs = [data.encode_text_example(*next(stream)) for _ in range(batch_size * pool_batches)]
    exs.sort(key=lambda e: len(e[0]))
    batches = [exs[i:i + batch_size] for i in range(0, len(exs), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(batch):
    T = max(len(ids) for ids, _ in batch)
    x = torch.full((len(batch), T), tok.EOS_ID, dtype=torch.long)
    main_t = torch.full((len(batch), T - 1), -100, dtype=torch.long)
    mtp_t = torch.full((len(batch), T - 2), -100, dtype=torch.long)
    for i, (ids, start) in enumerate(batch):
        n = len(ids)
        t = torch.tensor(ids)
        x[i, :n] = t
        # position j predicts ids[j+1]; only completion tokens are targets
        main_t[i, start - 1:n - 1] = t[start:n]
        # MTP slot j predicts ids[j+2]
        mtp_t[i, start - 2:n - 2] = t[start:n]
    return x, main_t, mtp_t


def update_router_bias(model, speed):
    for moe in model.moe_layers():
        load = moe.last_load.float()
        moe.gate.e_score_correction_bias += speed * torch.sign(load.mean() - load)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--stop-after", type=int, default=0,
                    help="end after this many steps of the --steps schedule (0: run it all)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--mtp-weight", type=float, default=0.3)
    ap.add_argument("--bias-speed", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--eval-count", type=int, default=200)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--config", default="", help="JSON overrides of DemoConfig fields")
    ap.add_argument("--init", default="", help="start from this checkpoint's (.pt) or exported "
                    "model directory's weights and router biases (a second stage with its own "
                    "schedule; the data stream uses --seed)")
    ap.add_argument("--format", choices=data.FORMATS, default=data.FORMAT,
                    help="reasoning format of the training and validation texts (data.py)")
    ap.add_argument("--phrasing", choices=("canonical", "mixed"), default="canonical",
                    help="questions as 'What is A + B?' only (stages 1, 2) or phrasing.py's "
                    "grammar mixed with non-arithmetic questions (stage 3)")
    ap.add_argument("--canonical-frac", type=float, default=0.3,
                    help="with --phrasing mixed: share of canonical questions")
    ap.add_argument("--other-frac", type=float, default=0.1,
                    help="with --phrasing mixed: share of non-arithmetic questions")
    ap.add_argument("--out", required=True, help="checkpoint path (.pt)")
    args = ap.parse_args()

    data.FORMAT = args.format
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    overrides = json.loads(args.config) if args.config else {}
    cfg = M.DemoConfig(vocab_size=tok.VOCAB_SIZE, **overrides)
    model = M.DeepseekV3(cfg)
    if args.init and os.path.isdir(args.init):
        exported, _ = evaluate.load_exported(args.init)  # BF16 weights widened to f32
        if exported.cfg.to_dict() != cfg.to_dict():
            raise SystemExit(f"--init {args.init}: config differs from this run's")
        model.load_state_dict(exported.state_dict())
        model.train()
    elif args.init:
        init = torch.load(args.init, map_location="cpu")
        if init["config"] != cfg.to_dict():
            raise SystemExit(f"--init {args.init}: config differs from this run's")
        model.load_state_dict(init["state_dict"])
    print(f"params {M.count_parameters(model)}  config {json.dumps(cfg.to_dict())}", flush=True)

    test = set(data.test_problems())
    valid_rng = random.Random(VALID_SEED)
    valid = []
    while len(valid) < args.eval_count:
        p = data.sample_problem(valid_rng)
        if p not in test:
            valid.append(p)
    valid = [(data.question(*p), str(data.answer_value(*p)), data.kind(*p)) for p in valid]
    if args.phrasing == "canonical":
        stream = data.canonical_text_stream(args.seed, test)
    else:
        held_problems, held_questions = data.heldout_exclusions()
        stream = data.mixed_text_stream(args.seed, held_problems, held_questions,
                                        args.canonical_frac, args.other_frac)
        # progress only: validation questions may also occur in training
        for _ in range(args.eval_count // 2):
            p = data.sample_problem(valid_rng)
            valid.append((phrasing.phrase(*p, valid_rng), str(data.answer_value(*p)), "phrased"))
        for _ in range(args.eval_count // 4):
            valid.append((phrasing.not_arithmetic(valid_rng), phrasing.NOT_ARITHMETIC_ANSWER,
                          data.NOT_ARITHMETIC_KIND))

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() == 2 and "embed" not in name else no_decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))

    def lr_at(step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        prog = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * prog)))

    batches = []
    t0 = time.time()
    acc_loss = acc_mtp = acc_tok = acc_n = 0.0
    last = args.stop_after if 0 < args.stop_after < args.steps else args.steps
    for step in range(last):
        if not batches:
            batches = make_batches(stream, args.batch, 16, rng)
        x, main_t, mtp_t = collate(batches.pop())
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        logits, mtp_logits = model(x)
        V = logits.shape[-1]
        loss_main = F.cross_entropy(logits[:, :-1].reshape(-1, V), main_t.reshape(-1))
        loss_mtp = F.cross_entropy(mtp_logits[:, :-1].reshape(-1, V), mtp_t.reshape(-1))
        loss = loss_main + args.mtp_weight * loss_mtp
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            update_router_bias(model, args.bias_speed)
            mask = main_t != -100
            tok_acc = ((logits[:, :-1].argmax(-1) == main_t) & mask).sum() / mask.sum()
        acc_loss += loss_main.item()
        acc_mtp += loss_mtp.item()
        acc_tok += tok_acc.item()
        acc_n += 1
        if (step + 1) % args.log_every == 0:
            print(f"step {step + 1} loss {acc_loss / acc_n:.4f} mtp_loss {acc_mtp / acc_n:.4f} "
                  f"tok_acc {acc_tok / acc_n:.4f} lr {lr_at(step):.2e} "
                  f"elapsed {time.time() - t0:.0f}s", flush=True)
            acc_loss = acc_mtp = acc_tok = acc_n = 0.0
        if (step + 1) % args.eval_every == 0 or step + 1 == last:
            r = generate.evaluate_items(model, valid, show_errors=2)
            loads = [m.last_load.tolist() for m in model.moe_layers()]
            kinds = " ".join(f"[{k}: {t['correct']}/{t['total']}]" for k, t in r["by_kind"].items())
            print(f"eval step {step + 1} valid_acc {r['accuracy']:.4f} {kinds} "
                  f"mtp_accept {r['mtp_acceptance']:.4f} loads {loads} "
                  f"elapsed {time.time() - t0:.0f}s", flush=True)
            for p, o in r["errors"]:
                print("  wrong:", p, repr(o[-60:]), flush=True)
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            torch.save({"config": cfg.to_dict(), "state_dict": model.state_dict(),
                        "step": step + 1, "args": vars(args),
                        "train_seconds": time.time() - t0}, args.out)
            shutil.copyfile(args.out, f"{args.out}.step{step + 1}")
    print(f"done {last} steps in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
