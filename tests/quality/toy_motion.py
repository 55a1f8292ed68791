"""Synthetic clips in SVD's latent layout whose ground truth is known: one disk moving over a still background.

Why latent space: no VAE is in the loop, so every frame's true disk position is exact. Layout:
(T, 4, 16, 16) in the *sampled* (scaled) latent space, about unit scale like SVD's scaled latents.
The disk is added to a smooth static background (so the background under it is known) and moves at
constant velocity on a torus: it leaves one side and re-enters on the other (toy v2). Why no walls:
the v1 toy bounced, so the true motion reversed the direction its conditioning named at every wall,
and a metric on it could not tell a technique that obeys the conditioning from one that fails
(copy-first-frame scored at chance). With wrap-around the conditioning is true at every frame.
SVD's micro-conditioning carries the velocity: `fps` sets the speed (fps / 8 pixels per frame, from
0.5 up to 7 px: the base speeds and the k-times speeds keyframes k frames apart need),
`motion_bucket_id` the direction (motion_bucket_id / 256 of a full turn, counter-clockwise from +x);
UNKNOWN_DIRECTION (255) says "some direction" (trained on clips of any of the four), so a clip can be
driven without its direction, as a case where the first frame and conditioning alone do not fix the motion.
The background is periodic too (whole waves per side), so nothing marks the seam.
The first frame is the init latent; SVD's concat conditioning takes it *unscaled* (/ SCALING_FACTOR).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

SIZE = 16
CHANNELS = 4
RADIUS = 2.5
SCALING_FACTOR = 0.18215  # SVD's VAE scaling: concat latents are unscaled, sampled latents scaled
SPEED_PER_FPS = 1.0 / 8.0
EVAL_FPS = (4, 6)  # 0.5 and 0.75 pixels per frame: the clips every technique is measured on
TRAIN_FPS_RANGE = (4, 56)  # trained speeds 0.5 .. 7 px per frame: the eval clips and their k-times keyframe speeds
BASE_FPS_FRACTION = 0.5  # half of the training clips at the eval speeds, the rest uniform over the range
TRAIN_MOTION_BUCKETS = (0, 64, 128, 192)  # right, down, left, up (y grows downwards)
UNKNOWN_DIRECTION = 255  # "some direction": the clip moves in one of TRAIN_MOTION_BUCKETS, not said which
UNKNOWN_DIRECTION_FRACTION = 0.1
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
    motion_bucket_id: int  # the conditioning; UNKNOWN_DIRECTION hides the direction
    colour: int  # index into PALETTE
    background_seed: int
    direction_bucket: int | None = None  # the true direction when motion_bucket_id hides it

    @property
    def true_bucket(self) -> int:
        return self.motion_bucket_id if self.direction_bucket is None else self.direction_bucket

    @property
    def velocity(self) -> tuple[float, float]:
        angle = 2 * math.pi * self.true_bucket / 256
        speed = self.fps * SPEED_PER_FPS
        return speed * math.cos(angle), speed * math.sin(angle)

    @property
    def speed(self) -> float:
        return self.fps * SPEED_PER_FPS


def random_spec(generator: torch.Generator, fps_choices=EVAL_FPS, bucket_choices=TRAIN_MOTION_BUCKETS) -> ClipSpec:
    """A clip at one of `fps_choices` in one of `bucket_choices` (the evaluation set's distribution)."""
    def pick(options):
        return options[int(torch.randint(len(options), (1,), generator=generator))]

    start = SIZE * torch.rand(2, generator=generator)
    return ClipSpec(start=(float(start[0]), float(start[1])), fps=pick(fps_choices),
                    motion_bucket_id=pick(bucket_choices), colour=pick(range(len(PALETTE))),
                    background_seed=int(torch.randint(2**31 - 1, (1,), generator=generator)))


def random_training_spec(generator: torch.Generator) -> ClipSpec:
    """A training clip: half at the eval speeds, half anywhere in TRAIN_FPS_RANGE; 10 % with the direction hidden."""
    spec = random_spec(generator)
    if float(torch.rand((), generator=generator)) >= BASE_FPS_FRACTION:
        low, high = TRAIN_FPS_RANGE
        spec = dataclasses.replace(spec, fps=int(torch.randint(low, high + 1, (1,), generator=generator)))
    if float(torch.rand((), generator=generator)) < UNKNOWN_DIRECTION_FRACTION:
        spec = dataclasses.replace(spec, motion_bucket_id=UNKNOWN_DIRECTION, direction_bucket=spec.motion_bucket_id)
    return spec


def wrap_offset(delta: torch.Tensor, size: float = SIZE) -> torch.Tensor:
    """The shortest signed offset on a ring of `size` pixels: in [-size/2, size/2)."""
    return torch.remainder(delta + size / 2, size) - size / 2


def trajectory(spec: ClipSpec, frames: int) -> torch.Tensor:
    """True disk centres, (frames, 2) as (x, y) pixels in [0, SIZE) (wrapped)."""
    t = torch.arange(frames, dtype=torch.float64)[:, None]
    free = torch.tensor(spec.start, dtype=torch.float64) + t * torch.tensor(spec.velocity, dtype=torch.float64)
    return torch.remainder(free, SIZE).float()


def disk_mask(centres: torch.Tensor, radius: float = RADIUS, size: int = SIZE) -> torch.Tensor:
    """Anti-aliased disks on the torus (1 inside, 0 outside, a 1-pixel ramp at the edge): (N, size, size)."""
    coords = torch.arange(size, dtype=torch.float32) + 0.5  # pixel centres
    dx = wrap_offset(coords[None, None, :] - centres[:, 0, None, None], size)
    dy = wrap_offset(coords[None, :, None] - centres[:, 1, None, None], size)
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
    specs = [random_training_spec(generator) for _ in range(batch)]
    clips = torch.stack([render(s, frames) for s in specs])
    concat = clips[:, 0] / SCALING_FACTOR
    ids = torch.tensor([added_time_ids(s) for s in specs])
    return clips, concat, ids
