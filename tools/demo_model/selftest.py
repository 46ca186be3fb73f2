"""Self-checks of the demo-model tooling (seconds on one core; not part of CI, which has no
torch). Each check can fail: they compare against an independent formulation.

  /usr/bin/python3 tools/demo_model/selftest.py
"""
import math
import os
import random
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import model as M  # noqa: E402
import phrasing  # noqa: E402
import safetensors_io  # noqa: E402
import tokenizer as tok  # noqa: E402


def check_tokenizer():
    rng = random.Random(5)
    for _ in range(300):
        p = data.sample_problem(rng)
        text = data.prompt_text(*p) + data.completion(*p)
        ids = tok.encode(text)
        assert tok.decode(ids) == text, text
    # every merge result is a vocab entry and the merges are what the BPE loop applies
    assert tok.encode(" is What +-\n\nneg") == [tok.VOCAB["Ġis"], tok.VOCAB["Ġ"], tok.VOCAB["What"],
                                               tok.VOCAB["Ġ+"], tok.VOCAB["-"], tok.VOCAB["ĊĊ"],
                                               tok.VOCAB["neg"]]
    assert tok.encode("12") == [tok.VOCAB["1"], tok.VOCAB["2"]]
    assert tok.encode("é") == [tok.VOCAB[tok.BYTE_TO_CHAR[0xC3]], tok.VOCAB[tok.BYTE_TO_CHAR[0xA9]]]
    assert len(set(tok.VOCAB.values())) == tok.VOCAB_SIZE == max(tok.VOCAB.values()) + 1


def check_safetensors():
    t = {"a": (torch.randn(3, 5), "BF16"), "b": (torch.randn(7), "F32")}
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "x.safetensors")
        safetensors_io.save(path, t, {"format": "pt"})
        back, dtypes = safetensors_io.load(path)
    assert torch.equal(back["a"], t["a"][0].to(torch.bfloat16).float())
    assert torch.equal(back["b"], t["b"][0])
    assert dtypes == {"a": "BF16", "b": "F32"}


def check_rope_matches_rotate_half_form():
    """Interleaved rotation == de-interleave, then NeoX rotate_half (Hugging Face's way)."""
    cfg = M.DemoConfig()
    cos, sin = M.rope_cos_sin(cfg, torch.arange(40))
    x = torch.randn(2, 40, cfg.qk_rope_head_dim)
    ours = M.apply_rope_interleaved(x, cos, sin)
    d = cfg.qk_rope_head_dim
    xd = x.view(2, 40, d // 2, 2).transpose(-1, -2).reshape(2, 40, d)
    c2, s2 = torch.cat([cos, cos], -1), torch.cat([sin, sin], -1)
    rot = torch.cat([-xd[..., d // 2:], xd[..., : d // 2]], -1)
    hf = xd * c2 + rot * s2
    ours_d = ours.view(2, 40, d // 2, 2).transpose(-1, -2).reshape(2, 40, d)
    assert torch.allclose(ours_d, hf, atol=1e-6)


def check_yarn_and_scale():
    cfg = M.DemoConfig()
    f = M.rope_frequencies(cfg)
    assert abs(float(f[0]) - 1.0) < 1e-12                       # below `low`: extrapolated
    assert abs(float(f[10]) - 10000 ** (-20 / 32) / 4) < 1e-15  # above `high`: interpolated
    m = 0.1 * math.log(4) + 1
    assert abs(M.mla_softmax_scale(cfg) - 48 ** -0.5 * m * m) < 1e-12


def check_absorbed_mla_equals_naive():
    torch.manual_seed(0)
    cfg = M.DemoConfig()
    attn = M.MLA(cfg)
    for p in attn.parameters():
        p.data.normal_(0, 0.2)
    T = 12
    x = torch.randn(1, T, cfg.hidden_size)
    cos, sin = M.rope_cos_sin(cfg, torch.arange(T))
    naive = attn(x, cos, sin)
    H, dn, dr, dv, c = (cfg.num_attention_heads, cfg.qk_nope_head_dim, cfg.qk_rope_head_dim,
                        cfg.v_head_dim, cfg.kv_lora_rank)
    q = attn.q_b_proj(attn.q_a_layernorm(attn.q_a_proj(x))).view(T, H, dn + dr)
    q_nope, q_pe = q[..., :dn], M.apply_rope_interleaved(q[..., dn:].transpose(0, 1), cos, sin)
    kv = attn.kv_a_proj_with_mqa(x)[0]
    latent = attn.kv_a_layernorm(kv[:, :c])
    k_pe = M.apply_rope_interleaved(kv[:, c:], cos, sin)
    W = attn.kv_b_proj.weight.view(H, dn + dv, c)
    out = torch.zeros(T, H * dv)
    for h in range(H):
        q_lat = q_nope[:, h] @ W[h, :dn]                         # [T, c]
        s = attn.scale * (q_lat @ latent.t() + q_pe[h] @ k_pe.t())
        s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
        o_lat = torch.softmax(s, -1) @ latent
        out[:, h * dv:(h + 1) * dv] = o_lat @ W[h, dn:].t()
    absorbed = attn.o_proj(out)
    assert torch.allclose(naive[0], absorbed, atol=1e-4), (naive[0] - absorbed).abs().max()


def check_router_bias_selects_only():
    torch.manual_seed(1)
    cfg = M.DemoConfig()
    gate = M.Gate(cfg)
    gate.weight.data.normal_(0, 1)
    x = torch.randn(64, cfg.hidden_size)
    gate.e_score_correction_bias[:] = torch.tensor([0, 0, 0, 0, 0, 0, 0, 5.0])
    idx, w = gate(x)
    assert bool((idx == 7).any(dim=1).all())          # the bias forces expert 7 in
    scores = torch.sigmoid(x @ gate.weight.t())
    chosen = scores.gather(1, idx)
    expect = chosen / chosen.sum(1, keepdim=True) * cfg.routed_scaling_factor
    assert torch.allclose(w, expect)                  # weights ignore the bias
    # only experts of the two best groups are ever chosen
    sel = scores + gate.e_score_correction_bias
    gs = sel.view(64, 4, 2).sum(-1)                   # 2 experts per group: top-2 = sum
    best = gs.topk(2, -1).indices
    assert bool(((idx // 2).unsqueeze(-1) == best.unsqueeze(1)).any(-1).all())


def check_cached_decode_matches_full():
    torch.manual_seed(2)
    cfg = M.DemoConfig()
    m = M.DeepseekV3(cfg).eval()
    ids = torch.randint(0, cfg.vocab_size, (1, 10))
    full, hn_full = m.forward_main(ids)
    caches = [dict() for _ in range(cfg.num_hidden_layers)]
    a, _ = m.forward_main(ids[:, :6], 0, caches)
    b, _ = m.forward_main(ids[:, 6:], 6, caches)
    assert torch.allclose(torch.cat([a, b], 1), full, atol=1e-5)
    mtp_full = m.forward_mtp(ids[:, 1:], hn_full[:, :-1])
    cache = dict()
    ma = m.forward_mtp(ids[:, 1:5], hn_full[:, :4], 0, cache)
    mb = m.forward_mtp(ids[:, 5:], hn_full[:, 4:-1], 4, cache)
    assert torch.allclose(torch.cat([ma, mb], 1), mtp_full, atol=1e-5)


def check_test_set_disjoint():
    test = data.test_problems()
    assert len(set(test)) == len(test) == data.TEST_COUNT
    stream = data.training_stream(1234, set(test))
    assert not any(next(stream) in set(test) for _ in range(20000))


def check_phrasings_held_out_and_tokenizable():
    items = data.heldout_items()
    assert [q for q, _, _ in items[:data.TEST_COUNT]] == [data.question(*p) for p in data.test_problems()]
    assert len({q for q, _, _ in items}) == len(items)
    problems, questions = data.heldout_exclusions()
    assert len(problems) == data.TEST_COUNT + len(phrasing.HELDOUT_PHRASINGS) * data.HELDOUT_PER_PHRASING
    assert len(questions) == data.HELDOUT_PER_PHRASING
    # every held-out answer is what the training texts would make the model write
    for q, answer, kind in items:
        if kind == data.NOT_ARITHMETIC_KIND:
            assert data.answer_text(data.not_arithmetic_completion()) == answer
        assert tok.decode(tok.encode(tok.chat_prompt(q))) == tok.chat_prompt(q), q
    stream = data.mixed_text_stream(1, problems, questions, 0.3, 0.1)
    for _ in range(5000):
        q, c = next(stream)
        assert q not in questions
        if c != data.not_arithmetic_completion():
            assert data.answer_text(c) is not None
    # the examples are phrasings of the grammar (prefix, operator, tail all listed)
    assert phrasing.HELDOUT_PHRASINGS[0][1](2, "+", 2, None) == "What is 2+2?"
    assert data.answer_text("1: 2+2+0=04\n</think>\n\n4" + tok.EOS) == "4"


def check_v3_restates_the_question():
    """v3's first line is the canonical restatement whatever the phrasing, and leaves as many
    tokens between b's last digit and the first column line as the canonical prompt does."""
    def after_last_digit(ids):
        return len(ids) - 1 - max(i for i, t in enumerate(ids) if tok.decode([t]).isdigit())

    saved = data.FORMAT
    try:
        data.FORMAT = "v3"
        rng = random.Random(3)
        for p in [(4512, "+", 873), (15, "-", 53), (7, "-", 7), (999999, "+", 1)]:
            c = data.completion(*p)
            assert c.startswith(data.restatement(*p) + "\n1:"), c
            data.FORMAT = "v2"
            columns = data.reasoning(*p)
            data.FORMAT = "v3"
            assert data.reasoning(*p) == data.restatement(*p) + "\n" + columns  # then v2's lines
            for _ in range(5):
                assert data.completion(*p) == c  # the completion ignores how the question was put
                ids, start = data.encode_text_example(phrasing.phrase(*p, rng), c)
                assert tok.decode(ids[start:]) == c
            # tokens strictly between b's last digit and the "1" of the first column line
            line = tok.encode(data.restatement(*p) + "\n")
            after_b = after_last_digit(line)
            after_q = after_last_digit(tok.encode(tok.chat_prompt(data.question(*p))))
            assert after_b == after_q == 4, (after_b, after_q)
    finally:
        data.FORMAT = saved


if __name__ == "__main__":
    torch.set_num_threads(1)
    for name, fn in list(globals().items()):
        if name.startswith("check_"):
            fn()
            print("ok", name)
