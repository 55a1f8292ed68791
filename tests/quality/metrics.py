"""Quality measures of generated toy clips against their known ground truth (toy_motion).

All take latents (T, 4, S, S) in the scaled space, as the sampler returns them. The toy's frame is
a torus (toy v2: the disk re-enters on the other side), so every distance is the shortest one on it.
- trajectory error: distance from the detected disk centre to the true one, frames 1..T-1
  (frame 0 is the given init), a missed disk counts as MISS_PENALTY (the largest possible error);
- velocity error: per frame pair, |detected displacement - true displacement| (speed and direction
  together), mean over pairs t -> t+1 with t >= 0; a pair with a missed disk counts MISS_PENALTY.
  Why besides trajectory error: a trajectory that went wrong once stays wrong in position for ever
  (on a torus, at chance), while velocity error asks at every frame whether the motion is right;
- motion alive: fraction of the frame pairs past the trained length (t + 1 >= trained frames) whose
  detected displacement has a length within 50 % of the true speed. It separates "the video froze"
  (the classic failure of SVD past its length) from "the video moves, in the wrong place";
- identity drift: relative L2 error of the disk found (residual over the background around the
  detected centre) against the true disk drawn there: size and channel pattern; 1.0 when missed;
- background flicker: mean |x[t+1] - x[t]| over the pixels the disk covers in neither frame
  (truth: 0, the background is still).
Detection projects (frame - background) on the disk's colour, giving ~1 inside the disk and ~0
outside, and takes the best disk-sized average (circular padding: the torus); below DETECTION_LEVEL
the disk is missed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from toy_motion import PALETTE, RADIUS, SIZE, ClipSpec, background, disk_mask, trajectory, wrap_offset

MISS_PENALTY = math.sqrt(2) * SIZE / 2  # the farthest two points of the torus are apart
DETECTION_LEVEL = 0.5
WINDOW = RADIUS + 1.5  # pixels around the detected centre that belong to the disk
ALIVE_TOLERANCE = 0.5  # "moving": displacement length within 50 % of the true speed
TRAINED_FRAMES = 8  # the toy's trained length (toy_model.TRAINED_FRAMES; not imported: metrics stay model-free)


@dataclass
class ClipScores:
    trajectory_error: float  # pixels, mean over frames 1..T-1
    velocity_error: float  # pixels per frame, mean over frame pairs
    motion_alive: float  # fraction of frame pairs past the trained length that move at about the true speed (nan if none)
    detection_rate: float  # fraction of frames 1..T-1 with the disk found
    identity_drift: float  # relative error, mean over frames 1..T-1
    flicker: float  # latent units, mean over frame pairs
    centres: torch.Tensor  # (T, 2) detected centres (nan when missed)
    seam_error: float = float("nan")  # loops only: velocity error (px) of the step from the last frame back to the first


def colour_response(frames: torch.Tensor, spec: ClipSpec) -> torch.Tensor:
    """(T, S, S): (frame - background) projected on the disk's colour (1 inside the true disk)."""
    colour = PALETTE[spec.colour]
    residual = frames.float() - background(spec.background_seed)[None]
    return torch.einsum("tchw,c->thw", residual, colour) / colour.dot(colour)


def torus_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Shortest distance between (..., 2) points on the SIZE x SIZE torus."""
    return torch.linalg.vector_norm(wrap_offset(a - b), dim=-1)


def locate(response: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(centres (T,2) with nan where missed, found (T,) bool) from colour responses (T,S,S)."""
    frames, size = response.shape[0], response.shape[-1]
    side = 2 * math.ceil(RADIUS + 0.5) + 1  # odd, so the scores keep the frame's size
    template = disk_mask(torch.tensor([[side / 2, side / 2]]), size=side)[0]
    template = template / template.sum()
    pad = template.shape[-1] // 2
    padded = torch.nn.functional.pad(response[:, None], (pad, pad, pad, pad), mode="circular")
    scores = torch.nn.functional.conv2d(padded, template[None, None])[:, 0]
    best = scores.flatten(1).argmax(1)
    peak = torch.stack([best % size, best // size], dim=1).float() + 0.5  # (x, y) pixel centres
    found = scores.flatten(1).max(1).values >= DETECTION_LEVEL
    coords = torch.arange(size, dtype=torch.float32) + 0.5
    centres = torch.full((frames, 2), float("nan"))
    for t in range(frames):
        if not found[t]:
            continue
        dx = wrap_offset(coords[None, :] - peak[t, 0], size).expand(size, size)
        dy = wrap_offset(coords[:, None] - peak[t, 1], size).expand(size, size)
        near = dx ** 2 + dy ** 2 <= WINDOW ** 2
        weight = response[t].clamp(min=0) * near
        offset = torch.stack([(weight * dx).sum(), (weight * dy).sum()]) / weight.sum()
        centres[t] = torch.remainder(peak[t] + offset, size)
    return centres, found


def identity_errors(response: torch.Tensor, centres: torch.Tensor, found: torch.Tensor) -> torch.Tensor:
    """Per frame: || response - disk drawn at the found centre || / || disk || within the window; 1 if missed."""
    size = response.shape[-1]
    coords = torch.arange(size, dtype=torch.float32) + 0.5
    errors = torch.ones(response.shape[0])
    for t in torch.nonzero(found).flatten().tolist():
        ideal = disk_mask(centres[t][None], size=size)[0]
        dx = wrap_offset(coords[None, :] - centres[t, 0], size)
        dy = wrap_offset(coords[:, None] - centres[t, 1], size)
        near = dx ** 2 + dy ** 2 <= (WINDOW + 1) ** 2
        errors[t] = torch.linalg.vector_norm((response[t] - ideal) * near) / torch.linalg.vector_norm(ideal)
    return errors


def flicker(frames: torch.Tensor, spec: ClipSpec) -> float:
    truth = disk_mask(trajectory(spec, frames.shape[0]), radius=RADIUS + 1.5)
    still = (truth[1:] == 0) & (truth[:-1] == 0)
    change = (frames[1:].float() - frames[:-1].float()).abs().mean(1)
    return float((change * still).sum() / still.sum().clamp(min=1))


def motion_scores(centres: torch.Tensor, found: torch.Tensor, spec: ClipSpec,
                  trained_frames: int = TRAINED_FRAMES) -> tuple[float, float]:
    """(velocity error, motion alive) of detected centres against the clip's constant true velocity."""
    velocity = torch.tensor(spec.velocity, dtype=torch.float32)
    both = found[1:] & found[:-1]
    step = wrap_offset(centres[1:] - centres[:-1])
    error = torch.linalg.vector_norm(step - velocity, dim=1)
    error = torch.where(both, error, torch.full_like(error, MISS_PENALTY))
    moving = both & ((torch.linalg.vector_norm(step, dim=1) - spec.speed).abs() <= ALIVE_TOLERANCE * spec.speed)
    late = moving[trained_frames - 1:]  # pairs (t, t+1) with t + 1 >= trained_frames
    alive = float(late.float().mean()) if late.numel() else float("nan")
    return float(error.mean()), alive


def seam_error(centres: torch.Tensor, found: torch.Tensor, spec: ClipSpec) -> float:
    """How far the step from the last frame back to the first is from the true velocity: a loop's seam.

    Why: a loop plays frame 0 after frame T-1; a seamless loop steps there as between any two frames."""
    if not (found[0] and found[-1]):
        return MISS_PENALTY
    step = wrap_offset(centres[0] - centres[-1])
    return float(torch.linalg.vector_norm(step - torch.tensor(spec.velocity, dtype=torch.float32)))


def score_clip(frames: torch.Tensor, spec: ClipSpec, loop: bool = False) -> ClipScores:
    response = colour_response(frames, spec)
    centres, found = locate(response)
    truth = trajectory(spec, frames.shape[0])
    distance = torus_distance(centres, truth)
    distance = torch.where(found, distance, torch.full_like(distance, MISS_PENALTY))
    identity = identity_errors(response, centres, found)
    velocity_error, alive = motion_scores(centres, found, spec)
    return ClipScores(trajectory_error=float(distance[1:].mean()), velocity_error=velocity_error, motion_alive=alive,
                      detection_rate=float(found[1:].float().mean()), identity_drift=float(identity[1:].mean()),
                      flicker=flicker(frames, spec), centres=centres,
                      seam_error=seam_error(centres, found, spec) if loop else float("nan"))


def mean_and_standard_error(values) -> tuple[float, float]:
    data = torch.tensor(list(values), dtype=torch.float64)
    if data.numel() < 2:
        return float(data.mean()), float("nan")
    return float(data.mean()), float(data.std(unbiased=True) / math.sqrt(data.numel()))


def paired_difference(values, baseline) -> tuple[float, float]:
    """Mean ± standard error of the per-clip difference values - baseline (same clips, same order).

    Why paired: clips differ far more from each other than techniques do on one clip; the per-clip
    difference removes the clip's own difficulty, so a real effect shows at a few clips."""
    values, baseline = list(values), list(baseline)
    if len(values) != len(baseline):
        raise ValueError(f"paired difference needs the same clips: {len(values)} values vs {len(baseline)}")
    return mean_and_standard_error(a - b for a, b in zip(values, baseline))
