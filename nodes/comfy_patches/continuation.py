"""Video continuation for ComfyUI's SVD: conditioning, latent and per-run hooks for the three methods.

Everything the methods need travels with the conditioning, so a stock KSampler (or the Keyframe
Sampler in whole mode) samples the new clip; nothing is patched on a MODEL:
- injection: the LATENT carries the known frames and a per-frame noise mask, and the conditioning
  carries the keyframe pins' hook (a SAMPLER_SAMPLE wrapper that pastes kept frames back after the
  run), so the overlap is exact with every sampler;
- history_cfg and reconstruction: a ComfyUI conditioning hook (`TransformerOptionsHook`) carries a
  keyed PREDICT_NOISE wrapper. ComfyUI registers it for the sampling runs that use this conditioning
  and drops it after, so it never outlives the run and never touches the MODEL it samples with.
  * history_cfg: the wrapper adds a post-CFG function to that step's model options; it evaluates the
    positive conditioning again with the history hints as concat latent (one extra model call of the
    clip's frames, through `calc_cond_batch`, so context windows and model patches apply to it too)
    and adds `history_scale * (D_history - D_cond)` to the guided prediction.
  * reconstruction: the wrapper runs the whole guided prediction with gradients on (inference mode
    off, weights made autograd-usable) and returns the known frames for the overlap and
    `D[new] - (w/2) grad_{x[new]} ||D[overlap] - known||^2` for the new frames.

The LATENT also records the overlap (`OVERLAP_KEY`) and whether it was pinned; ComfyUI's samplers
copy the LATENT dict, so the Join node reads both from the sampled clip.
"""
from __future__ import annotations

import torch

from ..techniques.continuation import (
    ContinuationSettings, continuation_hints, last_frame_hints, overlap_latent, overlap_mask, reconstruction_guided,
    require_history, with_history_guidance,
)
from ..techniques.errors import InputError
from ..techniques.svd import LATENT_CHANNELS, MicroConditioning
from ..techniques.input_gradients import input_gradients_only
from .keyframe_interpolation import check_latent_batch, pin_hooks, svd_conditioning

OVERLAP_KEY = "longer_video_overlap_frames"
PINNED_KEY = "longer_video_overlap_pinned"
HISTORY_WRAPPER_KEY = "longer_video_history_cfg"
RECONSTRUCTION_WRAPPER_KEY = "longer_video_reconstruction"


class HistoryGuidance:
    """PREDICT_NOISE wrapper: one extra conditional evaluation with the history hints per model call."""

    def __init__(self, history_hints: torch.Tensor, history_scale: float):
        self.history_hints = history_hints
        self.history_scale = history_scale

    def to(self, device_or_dtype):
        # ComfyUI casts wrappers to the load device and dtype; the hints are cast where they are used
        if isinstance(device_or_dtype, (torch.device, str)):
            self.history_hints = self.history_hints.to(device_or_dtype)
        return self

    def __call__(self, executor, x, timestep, model_options={}, seed=None):
        options = dict(model_options)
        options["sampler_post_cfg_function"] = list(model_options.get("sampler_post_cfg_function", [])) + [self.post_cfg]
        return executor(x, timestep, options, seed)

    def post_cfg(self, args: dict) -> torch.Tensor:
        import comfy.samplers

        history_conds = [with_concat(cond, self.history_hints) for cond in args["cond"]]
        (history,) = comfy.samplers.calc_cond_batch(args["model"], [history_conds], args["input"], args["sigma"],
                                                    args["model_options"])
        return with_history_guidance(args["denoised"], args["cond_denoised"], history, self.history_scale)


def with_concat(cond: dict, hints: torch.Tensor) -> dict:
    """A processed conditioning entry with another concat latent (SVD's `c_concat`)."""
    import comfy.conds

    model_conds = dict(cond["model_conds"])
    current = model_conds.get("c_concat")
    if current is not None and tuple(current.cond.shape) != tuple(hints.shape):
        raise InputError(f"the sampled latent has {current.cond.shape[0]} frames of {tuple(current.cond.shape[-2:])} "
                         f"but the history hints are {tuple(hints.shape)}: sample the LATENT from LongerVideoContinue")
    like = current.cond if current is not None else hints
    model_conds["c_concat"] = comfy.conds.CONDNoiseShape(hints.to(device=like.device, dtype=like.dtype))
    return dict(cond, model_conds=model_conds)


class ReconstructionGuidance:
    """PREDICT_NOISE wrapper: the new frames' guided prediction moved along the overlap's reconstruction
    gradient, the overlap's replaced by the known frames."""

    def __init__(self, known: torch.Tensor, guidance_weight: float):
        self.known = known  # unscaled VAE latents of the overlap frames, as a LATENT holds them
        self.guidance_weight = guidance_weight

    def to(self, device_or_dtype):
        if isinstance(device_or_dtype, (torch.device, str)):
            self.known = self.known.to(device_or_dtype)
        return self

    def __call__(self, executor, x, timestep, model_options={}, seed=None):
        model = executor.class_obj.inner_model
        with torch.inference_mode(False), torch.enable_grad(), input_gradients_only(model):
            known = model.process_latent_in(self.known.to(device=x.device, dtype=x.dtype).clone())
            x_in = x.detach().clone().requires_grad_(True)
            denoised = executor(x_in, timestep.detach().clone(), model_options, seed)
            guided = reconstruction_guided(denoised, x_in, known, self.guidance_weight)
        return guided.to(x.dtype)


def predict_noise_hooks(key: str, wrapper):
    """A HookGroup whose TransformerOptionsHook adds one keyed PREDICT_NOISE wrapper to the runs it is in."""
    import comfy.hooks
    import comfy.patcher_extension

    wrappers = {comfy.patcher_extension.WrappersMP.PREDICT_NOISE: {key: [wrapper]}}
    group = comfy.hooks.HookGroup()
    group.add(comfy.hooks.TransformerOptionsHook(transformers_dict={"wrappers": wrappers}))
    return group


def continuation_conditioning(clip_embeds: torch.Tensor, known: torch.Tensor, settings: ContinuationSettings,
                              micro: MicroConditioning = MicroConditioning(), hint_known: torch.Tensor | None = None):
    """(positive, negative, latent) for sampling the m+n frames of the new clip.

    clip_embeds: CLIP image embeds (B, D), used as SVD_img2vid_Conditioning does (one cross-attention
    context for every frame). known: the previous clip's last m frames as unscaled VAE latents
    (m, 4, h, w); hint_known: the same with augmentation noise (default: known).
    """
    check_latent_batch(known, "previous clip")
    if known.shape[0] != settings.overlap_frames:
        raise InputError(f"expected the last {settings.overlap_frames} frames of the previous clip; got {known.shape[0]}")
    hint_known = known if hint_known is None else hint_known
    cross_attn = clip_embeds.unsqueeze(0)
    held = continuation_hints(hint_known, settings.new_frames, settings.hints)
    _, _, height, width = known.shape
    if settings.method == "history_cfg":
        hints, hooks = last_frame_hints(hint_known, settings.new_frames), predict_noise_hooks(
            HISTORY_WRAPPER_KEY, HistoryGuidance(held, settings.history_scale))
    elif settings.method == "reconstruction":
        hints, hooks = held, predict_noise_hooks(RECONSTRUCTION_WRAPPER_KEY,
                                                 ReconstructionGuidance(known, settings.guidance_weight))
    else:
        hints, hooks = held, pin_hooks(1.0)
    positive, negative = svd_conditioning(cross_attn, hints, micro, hooks)
    if settings.pins_overlap:
        latent = {"samples": overlap_latent(known, settings.new_frames),
                  "noise_mask": overlap_mask(settings.overlap_frames, settings.new_frames, height, width)}
    else:
        latent = {"samples": torch.zeros(settings.clip_frames, LATENT_CHANNELS, height, width)}
    latent[OVERLAP_KEY] = settings.overlap_frames
    latent[PINNED_KEY] = settings.pins_overlap
    return positive, negative, latent


def last_frames(previous: torch.Tensor, overlap_frames: int, input_name: str) -> torch.Tensor:
    """The previous clip's last `overlap_frames` frames (any frame-first batch), or an error naming the input."""
    require_history(previous.shape[0], overlap_frames, input_name)
    return previous[-overlap_frames:]


def encode_frames(vae, frames: torch.Tensor, augmentation_level: float = 0.0):
    """(clean, hint) unscaled VAE latents of IMAGE frames at their own size (SVD_img2vid_Conditioning's encode)."""
    pixels = frames[:, :, :, :3]
    clean = vae.encode(pixels)
    if augmentation_level <= 0:
        return clean, clean
    return clean, vae.encode(pixels + torch.randn_like(pixels) * augmentation_level)


def check_frame_size(frames: torch.Tensor, input_name: str) -> None:
    from ..techniques.svd import VAE_SCALE_FACTOR

    height, width = frames.shape[1:3]
    if height % VAE_SCALE_FACTOR or width % VAE_SCALE_FACTOR:
        raise InputError(f"{input_name} are {width}x{height} px; width and height must be multiples of "
                         f"{VAE_SCALE_FACTOR} (the VAE downsamples by {VAE_SCALE_FACTOR}): resize the frames first")


def overlap_of(clip: dict, input_name: str = "clip") -> tuple[int, bool]:
    """(overlap frames, pinned) recorded in a continuation LATENT."""
    if OVERLAP_KEY not in clip:
        raise InputError(f"{input_name} must be a LATENT sampled from LongerVideoContinue's latent (through KSampler "
                         f"or the Keyframe Sampler): it records how many frames overlap the video")
    return int(clip[OVERLAP_KEY]), bool(clip.get(PINNED_KEY, False))
