"""DeepSeek-V3 architecture (the one DeepSeek-R1 uses) in plain PyTorch, written from
docs/MODEL_SPEC.md (shared): MLA with q LoRA and decoupled interleaved-pair RoPE under YaRN,
sigmoid-routed MoE with a correction bias used for selection only, group-limited top-k,
normalised and scaled routing weights, a shared expert, leading dense layers, and one MTP module.

The parameter names equal the Hugging Face DeepSeek-R1 tensor names (minus ".weight" handling
done in export.py), so export is a rename-free walk over state_dict().
"""
import math
from dataclasses import dataclass, field, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class DemoConfig:
    vocab_size: int = 272
    hidden_size: int = 128
    intermediate_size: int = 256          # dense MLP width (layers < first_k_dense_replace)
    moe_intermediate_size: int = 64
    num_hidden_layers: int = 4
    num_attention_heads: int = 8
    q_lora_rank: int = 64
    kv_lora_rank: int = 64
    qk_nope_head_dim: int = 16
    qk_rope_head_dim: int = 32
    v_head_dim: int = 16
    n_routed_experts: int = 8
    n_shared_experts: int = 1
    num_experts_per_tok: int = 2
    n_group: int = 4
    topk_group: int = 2
    routed_scaling_factor: float = 2.5
    norm_topk_prob: bool = True
    first_k_dense_replace: int = 1
    num_nextn_predict_layers: int = 1
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    max_position_embeddings: int = 512
    rope_scaling: dict = field(default_factory=lambda: {
        "type": "yarn", "factor": 4.0, "original_max_position_embeddings": 128,
        "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0})

    def to_dict(self):
        return asdict(self)


# ---------------------------------------------------------------- RoPE (YaRN) and MLA scale

def yarn_get_mscale(scale, mscale):
    return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0


def rope_frequencies(cfg):
    """Per-pair angular frequencies f_i (float64), YaRN-blended as MODEL_SPEC §2 states."""
    d = cfg.qk_rope_head_dim
    base = cfg.rope_theta
    i = torch.arange(d // 2, dtype=torch.float64)
    f = base ** (-2.0 * i / d)
    rs = cfg.rope_scaling
    if rs is None:
        return f
    factor = float(rs["factor"])
    orig = float(rs["original_max_position_embeddings"])

    def correction_dim(r):
        return d * math.log(orig / (r * 2 * math.pi)) / (2 * math.log(base))

    low = max(math.floor(correction_dim(rs["beta_fast"])), 0)
    high = min(math.ceil(correction_dim(rs["beta_slow"])), d - 1)
    if low == high:
        high += 0.001
    ramp = ((i - low) / (high - low)).clamp(0.0, 1.0)
    return f / factor * ramp + f * (1.0 - ramp)


def rope_magnitude(cfg):
    rs = cfg.rope_scaling
    if rs is None:
        return 1.0
    return (yarn_get_mscale(rs["factor"], rs["mscale"])
            / yarn_get_mscale(rs["factor"], rs["mscale_all_dim"]))


def mla_softmax_scale(cfg):
    s = (cfg.qk_nope_head_dim + cfg.qk_rope_head_dim) ** -0.5
    rs = cfg.rope_scaling
    if rs is not None:
        m = yarn_get_mscale(rs["factor"], rs["mscale_all_dim"])
        s = s * m * m
    return s


def rope_cos_sin(cfg, positions):
    """cos/sin [T, d/2] in float32 for integer positions (angles computed in float64)."""
    ang = positions.to(torch.float64)[:, None] * rope_frequencies(cfg)[None, :]
    mag = rope_magnitude(cfg)
    return (torch.cos(ang) * mag).float(), (torch.sin(ang) * mag).float()


def apply_rope_interleaved(x, cos, sin):
    """Rotate adjacent pairs (x[2i], x[2i+1]) by angle pos*f_i. x: [..., T, d]."""
    x0 = x[..., 0::2]
    x1 = x[..., 1::2]
    r0 = x0 * cos - x1 * sin
    r1 = x0 * sin + x1 * cos
    return torch.stack((r0, r1), dim=-1).flatten(-2)


# ---------------------------------------------------------------- building blocks

class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return xf * self.weight


def linear(i, o):
    return nn.Linear(i, o, bias=False)


class MLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x))."""

    def __init__(self, hidden, inter):
        super().__init__()
        self.gate_proj = linear(hidden, inter)
        self.up_proj = linear(hidden, inter)
        self.down_proj = linear(inter, hidden)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class MLA(nn.Module):
    """Multi-head latent attention, naive (non-absorbed) form; equal to the absorbed form."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        H, dn, dr, dv = (cfg.num_attention_heads, cfg.qk_nope_head_dim,
                         cfg.qk_rope_head_dim, cfg.v_head_dim)
        self.q_a_proj = linear(cfg.hidden_size, cfg.q_lora_rank)
        self.q_a_layernorm = RMSNorm(cfg.q_lora_rank, cfg.rms_norm_eps)
        self.q_b_proj = linear(cfg.q_lora_rank, H * (dn + dr))
        self.kv_a_proj_with_mqa = linear(cfg.hidden_size, cfg.kv_lora_rank + dr)
        self.kv_a_layernorm = RMSNorm(cfg.kv_lora_rank, cfg.rms_norm_eps)
        self.kv_b_proj = linear(cfg.kv_lora_rank, H * (dn + dv))
        self.o_proj = linear(H * dv, cfg.hidden_size)
        self.scale = mla_softmax_scale(cfg)

    def forward(self, x, cos, sin, cache=None):
        """x [B, T, hidden]; cos/sin [T, dr/2] for the T new positions; cache: dict with
        'k' [B,H,Tpast,dn+dr], 'v' [B,H,Tpast,dv] (extended in place) or None."""
        c = self.cfg
        B, T, _ = x.shape
        H, dn, dr, dv = c.num_attention_heads, c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim
        q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x)))
        q = q.view(B, T, H, dn + dr).transpose(1, 2)                 # [B,H,T,dn+dr]
        q_nope, q_pe = q.split([dn, dr], dim=-1)
        q_pe = apply_rope_interleaved(q_pe, cos, sin)
        kv = self.kv_a_proj_with_mqa(x)
        latent, k_pe = kv.split([c.kv_lora_rank, dr], dim=-1)
        latent = self.kv_a_layernorm(latent)
        k_pe = apply_rope_interleaved(k_pe.unsqueeze(1), cos, sin)   # [B,1,T,dr], shared by heads
        kvb = self.kv_b_proj(latent).view(B, T, H, dn + dv).transpose(1, 2)
        k_nope, v = kvb.split([dn, dv], dim=-1)
        k = torch.cat([k_nope, k_pe.expand(B, H, T, dr)], dim=-1)
        q = torch.cat([q_nope, q_pe], dim=-1)
        past = 0
        if cache is not None:
            if "k" in cache:
                past = cache["k"].shape[2]
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        scores = torch.matmul(q, k.transpose(-1, -2)).float() * self.scale   # [B,H,T,past+T]
        Tk = k.shape[2]
        qpos = torch.arange(T)[:, None] + past
        kpos = torch.arange(Tk)[None, :]
        scores = scores.masked_fill(kpos > qpos, float("-inf"))
        p = torch.softmax(scores, dim=-1)
        o = torch.matmul(p, v)                                       # [B,H,T,dv]
        o = o.transpose(1, 2).reshape(B, T, H * dv)
        return self.o_proj(o)


class Gate(nn.Module):
    """Sigmoid router. e_score_correction_bias is a buffer: it is moved by the aux-loss-free
    balancing rule (train.py), never by gradients, and only influences which experts are chosen."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.weight = nn.Parameter(torch.empty(cfg.n_routed_experts, cfg.hidden_size))
        nn.init.normal_(self.weight, std=0.02)
        self.register_buffer("e_score_correction_bias", torch.zeros(cfg.n_routed_experts))

    def forward(self, x):
        """x [N, hidden] -> (idx [N,k] long, w [N,k] float32)."""
        c = self.cfg
        logits = x.float() @ self.weight.float().t()
        scores = torch.sigmoid(logits)
        sel = scores.detach() + self.e_score_correction_bias
        N, E = sel.shape
        if c.n_group > 1:
            grouped = sel.view(N, c.n_group, E // c.n_group)
            group_score = grouped.topk(2, dim=-1).values.sum(-1)     # sum of top-2 per group
            keep = group_score.topk(c.topk_group, dim=-1).indices
            gmask = torch.zeros(N, c.n_group, dtype=torch.bool)
            gmask.scatter_(1, keep, True)
            emask = gmask.unsqueeze(-1).expand(N, c.n_group, E // c.n_group).reshape(N, E)
            sel = sel.masked_fill(~emask, float("-inf"))
        idx = sel.topk(c.num_experts_per_tok, dim=-1).indices
        w = scores.gather(1, idx)                                    # unbiased scores
        if c.norm_topk_prob:
            w = w / w.sum(-1, keepdim=True)
        return idx, w * c.routed_scaling_factor


class MoE(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.gate = Gate(cfg)
        self.experts = nn.ModuleList(
            [MLP(cfg.hidden_size, cfg.moe_intermediate_size) for _ in range(cfg.n_routed_experts)])
        self.shared_experts = MLP(cfg.hidden_size, cfg.moe_intermediate_size * cfg.n_shared_experts)
        self.last_load = None   # tokens per expert of the last forward (for bias balancing)

    def forward(self, x):
        shape = x.shape
        xf = x.reshape(-1, shape[-1])
        idx, w = self.gate(xf)
        out = torch.zeros_like(xf)
        load = torch.bincount(idx.flatten(), minlength=self.cfg.n_routed_experts)
        self.last_load = load
        for e in range(self.cfg.n_routed_experts):
            if load[e] == 0:
                continue
            tok, slot = (idx == e).nonzero(as_tuple=True)
            y = self.experts[e](xf[tok]) * w[tok, slot].unsqueeze(-1).to(xf.dtype)
            out.index_add_(0, tok, y)
        out = out + self.shared_experts(xf)
        return out.view(shape)


class DecoderLayer(nn.Module):
    def __init__(self, cfg, layer_idx):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = MLA(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        if layer_idx < cfg.first_k_dense_replace:
            self.mlp = MLP(cfg.hidden_size, cfg.intermediate_size)
        else:
            self.mlp = MoE(cfg)

    def forward(self, h, cos, sin, cache=None):
        h = h + self.self_attn(self.input_layernorm(h), cos, sin, cache)
        return h + self.mlp(self.post_attention_layernorm(h))


class SharedHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class MTPLayer(DecoderLayer):
    """Layer index num_hidden_layers: a full decoder block plus enorm/hnorm/eh_proj and
    shared_head.norm. Embedding and output head are shared with the main model (exported as
    copies, as in R1's checkpoint)."""

    def __init__(self, cfg, layer_idx):
        super().__init__(cfg, layer_idx)
        self.enorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.hnorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.eh_proj = linear(2 * cfg.hidden_size, cfg.hidden_size)
        self.shared_head = SharedHead(cfg)


class Inner(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        nn.init.normal_(self.embed_tokens.weight, std=0.02)
        n = cfg.num_hidden_layers
        layers = [DecoderLayer(cfg, i) for i in range(n)]
        layers += [MTPLayer(cfg, n + j) for j in range(cfg.num_nextn_predict_layers)]
        self.layers = nn.ModuleList(layers)
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class DeepseekV3(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = Inner(cfg)
        self.lm_head = linear(cfg.hidden_size, cfg.vocab_size)
        for name, p in self.named_parameters():
            if p.dim() == 2 and "embed" not in name:
                nn.init.normal_(p, std=0.02)
        # Residual output projections start smaller (keeps early training stable).
        for name, p in self.named_parameters():
            if name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
                p.data.mul_(1.0 / math.sqrt(2 * (cfg.num_hidden_layers + 1)))

    @property
    def main_layers(self):
        return self.model.layers[: self.cfg.num_hidden_layers]

    @property
    def mtp_layer(self):
        return self.model.layers[self.cfg.num_hidden_layers]

    def forward_main(self, tokens, start_pos=0, caches=None):
        """tokens [B,T] -> (logits [B,T,V] f32, normed hidden [B,T,hidden])."""
        T = tokens.shape[1]
        cos, sin = rope_cos_sin(self.cfg, torch.arange(start_pos, start_pos + T))
        h = self.model.embed_tokens(tokens)
        for i, layer in enumerate(self.main_layers):
            h = layer(h, cos, sin, None if caches is None else caches[i])
        hn = self.model.norm(h)
        return self.lm_head(hn).float(), hn

    def forward_mtp(self, next_tokens, hidden, start_pos=0, cache=None):
        """Draft logits for the token after next_tokens.
        next_tokens [B,T]: token t+1 for slot t; hidden [B,T,hidden]: main normed h_t.
        Slots use RoPE position t (= start_pos + j). The embedding at position 0 is zeroed,
        as vLLM/SGLang do (MODEL_SPEC §3 MTP)."""
        mtp = self.mtp_layer
        T = next_tokens.shape[1]
        positions = torch.arange(start_pos, start_pos + T)
        cos, sin = rope_cos_sin(self.cfg, positions)
        e = self.model.embed_tokens(next_tokens)
        e = e * (positions != 0).to(e.dtype)[None, :, None]
        x = mtp.eh_proj(torch.cat([mtp.enorm(e), mtp.hnorm(hidden)], dim=-1))
        x = mtp(x, cos, sin, cache)
        return self.lm_head(mtp.shared_head.norm(x)).float()

    def forward(self, tokens):
        """Training/teacher-forced forward: main logits [B,T,V] (position t predicts t+1) and
        MTP logits [B,T-1,V] (slot t, fed h_t and token t+1, predicts token t+2)."""
        logits, hn = self.forward_main(tokens)
        mtp_logits = self.forward_mtp(tokens[:, 1:], hn[:, :-1])
        return logits, mtp_logits

    def moe_layers(self):
        return [m for m in self.modules() if isinstance(m, MoE)]


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())
