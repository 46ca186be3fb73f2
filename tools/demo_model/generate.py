"""Greedy decoding with KV caches for the main model and the MTP module, and the held-out
accuracy / MTP draft-acceptance measurement shared by train.py and evaluate.py."""
from collections import defaultdict

import torch

import data
import tokenizer as tok


@torch.no_grad()
def greedy_batch(model, prompts, max_new=200):
    """prompts: list of equal-length id lists. Returns (outputs, drafts_made, drafts_accepted).

    MTP drafting follows MODEL_SPEC §3: after the main model has produced normed hidden h_t and
    the greedy token t+1, the MTP module sees (embed[t+1], h_t) at RoPE position t and drafts
    token t+2; a draft is accepted when it equals the main model's next greedy token."""
    cfg = model.cfg
    B, P = len(prompts), len(prompts[0])
    x = torch.tensor(prompts, dtype=torch.long)
    caches = [dict() for _ in range(cfg.num_hidden_layers)]
    mtp_cache = dict()
    logits, hn = model.forward_main(x, 0, caches)
    g = logits[:, -1].argmax(-1)
    draft_logits = model.forward_mtp(torch.cat([x[:, 1:], g[:, None]], 1), hn, 0, mtp_cache)
    draft = draft_logits[:, -1].argmax(-1)
    out = [[int(t)] for t in g]
    done = g == tok.EOS_ID
    made = accepted = 0
    pos = P
    for _ in range(max_new - 1):
        if bool(done.all()):
            break
        logits, hn = model.forward_main(g[:, None], pos, caches)
        g_next = logits[:, -1].argmax(-1)
        active = ~done
        made += int(active.sum())
        accepted += int(((draft == g_next) & active).sum())
        draft_logits = model.forward_mtp(g_next[:, None], hn, pos, mtp_cache)
        draft = draft_logits[:, -1].argmax(-1)
        for i in range(B):
            if not done[i]:
                out[i].append(int(g_next[i]))
        done = done | (g_next == tok.EOS_ID)
        g = g_next
        pos += 1
    return out, made, accepted


@torch.no_grad()
def evaluate_items(model, items, batch_size=128, max_new=200, show_errors=0):
    """items: (question, expected answer text after </think>, kind). Exact-match accuracy of the
    answer text as r1vk eval compares it (data.answer_text), per kind, plus the MTP acceptance
    rate. outcome[i] says whether items[i] was right."""
    model.eval()
    by_len = defaultdict(list)
    for i, (q, _, _) in enumerate(items):
        ids = tok.encode(tok.chat_prompt(q))
        by_len[len(ids)].append((i, ids))
    made = accepted = 0
    errors, outcome = [], {}
    for _, group in sorted(by_len.items()):
        for s in range(0, len(group), batch_size):
            chunk = group[s:s + batch_size]
            outs, m, a = greedy_batch(model, [ids for _, ids in chunk], max_new)
            made += m
            accepted += a
            for (i, _), o in zip(chunk, outs):
                outcome[i] = data.answer_text(tok.decode(o)) == items[i][1]
                if not outcome[i] and len(errors) < show_errors:
                    errors.append((items[i][0], tok.decode(o)))
    model.train()
    by_kind = {}
    for i, (_, _, k) in enumerate(items):
        t = by_kind.setdefault(k, {"correct": 0, "total": 0})
        t["correct"] += int(outcome[i])
        t["total"] += 1
    correct = sum(outcome.values())
    return {"accuracy": correct / len(items), "correct": correct, "total": len(items),
            "by_kind": by_kind, "mtp_acceptance": accepted / max(made, 1), "mtp_drafts": made,
            "errors": errors, "outcome": outcome}


def evaluate_problems(model, problems, **kw):
    """evaluate_items on canonical (a, op, b) problems."""
    return evaluate_items(model, [(data.question(*p), str(data.answer_value(*p)), data.kind(*p))
                                  for p in problems], **kw)
