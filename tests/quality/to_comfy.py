"""Embed the toy exactly into ComfyUI's single-file SVD layout (`model.diffusion_model.*`).

ComfyUI recognises SVD only by fixed shapes (model_channels 320, 64-channel heads, context 1024,
adm 768, transformers in the upper three of four levels, two res blocks per level), far wider
than the toy. The toy's numbers survive the widening unchanged:
- every channel is repeated 5 times (64 -> 320, 128 -> 640; time embedding 256 -> 1280); inputs of
  a linear map or conv are divided by 5. GroupNorm (32 groups) and LayerNorm see the same mean and
  variance, so every activation is the toy's, repeated;
- sinusoidal embeddings of C channels use frequencies 10000^(-i/(C/2)): the toy's are every 5th of
  the wide one's, so the first layer reads only those inputs;
- attention: toy head h (32 channels) becomes wide head h (64 channels, the rest zero, queries
  times sqrt(2) for the 1/sqrt(d) scale); the other wide heads are zero. The toy was trained with
  a zero CLIP context, so its cross-attention values are zero; the wide keys and values read none of
  the 1024 CLIP channels, which gives the same for whatever embedding ComfyUI's CLIP tower makes
  (one token, so the attention weight is 1 whatever the keys);
- blocks the toy does not have are exact identities: a res block with zero output convolutions
  (its 1x1 skip selecting the running features, not the skip input), a transformer with a zero
  output projection.
With `repeat=1` and the toy's head width the same conversion gives the toy's own width in SVD's
layout (comfy_checkpoint.narrow_toy_model): ComfyUI's classes build it though its detection would not.
Pure tensor work (torch + safetensors): runs in ComfyUI's environment at test time.
"""
from __future__ import annotations

import math
import re

import torch

R = 5  # channel repetition
WIDE_HEAD = 64
CLIP_DIM = 1024


def channel_mult(toy_config: dict) -> list[int]:
    """The wide level multipliers: the toy's widths over its first (SVD-XT: 1, 2, 4, 4)."""
    widths = toy_config["block_out_channels"]
    return [w // widths[0] for w in widths]


def comfy_unet_config(toy_config: dict, repeat: int = R, head: int = WIDE_HEAD) -> dict:
    """What comfy.model_detection derives from the converted keys (real SVD's layout, the toy's mults).

    `repeat=1, head=<the toy's head width>` gives the same layout at the toy's own width: ComfyUI's
    SVD classes build it, but its detection (fixed at 320 channels) would not find it in a file."""
    mult = channel_mult(toy_config)
    levels, per_level = len(mult), 2
    return {
        "use_checkpoint": False, "image_size": 32, "use_spatial_transformer": True, "legacy": False,
        "num_classes": "sequential", "adm_in_channels": 768, "in_channels": 8, "out_channels": 4,
        "model_channels": toy_config["block_out_channels"][0] * repeat, "num_res_blocks": [per_level] * levels,
        "transformer_depth": [1] * (per_level * (levels - 1)) + [0] * per_level,
        "transformer_depth_output": [1] * ((per_level + 1) * (levels - 1)) + [0] * (per_level + 1),
        "channel_mult": mult, "transformer_depth_middle": 1, "use_linear_in_transformer": True,
        "context_dim": CLIP_DIM, "extra_ff_mix_layer": True, "use_spatial_context": True,
        "merge_strategy": "learned_with_images", "merge_factor": 0.0, "video_kernel_size": [3, 1, 1],
        "use_temporal_resblock": True, "use_temporal_attention": True, "disable_temporal_crossattention": False,
        "num_heads": -1, "num_head_channels": head,
    }


def widen(w: torch.Tensor, out_rep: int = R, in_rep: int | None = R) -> torch.Tensor:
    """Repeat output rows out_rep times and input columns in_rep times (inputs divided by in_rep)."""
    w = w.repeat_interleave(out_rep, 0)
    if w.dim() > 1 and in_rep:
        w = w.repeat_interleave(in_rep, 1) / in_rep
    return w


def sinusoid_columns(w: torch.Tensor, toy_channels: int, r: int = R) -> torch.Tensor:
    """First layer after a sinusoidal embedding: toy [cos_i, sin_i] (i < C/2) -> wide indices 5i, half + 5i."""
    half = toy_channels // 2
    wide = torch.zeros(w.shape[0], toy_channels * r, dtype=w.dtype)
    idx = torch.arange(half) * r
    wide[:, idx] = w[:, :half]
    wide[:, half * r + idx] = w[:, half:]
    return wide


def head_rows(w: torch.Tensor, heads: int, wide_channels: int, scale: float = 1.0, head: int = WIDE_HEAD) -> torch.Tensor:
    """q/k/v rows: toy head h's d channels -> wide rows [64h, 64h + d); other rows zero."""
    d = w.shape[0] // heads
    wide = torch.zeros(wide_channels, w.shape[1], dtype=w.dtype)
    for h in range(heads):
        wide[head * h:head * h + d] = w[d * h:d * (h + 1)] * scale
    return wide


def head_columns(w: torch.Tensor, heads: int, wide_channels: int, head: int = WIDE_HEAD) -> torch.Tensor:
    d = w.shape[1] // heads
    wide = torch.zeros(w.shape[0], wide_channels, dtype=w.dtype)
    for h in range(heads):
        wide[:, head * h:head * h + d] = w[:, d * h:d * (h + 1)]
    return wide


class Converter:
    def __init__(self, toy: dict[str, torch.Tensor], heads_of: dict[str, int], r: int = R, head: int = WIDE_HEAD):
        self.toy, self.heads_of, self.out = toy, heads_of, {}
        self.r, self.head = r, head

    def put(self, key: str, value: torch.Tensor) -> None:
        self.out["model.diffusion_model." + key] = value.contiguous()

    def plain(self, dst: str, src: str, in_rep: int | None = -1, out_rep: int = -1) -> None:
        """-1: this converter's repetition (None: inputs not repeated)."""
        in_rep = self.r if in_rep == -1 else in_rep
        out_rep = self.r if out_rep == -1 else out_rep
        self.put(dst + ".weight", widen(self.toy[src + ".weight"], out_rep, in_rep))
        if src + ".bias" in self.toy:
            self.put(dst + ".bias", widen(self.toy[src + ".bias"], out_rep, None))

    def norm(self, dst: str, src: str) -> None:
        self.plain(dst, src, in_rep=None)

    def resblock(self, dst: str, src: str) -> None:
        s, t = src + ".spatial_res_block", src + ".temporal_res_block"
        self.norm(dst + ".in_layers.0", s + ".norm1")
        self.plain(dst + ".in_layers.2", s + ".conv1")
        self.plain(dst + ".emb_layers.1", s + ".time_emb_proj")
        self.norm(dst + ".out_layers.0", s + ".norm2")
        self.plain(dst + ".out_layers.3", s + ".conv2")
        if s + ".conv_shortcut.weight" in self.toy:
            self.plain(dst + ".skip_connection", s + ".conv_shortcut")
        self.norm(dst + ".time_stack.in_layers.0", t + ".norm1")
        self.plain(dst + ".time_stack.in_layers.2", t + ".conv1")
        self.plain(dst + ".time_stack.emb_layers.1", t + ".time_emb_proj")
        self.norm(dst + ".time_stack.out_layers.0", t + ".norm2")
        self.plain(dst + ".time_stack.out_layers.3", t + ".conv2")
        self.put(dst + ".time_mixer.mix_factor", self.toy[src + ".time_mixer.mix_factor"])

    def attention(self, dst: str, src: str, heads: int, width: int, cross: bool) -> None:
        scale = math.sqrt(self.head / (self.toy[src + ".to_q.weight"].shape[0] // heads))
        self.put(dst + ".to_q.weight", head_rows(widen(self.toy[src + ".to_q.weight"], 1, self.r), heads, width, scale,
                                                 self.head))
        for name in ("to_k", "to_v"):
            w = self.toy[f"{src}.{name}.weight"]
            if cross:  # the toy was trained with a zero context: reading none of the CLIP embedding is the same
                self.put(f"{dst}.{name}.weight", torch.zeros(width, CLIP_DIM, dtype=w.dtype))
            else:
                self.put(f"{dst}.{name}.weight", head_rows(widen(w, 1, self.r), heads, width, head=self.head))
        self.put(dst + ".to_out.0.weight",
                 head_columns(widen(self.toy[src + ".to_out.0.weight"], self.r, None), heads, width, self.head))
        self.put(dst + ".to_out.0.bias", widen(self.toy[src + ".to_out.0.bias"], self.r, None))

    def feed_forward(self, dst: str, src: str) -> None:
        self.plain(dst + ".net.0.proj", src + ".net.0.proj")  # GEGLU [value | gate]: each half repeats in place
        self.plain(dst + ".net.2", src + ".net.2")

    def transformer_block(self, dst: str, src: str, heads: int, width: int, temporal: bool) -> None:
        for n in ("norm1", "norm2", "norm3") + (("norm_in",) if temporal else ()):
            self.norm(f"{dst}.{n}", f"{src}.{n}")
        self.attention(dst + ".attn1", src + ".attn1", heads, width, cross=False)
        self.attention(dst + ".attn2", src + ".attn2", heads, width, cross=True)
        self.feed_forward(dst + ".ff", src + ".ff")
        if temporal:
            self.feed_forward(dst + ".ff_in", src + ".ff_in")

    def transformer(self, dst: str, src: str) -> None:
        heads = self.heads_of[src]
        width = self.toy[src + ".proj_in.weight"].shape[0] * self.r
        self.norm(dst + ".norm", src + ".norm")
        self.plain(dst + ".proj_in", src + ".proj_in")
        self.plain(dst + ".proj_out", src + ".proj_out")
        self.transformer_block(dst + ".transformer_blocks.0", src + ".transformer_blocks.0", heads, width, False)
        self.transformer_block(dst + ".time_stack.0", src + ".temporal_transformer_blocks.0", heads, width, True)
        toy_channels = self.toy[src + ".time_pos_embed.linear_1.weight"].shape[1]
        self.put(dst + ".time_pos_embed.0.weight",
                 sinusoid_columns(widen(self.toy[src + ".time_pos_embed.linear_1.weight"], self.r, None), toy_channels,
                                  self.r))
        self.put(dst + ".time_pos_embed.0.bias", widen(self.toy[src + ".time_pos_embed.linear_1.bias"], self.r, None))
        self.plain(dst + ".time_pos_embed.2", src + ".time_pos_embed.linear_2")
        self.put(dst + ".time_mixer.mix_factor", self.toy[src + ".time_mixer.mix_factor"])


def identity_fill(wide: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> None:
    """Give every wide key the toy has no counterpart for the value of an identity block.

    Norm scales 1, everything else 0, except a 1x1 skip that passes the running features through.
    """
    for key, like in reference.items():
        full = "model.diffusion_model." + key
        if full in wide:
            continue
        if re.search(r"(norm[^.]*|in_layers\.0|out_layers\.0)\.weight$", key) and like.dim() == 1:
            wide[full] = torch.ones(like.shape)
        elif key.endswith("skip_connection.weight"):
            eye = torch.zeros(like.shape)
            eye[torch.arange(like.shape[0]), torch.arange(like.shape[0])] = 1.0
            wide[full] = eye
        else:
            wide[full] = torch.zeros(like.shape)


def toy_heads(toy_config: dict) -> dict[str, int]:
    """Attention heads of each toy transformer, by its key prefix."""
    heads = list(toy_config["num_attention_heads"])
    out = {}
    for i in range(len(heads)):
        out[f"down_blocks.{i}.attentions.0"] = heads[i]
        for j in range(3):
            out[f"up_blocks.{i}.attentions.{j}"] = heads[::-1][i]
    out["mid_block.attentions.0"] = heads[-1]
    return out


def convert(toy: dict[str, torch.Tensor], toy_config: dict, reference: dict[str, torch.Tensor],
            repeat: int = R, head: int = WIDE_HEAD) -> dict[str, torch.Tensor]:
    """toy (diffusers keys, fp32) -> `model.diffusion_model.*` for ComfyUI. `reference`: the wide
    model's state dict (names and shapes), e.g. from ComfyUI's own classes on the meta device.
    `repeat`/`head`: as in comfy_unet_config (1 and the toy's head width: the narrow twin)."""
    toy = {k: v.float() for k, v in toy.items()}
    c = Converter(toy, toy_heads(toy_config), repeat, head)
    levels = len(toy_config["block_out_channels"])
    c.put("time_embed.0.weight", sinusoid_columns(widen(toy["time_embedding.linear_1.weight"], repeat, None),
                                                  toy_config["block_out_channels"][0], repeat))
    c.put("time_embed.0.bias", widen(toy["time_embedding.linear_1.bias"], repeat, None))
    c.plain("time_embed.2", "time_embedding.linear_2")
    c.plain("label_emb.0.0", "add_embedding.linear_1", in_rep=None)
    c.plain("label_emb.0.2", "add_embedding.linear_2")
    c.plain("input_blocks.0.0", "conv_in", in_rep=None)
    block = 1
    for level in range(levels):
        c.resblock(f"input_blocks.{block}.0", f"down_blocks.{level}.resnets.0")
        if f"down_blocks.{level}.attentions.0.proj_in.weight" in toy:
            c.transformer(f"input_blocks.{block}.1", f"down_blocks.{level}.attentions.0")
        block += 2  # the second wide res block of the level stays an identity
        if f"down_blocks.{level}.downsamplers.0.conv.weight" in toy:
            c.plain(f"input_blocks.{block}.0.op", f"down_blocks.{level}.downsamplers.0.conv")
            block += 1
    c.resblock("middle_block.0", "mid_block.resnets.0")
    c.transformer("middle_block.1", "mid_block.attentions.0")
    c.resblock("middle_block.2", "mid_block.resnets.1")
    for up in range(levels):
        for toy_index, wide_offset in ((0, 0), (1, 2)):  # wide block +1 consumes the identity block's skip
            dst = f"output_blocks.{3 * up + wide_offset}"
            c.resblock(dst + ".0", f"up_blocks.{up}.resnets.{toy_index}")
            has_attention = f"up_blocks.{up}.attentions.{toy_index}.proj_in.weight" in toy
            if has_attention:
                c.transformer(dst + ".1", f"up_blocks.{up}.attentions.{toy_index}")
            if toy_index == 1 and f"up_blocks.{up}.upsamplers.0.conv.weight" in toy:
                wide_has_attention = any(k.startswith(dst + ".1.proj_in") for k in reference)
                c.plain(f"{dst}.{2 if wide_has_attention else 1}.conv", f"up_blocks.{up}.upsamplers.0.conv")
    c.norm("out.0", "conv_norm_out")
    c.plain("out.2", "conv_out", out_rep=1)
    unknown = [k for k in c.out if k[len("model.diffusion_model."):] not in reference]
    if unknown:
        raise ValueError(f"converted keys the wide SVD layout does not have: {unknown[:5]}")
    identity_fill(c.out, reference)
    return c.out
