"""The training objective of an interpolation LoRA: SVD's EDM v-prediction loss in the keyframe regime.

Parameterisation (what diffusers' EulerDiscreteScheduler with v_prediction and ComfyUI's
V_PREDICTION_EDM sample SVD with, sigma_data = 1):
    input = cat((x + sigma*eps) / sqrt(sigma^2 + 1), hints), timestep = log(sigma) / 4,
    target = (x - c_skip * noisy) / c_out, c_skip = 1 / (sigma^2 + 1), c_out = -sigma / sqrt(sigma^2 + 1),
so the squared error on the output is EDM's (1 + sigma^2) / sigma^2-weighted error of the denoised
clip. Noise levels: SVD's log-normal (P_mean 0.7, P_std 1.6). Each clip is (K-1)*k+1 frames whose
keyframes (every k-th frame) are the pinned frames: the Keyframe Sampler keeps them at
`z + sigma*eps` (pinned_input="noised", the default: training sees what sampling feeds) or, with
pinned_input="clean", they enter the UNet clean; either way they carry no loss. Every frame's
concat latent is a keyframe's (hold / nearest, as the node). Conditioning dropout as SVD's
fine-tuning recipes (InstructPix2Pix, SVD_Xtend): one uniform draw per clip, p drops the CLIP
embedding only, the next p both, the next p the concat hints only, so classifier-free guidance keeps
an unconditional model. Pure torch.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .errors import InputError
from .frame_chunking import FrameChunkingSettings
from .keyframe_interpolation import HINT_MODES, per_frame
from .lora_keys import DEFAULT_TARGETS, check_targets
from .windowed_attention import WindowSettings

PINNED_INPUTS = ("noised", "clean")
PRECISIONS = ("fp16", "bf16", "fp32")
OPTIMIZERS = ("auto", "adamw", "adamw8bit")
CHECKPOINTING = ("none", "diffusers", "full")
SVD_SCALING_FACTOR = 0.18215


@dataclass(frozen=True)
class LoraTrainingSettings:
    """How an interpolation LoRA is trained (the clips come from `cache_training_latents`).

    checkpointing: `none`; `diffusers` (the UNet's own: resnets and spatial blocks); `full` (also
    every temporal block and every whole spatio-temporal transformer, nested: the least memory).
    optimizer: `auto` is 8-bit AdamW when bitsandbytes and a GPU are present, AdamW otherwise.
    """

    steps: int = 2000
    learning_rate: float = 1e-4
    batch_size: int = 1
    rank: int = 16
    alpha: float | None = None  # None: alpha = rank (LoRA scale 1)
    targets: tuple[str, ...] = DEFAULT_TARGETS
    hint: str = "hold"
    pinned_input: str = "noised"
    p_mean: float = 0.7
    p_std: float = 1.6
    conditioning_dropout: float = 0.1
    scaling_factor: float = SVD_SCALING_FACTOR
    precision: str = "fp16"
    optimizer: str = "auto"
    checkpointing: str = "full"
    windows: WindowSettings | None = None
    frame_chunking: FrameChunkingSettings | None = None
    save_every: int = 500
    max_grad_norm: float = 1.0
    seed: int = 0

    def __post_init__(self):
        for name in ("steps", "batch_size", "rank", "save_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a whole number >= 1; got {value!r}")
        for name in ("learning_rate", "p_std", "scaling_factor", "max_grad_norm"):
            if not getattr(self, name) > 0:
                raise InputError(f"{name} must be > 0; got {getattr(self, name)!r}")
        if self.alpha is not None and not self.alpha > 0:
            raise InputError(f"alpha must be > 0 (or None for alpha = rank); got {self.alpha!r}")
        if not 0.0 <= self.conditioning_dropout <= 1 / 3:
            raise InputError(f"conditioning_dropout must be within [0, 1/3] (three dropout cases of p each); "
                             f"got {self.conditioning_dropout!r}")
        for name, allowed in (("hint", HINT_MODES[:2]), ("pinned_input", PINNED_INPUTS), ("precision", PRECISIONS),
                              ("optimizer", OPTIMIZERS), ("checkpointing", CHECKPOINTING)):
            if getattr(self, name) not in allowed:
                raise InputError(f"{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")
        object.__setattr__(self, "targets", check_targets(self.targets))

    @property
    def lora_alpha(self) -> float:
        return float(self.rank if self.alpha is None else self.alpha)


def sample_sigmas(batch: int, p_mean: float, p_std: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """EDM's log-normal noise levels, SVD's P_mean 0.7, P_std 1.6 by default."""
    return torch.exp(p_mean + p_std * torch.randn(batch, generator=generator))


def dropout_masks(batch: int, p: float, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(keep CLIP embedding, keep concat hints) per clip, float (B,): r < 2p drops the embedding,
    p <= r < 3p drops the hints (so p: embedding only, p: both, p: hints only)."""
    r = torch.rand(batch, generator=generator)
    keep_embeds = (r >= 2 * p).float()
    keep_hints = 1.0 - ((r >= p) & (r < 3 * p)).float()
    return keep_embeds, keep_hints


def pinned_frames(frames: int, frames_between: int) -> torch.Tensor:
    """(T,) bool: the keyframes, every `frames_between` frames from the first (T = (K-1)*k+1)."""
    if frames_between < 1 or (frames - 1) % frames_between:
        raise InputError(f"a clip of {frames} frames is not (keyframes-1)*{frames_between}+1 frames")
    pinned = torch.zeros(frames, dtype=torch.bool)
    pinned[::frames_between] = True
    return pinned


def hint_latents(keyframe_latents: torch.Tensor, frames_between: int, hint: str) -> torch.Tensor:
    """(B, K, C, h, w) unscaled keyframe latents -> (B, T, C, h, w) per-frame hints, as the node makes them."""
    return torch.stack([per_frame(clip, frames_between, hint) for clip in keyframe_latents])


@dataclass
class TrainingBatch:
    """What the UNet gets and what its output is compared with, for one batch of clips."""

    sample: torch.Tensor  # (B, T, 2C, h, w): scaled noisy frames * c_in, then the hints
    timestep: torch.Tensor  # (B,): log(sigma) / 4
    encoder_hidden_states: torch.Tensor  # (B, 1, D)
    added_time_ids: torch.Tensor  # (B, 3)
    target: torch.Tensor  # (B, T, C, h, w)
    frame_weights: torch.Tensor  # (B, T): 0 on pinned frames


def training_batch(latents: torch.Tensor, keyframe_latents: torch.Tensor, image_embeds: torch.Tensor,
                   added_time_ids: torch.Tensor, frames_between: int, settings: LoraTrainingSettings,
                   generator: torch.Generator | None = None, sigmas: torch.Tensor | None = None,
                   noise: torch.Tensor | None = None) -> TrainingBatch:
    """One batch in the keyframe regime from cached clips: unscaled clean `latents` (B,T,C,h,w),
    `keyframe_latents` (B,K,C,h,w) the hints are made of, CLIP `image_embeds` (B,1,D) or (B,D)."""
    batch, frames = latents.shape[:2]
    x = latents.float() * settings.scaling_factor
    pinned = pinned_frames(frames, frames_between).to(x.device)
    if sigmas is None:
        sigmas = sample_sigmas(batch, settings.p_mean, settings.p_std, generator)
    if noise is None:
        noise = torch.randn(x.shape, generator=generator)
    sigmas, noise = sigmas.to(x.device, torch.float32), noise.to(x.device, torch.float32)
    s = sigmas[:, None, None, None, None]
    noisy = x + s * noise
    if settings.pinned_input == "clean":
        noisy = torch.where(pinned[None, :, None, None, None], x, noisy)
    c_in, c_skip, c_out = 1 / torch.sqrt(s**2 + 1), 1 / (s**2 + 1), -s / torch.sqrt(s**2 + 1)
    keep_embeds, keep_hints = dropout_masks(batch, settings.conditioning_dropout, generator)
    hints = hint_latents(keyframe_latents.float(), frames_between, settings.hint).to(x.device)
    hints = hints * keep_hints.to(x.device)[:, None, None, None, None]
    embeds = image_embeds.float().reshape(batch, 1, -1) * keep_embeds.to(x.device)[:, None, None]
    weights = (~pinned).float()[None].expand(batch, -1)
    return TrainingBatch(sample=torch.cat([noisy * c_in, hints], dim=2), timestep=0.25 * torch.log(sigmas),
                         encoder_hidden_states=embeds, added_time_ids=added_time_ids.float(),
                         target=(x - c_skip * noisy) / c_out, frame_weights=weights)


def v_loss(prediction: torch.Tensor, target: torch.Tensor, frame_weights: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the frames that carry loss (frame_weights (B,T): 0 drops a frame)."""
    per_frame_error = (prediction.float() - target.float()).pow(2).mean(dim=(2, 3, 4))
    return (per_frame_error * frame_weights).sum() / frame_weights.sum().clamp(min=1)
