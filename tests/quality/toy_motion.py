"""Synthetic clips in SVD's latent layout whose ground truth is known: one disk moving over a still background.

Why latent space: no VAE is in the loop, so every frame's true disk position is exact. Layout:
(T, 4, 16, 16) in the *sampled* (scaled) latent space, about unit scale like SVD's scaled latents.
The disk is added to a smooth static background (so the background under it is known), moves at
constant velocity and bounces off the walls (its centre stays in [radius, size - radius]).
SVD's micro-conditioning carries the velocity: `fps` sets the speed (fps / 8 pixels per frame),
`motion_bucket_id` the direction (motion_bucket_id / 256 of a full turn, counter-clockwise from +x).
The first frame is the init latent; SVD's concat conditioning takes it *unscaled* (/ SCALING_FACTOR).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

SIZE = 16
CHANNELS = 4
RADIUS = 2.5
SCALING_FACTOR = 0.18215  # SVD's VAE scaling: concat latents are unscaled, sampled latents scaled
SPEED_PER_FPS = 1.0 / 8.0
TRAIN_FPS = (6, 10)  # 0.75 and 1.25 pixels per frame
TRAIN_MOTION_BUCKETS = (0, 64, 128, 192)  # right, down, left, up (y grows downwards)
BACKGROUND_STD = 0.35
# Distinct disk "colours" (channel patterns), each of norm 3: the identity the model must keep.
PALETTE = torch.tensor([
    [1.5, -1.5, 1.5, -1.5],
    [-1.5, 1.5, 1.5, -1.5],
    [2.1, 0.0, -2.1, 0.0],
    [0.0, -2.1, 0.0, 2.1],
])


@dataclass(frozen=True)
class ClipSpec:
    """Everything that determines one clip."""
    start: tuple[float, float]  # disk centre (x, y) at frame 0, pixels
    fps: int
    motion_bucket_id: int
    colour: int  # index into PALETTE
    background_seed: int

    @property
    def velocity(self) -> tuple[float, float]:
        angle = 2 * math.pi * self.motion_bucket_id / 256
        speed = self.fps * SPEED_PER_FPS
        return speed * math.cos(angle), speed * math.sin(angle)


def random_spec(generator: torch.Generator, fps_choices=TRAIN_FPS, bucket_choices=TRAIN_MOTION_BUCKETS) -> ClipSpec:
    def pick(options):
        return options[int(torch.randint(len(options), (1,), generator=generator))]

    low, high = RADIUS, SIZE - RADIUS
    start = low + (high - low) * torch.rand(2, generator=generator)
    return ClipSpec(start=(float(start[0]), float(start[1])), fps=pick(fps_choices),
                    motion_bucket_id=pick(bucket_choices), colour=pick(range(len(PALETTE))),
                    background_seed=int(torch.randint(2**31 - 1, (1,), generator=generator)))


def fold(position: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Position of a point moving freely, reflected into [low, high] (wall bounces)."""
    span = high - low
    phase = torch.remainder(position - low, 2 * span)
    return low + torch.where(phase > span, 2 * span - phase, phase)


def trajectory(spec: ClipSpec, frames: int) -> torch.Tensor:
    """True disk centres, (frames, 2) as (x, y) pixels."""
    t = torch.arange(frames, dtype=torch.float64)[:, None]
    free = torch.tensor(spec.start, dtype=torch.float64) + t * torch.tensor(spec.velocity, dtype=torch.float64)
    return fold(free, RADIUS, SIZE - RADIUS).float()


def disk_mask(centres: torch.Tensor, radius: float = RADIUS, size: int = SIZE) -> torch.Tensor:
    """Anti-aliased disks (1 inside, 0 outside, a 1-pixel ramp at the edge): (N, size, size)."""
    coords = torch.arange(size, dtype=torch.float32) + 0.5  # pixel centres
    dx = coords[None, None, :] - centres[:, 0, None, None]
    dy = coords[None, :, None] - centres[:, 1, None, None]
    return (radius + 0.5 - torch.sqrt(dx * dx + dy * dy)).clamp(0, 1)


def background(seed: int, size: int = SIZE) -> torch.Tensor:
    """A smooth static field (4, size, size): a few random low-frequency waves per channel."""
    g = torch.Generator().manual_seed(seed)
    coords = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    field = torch.zeros(CHANNELS, size, size)
    waves = 3
    for c in range(CHANNELS):
        for _ in range(waves):
            kx, ky = torch.randint(-2, 3, (2,), generator=g).float()
            phase = 2 * math.pi * torch.rand((), generator=g)
            field[c] += torch.cos(2 * math.pi * (kx * xx + ky * yy) + phase)
    return field * (BACKGROUND_STD / math.sqrt(waves / 2))


def render(spec: ClipSpec, frames: int) -> torch.Tensor:
    """The clip, (frames, 4, SIZE, SIZE), in the scaled latent space."""
    masks = disk_mask(trajectory(spec, frames))
    colour = PALETTE[spec.colour][None, :, None, None]
    return background(spec.background_seed)[None] + masks[:, None] * colour


def concat_latent(clip: torch.Tensor) -> torch.Tensor:
    """SVD's concat conditioning: the first frame, unscaled (4, SIZE, SIZE)."""
    return clip[0] / SCALING_FACTOR


def added_time_ids(spec: ClipSpec, noise_aug_strength: float = 0.0) -> list[float]:
    """What SVD's UNet receives: [fps - 1, motion_bucket_id, noise_aug_strength] (diffusers and ComfyUI both pass fps - 1)."""
    return [float(spec.fps - 1), float(spec.motion_bucket_id), float(noise_aug_strength)]


def eval_specs(count: int, seed: int = 1234) -> list[ClipSpec]:
    """The fixed evaluation set (same clips for every technique and length)."""
    g = torch.Generator().manual_seed(seed)
    return [random_spec(g) for _ in range(count)]


def training_batch(batch: int, frames: int, generator: torch.Generator):
    """(clips (B,T,4,S,S), concat (B,4,S,S), added_time_ids (B,3))."""
    specs = [random_spec(generator) for _ in range(batch)]
    clips = torch.stack([render(s, frames) for s in specs])
    concat = clips[:, 0] / SCALING_FACTOR
    ids = torch.tensor([added_time_ids(s) for s in specs])
    return clips, concat, ids
