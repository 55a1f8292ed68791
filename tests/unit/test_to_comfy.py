"""The toy -> ComfyUI widening (tests/quality/to_comfy.py) keeps every activation, layer by layer.

The whole-model check (the widened toy in ComfyUI's own UNet against diffusers) needs both
environments and is run by tests/benchmarks/bench_quality_comfy.py; these pin each rule.
"""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "quality"))
import to_comfy as tc

R = tc.R


def rep(x: torch.Tensor, dim: int = 1) -> torch.Tensor:
    return x.repeat_interleave(R, dim)


def test_widened_conv_and_groupnorm_give_repeated_activations():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 64, 5, 5, generator=g)
    w, b = torch.randn(128, 64, 3, 3, generator=g), torch.randn(128, generator=g)
    gamma, beta = torch.randn(128, generator=g), torch.randn(128, generator=g)
    toy = F.group_norm(F.conv2d(x, w, b, padding=1), 32, gamma, beta)
    wide = F.group_norm(F.conv2d(rep(x), tc.widen(w), tc.widen(b, R, None), padding=1), 32,
                        tc.widen(gamma, R, None), tc.widen(beta, R, None))
    assert torch.allclose(wide, rep(toy), atol=1e-4)
    wrong = F.group_norm(F.conv2d(rep(x), tc.widen(w), tc.widen(b, R, None), padding=1), 64)
    assert not torch.allclose(wrong, rep(F.group_norm(F.conv2d(x, w, b, padding=1), 32)), atol=1e-2)


def sinusoid(t: torch.Tensor, channels: int) -> torch.Tensor:
    """[cos, sin] with frequencies 10000^(-i/half): diffusers' Timesteps(C, True, 0) and ComfyUI's timestep_embedding."""
    half = channels // 2
    freqs = torch.exp(-torch.log(torch.tensor(10000.0)) * torch.arange(half) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


def test_sinusoid_columns_read_the_toys_frequencies_from_the_wide_embedding():
    g = torch.Generator().manual_seed(1)
    w = torch.randn(256, 64, generator=g)
    t = torch.tensor([0.0, 1.0, 5.0, -1.3, 700.0])
    toy = sinusoid(t, 64) @ w.T
    wide = sinusoid(t, 320) @ tc.sinusoid_columns(tc.widen(w, R, None), 64).T
    assert torch.allclose(wide, rep(toy), atol=1e-4)


def test_attention_heads_move_into_wide_heads_with_the_same_weights():
    g = torch.Generator().manual_seed(2)
    heads, width, tokens = 4, 128, 6
    x = torch.randn(3, tokens, width, generator=g)
    wq, wk, wv, wo = (torch.randn(width, width, generator=g) / width ** 0.5 for _ in range(4))

    def attend(x, wq, wk, wv, wo, heads):
        b, n, _ = x.shape
        q, k, v = (t.reshape(b, n, heads, -1).transpose(1, 2) for t in (x @ wq.T, x @ wk.T, x @ wv.T))
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, -1)
        return out @ wo.T

    wide_width = width * R
    scale = (tc.WIDE_HEAD / (width // heads)) ** 0.5
    wide = attend(rep(x, 2), tc.head_rows(tc.widen(wq, 1), heads, wide_width, scale),
                  tc.head_rows(tc.widen(wk, 1), heads, wide_width), tc.head_rows(tc.widen(wv, 1), heads, wide_width),
                  tc.head_columns(tc.widen(wo, R, None), heads, wide_width), wide_width // tc.WIDE_HEAD)
    assert torch.allclose(wide, rep(attend(x, wq, wk, wv, wo, heads), 2), atol=1e-4)



def test_cross_attention_reads_no_clip_channels_so_any_embedding_acts_as_the_toys_zero_context():
    """The toy is trained with a zero context; ComfyUI's CLIP tower gives some embedding."""
    g = torch.Generator().manual_seed(3)
    heads, width, ctx_width, tokens = 2, 64, 64, 5
    toy = {f"attn2.{n}.weight": torch.randn(width, ctx_width if n in ("to_k", "to_v") else width, generator=g)
           for n in ("to_q", "to_k", "to_v", "to_out.0")}
    toy["attn2.to_out.0.bias"] = torch.randn(width, generator=g)
    converter = tc.Converter(toy, {})
    converter.attention("wide", "attn2", heads, width * R, cross=True)
    wide = {k[len("model.diffusion_model.wide."):]: v for k, v in converter.out.items()}

    def cross(x, ctx, w, heads):
        b, n, _ = x.shape
        q = (x @ w["to_q.weight"].T).reshape(b, n, heads, -1).transpose(1, 2)
        k, v = ((ctx @ w[f"{name}.weight"].T).reshape(b, 1, heads, -1).transpose(1, 2) for name in ("to_k", "to_v"))
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, -1)
        return out @ w["to_out.0.weight"].T + w["to_out.0.bias"]

    x = torch.randn(3, tokens, width, generator=g)
    toy_out = cross(x, torch.zeros(3, 1, ctx_width), {k[len("attn2."):]: v for k, v in toy.items()}, heads)
    clip_embedding = torch.randn(3, 1, tc.CLIP_DIM, generator=g) * 5
    wide_out = cross(rep(x, 2), clip_embedding, wide, width * R // tc.WIDE_HEAD)
    assert torch.allclose(wide_out, rep(toy_out, 2), atol=1e-4)
    toy_with_context = cross(x, torch.randn(3, 1, ctx_width, generator=g), {k[len("attn2."):]: v for k, v in toy.items()}, heads)
    assert not torch.allclose(rep(toy_with_context, 2), wide_out, atol=1e-2)
