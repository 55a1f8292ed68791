"""Video continuation on a diffusers `StableVideoDiffusionPipeline`: the next clip from the last frames.

`continue_video` runs the stock pipeline for the m+n frames of the next clip with changes scoped to
the call (gone when it returns, accelerate's offload hooks kept):
- hints: a UNet forward pre-hook puts per-frame concat latents into the conditional batch (held
  history for injection / reconstruction, the last frame for history_cfg's base conditional);
- injection: the initial latents put the overlap at `z + sigma_0 * eps` and `callback_on_step_end`
  resets it to `z + sigma_{i+1} * eps` after each step, ending exactly at `z` (the keyframe pins' way);
- history_cfg and reconstruction: the UNet's forward is wrapped (`unet_forward.wrapped_forward`):
  * history_cfg runs one more conditional batch with the history hints and returns predictions whose
    CFG (the pipeline's own per-frame guidance scale g) is `u + g (c - u) + s (h - c)`;
  * reconstruction runs the UNet with gradients on, builds the pipeline's x0 estimate (v-prediction,
    Euler: `x0 = x / (sigma^2+1) - sigma / sqrt(sigma^2+1) * F_cfg`), and shifts both predictions so
    the pipeline's x0 becomes the known frames on the overlap and
    `x0[new] - (w/2) grad_{x[new]} ||x0[overlap] - known||^2` on the new frames.
The pipeline's `image` is the CLIP image (default: the last previous frame); its own concat latent is
replaced by the hints. Latents in and out are the pipeline's (scaled, `output_type="latent"`).
reconstruction reads sigma from the scheduler, so it needs SVD's own (Euler, v-prediction).
"""
from __future__ import annotations

import contextlib

import torch

from ..techniques.continuation import (
    ContinuationSettings, continuation_hints, last_frame_hints, reconstruction_guided, require_history,
)
from ..techniques.errors import InputError
from ..techniques.input_gradients import input_gradients_only
from ..techniques.svd import LATENT_CHANNELS, VAE_SCALE_FACTOR, FrameSize
from .keyframe_interpolation import encode_keyframes, hint_pre_hook
from .unet_forward import wrapped_forward

SET_BY_US = ("image", "num_frames", "latents", "callback_on_step_end", "height", "width")


def _frames_tensor(pipe, frames) -> torch.Tensor:
    """(P, 3, H, W) in [0, 1] from PIL images, a (P,H,W,3) array, or a (P,3,H,W) / (1,P,3,H,W) tensor."""
    import numpy as np

    if isinstance(frames, np.ndarray):
        frames = pipe.video_processor.numpy_to_pt(frames[0] if frames.ndim == 5 else frames)
    elif not isinstance(frames, torch.Tensor):
        frames = pipe.video_processor.numpy_to_pt(pipe.video_processor.pil_to_numpy(list(frames)))
    if frames.ndim == 5 and frames.shape[0] == 1:
        frames = frames[0]
    if frames.ndim != 4 or frames.shape[1] != 3:
        raise InputError(f"previous_frames must be (frames, 3, height, width) in [0, 1], frames as a numpy array or "
                         f"PIL images; got shape {tuple(frames.shape)}")
    return frames


def _previous(pipe, previous_frames, previous_latents, overlap_frames: int, noise_aug_strength: float, generator):
    """(clean scaled latents, hint unscaled latents, frame size, last frame as image or None) of the overlap."""
    if (previous_frames is None) == (previous_latents is None):
        raise InputError("give exactly one of previous_frames (images) or previous_latents (latents)")
    scaling = pipe.vae.config.scaling_factor
    if previous_latents is not None:
        latents = previous_latents[0] if previous_latents.ndim == 5 and previous_latents.shape[0] == 1 else previous_latents
        if latents.ndim != 4 or latents.shape[1] != LATENT_CHANNELS:
            raise InputError(f"previous_latents must be the pipeline's latents (1, frames, {LATENT_CHANNELS}, h, w) or "
                             f"(frames, {LATENT_CHANNELS}, h, w); got shape {tuple(previous_latents.shape)}")
        if noise_aug_strength > 0:
            raise InputError("noise_aug_strength must be 0 with previous_latents: the augmentation noises images "
                             "before encoding, and latents have no images to noise")
        require_history(latents.shape[0], overlap_frames, "previous_latents")
        known = latents[-overlap_frames:].float()
        size = FrameSize(latents.shape[-1] * pipe.vae_scale_factor, latents.shape[-2] * pipe.vae_scale_factor)
        return known, known / scaling, size, None
    frames = _frames_tensor(pipe, previous_frames)
    height, width = frames.shape[-2:]
    if height % VAE_SCALE_FACTOR or width % VAE_SCALE_FACTOR:
        raise InputError(f"previous_frames are {width}x{height} px; width and height must be multiples of "
                         f"{VAE_SCALE_FACTOR} (the VAE downsamples by {VAE_SCALE_FACTOR}): resize the frames first")
    require_history(frames.shape[0], overlap_frames, "previous_frames")
    size = FrameSize(width, height)
    overlap = frames[-overlap_frames:].float()
    clean, hint = encode_keyframes(pipe, overlap, size, noise_aug_strength, generator)
    return clean.float() * scaling, hint.float(), size, overlap[-1:]


def _guidance_scale(pipe, like: torch.Tensor) -> torch.Tensor:
    scale = pipe.guidance_scale
    return torch.as_tensor(scale).to(device=like.device, dtype=like.dtype)


def _conditional_batch(sample, encoder_hidden_states, added_time_ids, hints):
    """The last (conditional) video of the batch again, with other concat hints."""
    extra = sample[-1:].clone()
    extra[:, :, -hints.shape[-3]:] = hints.to(device=sample.device, dtype=sample.dtype)
    return (torch.cat([sample, extra]), torch.cat([encoder_hidden_states, encoder_hidden_states[-1:]]),
            torch.cat([added_time_ids, added_time_ids[-1:]]))


def _output(prediction, return_dict: bool):
    if not return_dict:
        return (prediction,)
    from diffusers.models.unets.unet_spatio_temporal_condition import UNetSpatioTemporalConditionOutput

    return UNetSpatioTemporalConditionOutput(sample=prediction)


def history_forward(pipe, history_hints: torch.Tensor, history_scale: float):
    """UNet forward wrapper: predictions whose CFG adds `history_scale * (F_history - F_cond)`."""
    def forward(real, sample, timestep, encoder_hidden_states, added_time_ids, return_dict=True):
        batch = _conditional_batch(sample, encoder_hidden_states, added_time_ids, history_hints)
        out = real(batch[0], timestep, encoder_hidden_states=batch[1], added_time_ids=batch[2], return_dict=False)[0]
        out, history = out[:-1], out[-1:]
        term = history_scale * (history - out[-1:])
        if out.shape[0] == 1:  # no CFG: the conditional prediction is the result
            return _output(out + term, return_dict)
        uncond, cond = out.chunk(2)
        g = _guidance_scale(pipe, cond)
        usable = g != 0
        # u' + g (c' - u') = u + g (c - u) + term: put the term into c' where g != 0, into u' where g == 0
        cond = cond + torch.where(usable, term / torch.where(usable, g, torch.ones_like(g)), torch.zeros_like(term))
        uncond = uncond + torch.where(usable, torch.zeros_like(term), term)
        return _output(torch.cat([uncond, cond]), return_dict)

    return forward


def reconstruction_forward(pipe, known: torch.Tensor, guidance_weight: float):
    """UNet forward wrapper: predictions whose x0 (as the pipeline's Euler step computes it) is reconstruction-guided."""
    def forward(real, sample, timestep, encoder_hidden_states, added_time_ids, return_dict=True):
        scheduler = pipe.scheduler
        sigma = scheduler.sigmas[scheduler.step_index].to(device=sample.device, dtype=torch.float32)
        root = (sigma ** 2 + 1) ** 0.5
        channels = known.shape[-3]
        with torch.inference_mode(False), torch.enable_grad(), input_gradients_only(pipe.unet):
            noisy = sample[:, :, :channels].detach().clone()
            x = (noisy[:1].float() * root).requires_grad_(True)  # the pipeline's latents, shared by the batch
            scaled = noisy + ((x - x.detach()) / root).to(noisy.dtype)  # the input value exactly, gradient 1/root
            model_in = torch.cat([scaled, sample[:, :, channels:].detach().clone()], dim=2)
            out = real(model_in, timestep, encoder_hidden_states=encoder_hidden_states, added_time_ids=added_time_ids,
                       return_dict=False)[0]
            prediction = out.float()
            if out.shape[0] == 2:
                uncond, cond = prediction.chunk(2)
                prediction = uncond + _guidance_scale(pipe, cond) * (cond - uncond)
            c_out = -sigma / root
            x0 = x / (sigma ** 2 + 1) + c_out * prediction
            guided = reconstruction_guided(x0, x, known.to(x0), guidance_weight, frame_dim=1)
        shift = ((guided - x0.detach()) / c_out).to(out.dtype)
        return _output(out.detach() + shift, return_dict)

    return forward


def require_euler_v_prediction(scheduler) -> None:
    """reconstruction rebuilds the pipeline's x0 estimate as SVD's Euler scheduler computes it."""
    config = getattr(scheduler, "config", None)
    if getattr(config, "prediction_type", None) != "v_prediction" or not hasattr(scheduler, "sigmas") \
            or not hasattr(scheduler, "step_index"):
        raise InputError(f"method 'reconstruction' needs SVD's own scheduler (EulerDiscreteScheduler, v_prediction); "
                         f"the pipeline has {type(scheduler).__name__}")


def continue_video(pipe, previous_frames=None, settings: ContinuationSettings = ContinuationSettings(),
                   clip_image=None, previous_latents: torch.Tensor | None = None, num_inference_steps: int = 25,
                   noise_aug_strength: float = 0.0, generator: torch.Generator | None = None, **pipe_kwargs):
    """Pipeline output for the next clip: `settings.clip_frames` frames, the first `overlap_frames` covering the
    last ones of the previous clip (join with `join_clips(video, clip, settings.overlap_frames)`).

    previous_frames: PIL images or a (P,3,H,W) tensor in [0,1]; or previous_latents: the pipeline's latents
    (output_type="latent", (1,P,4,h,w)), no VAE round trip. clip_image: the image for the CLIP embedding
    (default: the last previous frame; required with previous_latents). The frame size is the previous
    clip's. Extra keyword arguments go to the pipeline (fps, motion_bucket_id, output_type, guidance, ...).
    """
    taken = sorted(set(SET_BY_US) & set(pipe_kwargs))
    if taken:
        raise InputError(f"continue_video sets {', '.join(taken)} itself (use settings and the previous clip)")
    if pipe_kwargs.get("num_videos_per_prompt", 1) != 1:
        raise InputError("num_videos_per_prompt must be 1: a continuation extends one video")
    if settings.method == "reconstruction":
        require_euler_v_prediction(pipe.scheduler)
    generator = generator or torch.Generator().manual_seed(0)
    m, n = settings.overlap_frames, settings.new_frames
    pins, hint_known, size, last_frame = _previous(pipe, previous_frames, previous_latents, m, noise_aug_strength,
                                                   generator)
    image = clip_image if clip_image is not None else last_frame
    if image is None:
        raise InputError("clip_image is required with previous_latents (the CLIP embedding needs an image, e.g. the "
                         "first clip's init image)")
    if isinstance(image, torch.Tensor):  # the pipeline's CLIP path resizes PIL images only
        image = pipe.video_processor.numpy_to_pil(pipe.video_processor.pt_to_numpy(image.reshape(-1, *image.shape[-3:])
                                                                                   .float().cpu()))[0]
    held = continuation_hints(hint_known, n, settings.hints).unsqueeze(0)
    cond_hints = last_frame_hints(hint_known, n).unsqueeze(0) if settings.method == "history_cfg" else held

    pipe.scheduler.set_timesteps(num_inference_steps)  # the pipeline sets the same schedule again
    sigmas = pipe.scheduler.sigmas.clone()
    factor = pipe.vae_scale_factor
    shape = (1, settings.clip_frames, pipe.unet.config.out_channels, size.height // factor, size.width // factor)
    noise = torch.randn(shape, generator=generator, dtype=torch.float32).to(pipe._execution_device)
    latents = noise.clone()
    pins = pins.to(noise.device)
    callback = None
    if settings.pins_overlap:
        latents[0, :m] = (pins + float(sigmas[0]) * noise[0, :m]) / float(pipe.scheduler.init_noise_sigma)

        def callback(pipeline, step, timestep, callback_kwargs):
            current = callback_kwargs["latents"].clone()
            current[0, :m] = (pins + float(sigmas[step + 1]) * noise[0, :m]).to(current.dtype)
            return {"latents": current}

    wrapper = contextlib.nullcontext()
    if settings.method == "history_cfg":
        wrapper = wrapped_forward(pipe.unet, history_forward(pipe, held, settings.history_scale))
    elif settings.method == "reconstruction":
        wrapper = wrapped_forward(pipe.unet, reconstruction_forward(pipe, pins.unsqueeze(0), settings.guidance_weight))
    handle = pipe.unet.register_forward_pre_hook(hint_pre_hook(cond_hints), with_kwargs=True)
    try:
        with wrapper:
            return pipe(image, height=size.height, width=size.width, num_frames=settings.clip_frames,
                        num_inference_steps=num_inference_steps, noise_aug_strength=noise_aug_strength,
                        generator=generator, latents=latents.to(pipe.unet.dtype), callback_on_step_end=callback,
                        **pipe_kwargs)
    finally:
        handle.remove()
