"""A scoped replacement of `SpatialVideoTransformer.forward` with a seam for frame positions.

ComfyUI has no hook for the temporal position embedding (it is built from `arange(T)` inside the
module's forward), so each temporal transformer of the clone gets an object patch of its
`forward`. The body mirrors upstream's (identical in ComfyUI 0.3.64 and 0.8.0, checked by the
equivalence tests), except that the frame embedding comes from `frame_position_embedding`, which
is bitwise the stock one when no interpolation applies. Settings come from transformer_options,
so several of our nodes can share the one patch per module.
"""
from __future__ import annotations

import functools

import torch
from einops import rearrange, repeat

from ..techniques.positions import frame_position_embedding
from .options import get_option

_REQUIRED_ATTRIBUTES = (
    "time_stack", "transformer_blocks", "time_pos_embed", "time_mixer", "norm", "proj_in", "proj_out",
    "use_linear", "use_spatial_context", "in_channels", "max_time_embed_period",
)


class NotAVideoModelError(ValueError):
    pass


def find_temporal_transformers(model_patcher) -> dict[str, torch.nn.Module]:
    """`{"diffusion_model.<path>": module}` for every SpatialVideoTransformer of the model."""
    from comfy.ldm.modules.attention import SpatialVideoTransformer

    diffusion_model = getattr(getattr(model_patcher, "model", None), "diffusion_model", None)
    if diffusion_model is None:
        return {}
    found = {}
    for name, module in diffusion_model.named_modules():
        if isinstance(module, SpatialVideoTransformer):
            missing = [a for a in _REQUIRED_ATTRIBUTES if not hasattr(module, a)]
            if missing:
                raise NotAVideoModelError(
                    f"this ComfyUI's SpatialVideoTransformer lacks {missing}; Longer Video supports ComfyUI 0.3.64-0.8.x"
                )
            found[f"diffusion_model.{name}"] = module
    return found


def install_temporal_forward(model_patcher, node_name: str) -> None:
    """Object-patch every temporal transformer's forward on this (already cloned) patcher."""
    modules = find_temporal_transformers(model_patcher)
    if not modules:
        raise NotAVideoModelError(
            f"{node_name}: the MODEL has no temporal transformers (SpatialVideoTransformer); "
            "connect a Stable Video Diffusion model (SVD / SVD-XT, e.g. from ImageOnlyCheckpointLoader)"
        )
    for key, module in modules.items():
        model_patcher.add_object_patch(f"{key}.forward", functools.partial(patched_forward, module))


def patched_forward(
    self,
    x: torch.Tensor,
    context=None,
    time_context=None,
    timesteps=None,
    image_only_indicator=None,
    transformer_options={},  # noqa: B006 - mirrors upstream's signature; never mutated beyond upstream's keys
) -> torch.Tensor:
    _, _, h, w = x.shape
    transformer_options["activations_shape"] = list(x.shape)
    x_in = x
    spatial_context = context

    if self.use_spatial_context:
        assert context.ndim == 3, f"n dims of spatial context should be 3 but are {context.ndim}"
        if time_context is None:
            time_context = context
        time_context_first_timestep = time_context[::timesteps]
        time_context = repeat(time_context_first_timestep, "b ... -> (b n) ...", n=h * w)
    elif time_context is not None:
        time_context = repeat(time_context, "b ... -> (b n) ...", n=h * w)
        if time_context.ndim == 2:
            time_context = rearrange(time_context, "b c -> b 1 c")

    x = self.norm(x)
    if not self.use_linear:
        x = self.proj_in(x)
    x = rearrange(x, "b c h w -> b (h w) c")
    if self.use_linear:
        x = self.proj_in(x)

    positions = get_option(transformer_options, "positions")
    t_emb = frame_position_embedding(timesteps, self.in_channels, self.max_time_embed_period, positions, device=x.device)
    t_emb = t_emb.repeat(x.shape[0] // timesteps, 1).to(x.dtype)
    emb = self.time_pos_embed(t_emb)[:, None, :]

    for it_, (block, mix_block) in enumerate(zip(self.transformer_blocks, self.time_stack)):
        transformer_options["block_index"] = it_
        x = block(x, context=spatial_context, transformer_options=transformer_options)

        x_mix = x + emb
        B, S, C = x_mix.shape
        x_mix = rearrange(x_mix, "(b t) s c -> (b s) t c", t=timesteps)
        x_mix = mix_block(x_mix, context=time_context, transformer_options=transformer_options)
        x_mix = rearrange(x_mix, "(b s) t c -> (b t) s c", s=S, b=B // timesteps, c=C, t=timesteps)

        x = self.time_mixer(x_spatial=x, x_temporal=x_mix, image_only_indicator=image_only_indicator)

    if self.use_linear:
        x = self.proj_out(x)
    x = rearrange(x, "b (h w) c -> b c h w", h=h, w=w)
    if not self.use_linear:
        x = self.proj_out(x)
    return x + x_in
