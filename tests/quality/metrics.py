"""Quality measures of generated toy clips against their known ground truth (toy_motion).

All take latents (T, 4, S, S) in the scaled space, as the sampler returns them.
- trajectory error: distance from the detected disk centre to the true one, frames 1..T-1
  (frame 0 is the given init), a missed disk counts as MISS_PENALTY (the largest possible error:
  the diagonal of the square the centre can be in);
- identity drift: relative L2 error of the disk found (residual over the background around the
  detected centre) against the true disk drawn there: size and channel pattern; 1.0 when missed;
- background flicker: mean |x[t+1] - x[t]| over the pixels the disk covers in neither frame
  (truth: 0, the background is still).
Detection projects (frame - background) on the disk's colour, giving ~1 inside the disk and ~0
outside, and takes the best disk-sized average; below DETECTION_LEVEL the disk is missed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from toy_motion import PALETTE, RADIUS, SIZE, ClipSpec, background, disk_mask, trajectory

MISS_PENALTY = math.sqrt(2) * (SIZE - 2 * RADIUS)
DETECTION_LEVEL = 0.5
WINDOW = RADIUS + 1.5  # pixels around the detected centre that belong to the disk


@dataclass
class ClipScores:
    trajectory_error: float  # pixels, mean over frames 1..T-1
    detection_rate: float  # fraction of frames 1..T-1 with the disk found
    identity_drift: float  # relative error, mean over frames 1..T-1
    flicker: float  # latent units, mean over frame pairs
    centres: torch.Tensor  # (T, 2) detected centres (nan when missed)


def colour_response(frames: torch.Tensor, spec: ClipSpec) -> torch.Tensor:
    """(T, S, S): (frame - background) projected on the disk's colour (1 inside the true disk)."""
    colour = PALETTE[spec.colour]
    residual = frames.float() - background(spec.background_seed)[None]
    return torch.einsum("tchw,c->thw", residual, colour) / colour.dot(colour)


def locate(response: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(centres (T,2) with nan where missed, found (T,) bool) from colour responses (T,S,S)."""
    frames, size = response.shape[0], response.shape[-1]
    side = 2 * math.ceil(RADIUS + 0.5) + 1  # odd, so the scores keep the frame's size
    template = disk_mask(torch.tensor([[side / 2, side / 2]]), size=side)[0]
    template = template / template.sum()
    pad = template.shape[-1] // 2
    scores = torch.nn.functional.conv2d(response[:, None], template[None, None], padding=pad)[:, 0]
    best = scores.flatten(1).argmax(1)
    peak_y, peak_x = best // size, best % size
    found = scores.flatten(1).max(1).values >= DETECTION_LEVEL
    coords = torch.arange(size, dtype=torch.float32) + 0.5
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    centres = torch.full((frames, 2), float("nan"))
    for t in range(frames):
        if not found[t]:
            continue
        near = ((xx - coords[peak_x[t]]) ** 2 + (yy - coords[peak_y[t]]) ** 2) <= WINDOW ** 2
        weight = response[t].clamp(min=0) * near
        centres[t, 0] = (weight * xx).sum() / weight.sum()
        centres[t, 1] = (weight * yy).sum() / weight.sum()
    return centres, found


def identity_errors(response: torch.Tensor, centres: torch.Tensor, found: torch.Tensor) -> torch.Tensor:
    """Per frame: || response - disk drawn at the found centre || / || disk || within the window; 1 if missed."""
    size = response.shape[-1]
    coords = torch.arange(size, dtype=torch.float32) + 0.5
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    errors = torch.ones(response.shape[0])
    for t in torch.nonzero(found).flatten().tolist():
        ideal = disk_mask(centres[t][None], size=size)[0]
        near = ((xx - centres[t, 0]) ** 2 + (yy - centres[t, 1]) ** 2) <= (WINDOW + 1) ** 2
        errors[t] = torch.linalg.vector_norm((response[t] - ideal) * near) / torch.linalg.vector_norm(ideal)
    return errors


def flicker(frames: torch.Tensor, spec: ClipSpec) -> float:
    truth = disk_mask(trajectory(spec, frames.shape[0]), radius=RADIUS + 1.5)
    still = (truth[1:] == 0) & (truth[:-1] == 0)
    change = (frames[1:].float() - frames[:-1].float()).abs().mean(1)
    return float((change * still).sum() / still.sum().clamp(min=1))


def score_clip(frames: torch.Tensor, spec: ClipSpec) -> ClipScores:
    response = colour_response(frames, spec)
    centres, found = locate(response)
    truth = trajectory(spec, frames.shape[0])
    distance = torch.linalg.vector_norm(centres - truth, dim=1)
    distance = torch.where(found, distance, torch.full_like(distance, MISS_PENALTY))
    identity = identity_errors(response, centres, found)
    return ClipScores(trajectory_error=float(distance[1:].mean()), detection_rate=float(found[1:].float().mean()),
                      identity_drift=float(identity[1:].mean()), flicker=flicker(frames, spec), centres=centres)


def mean_and_standard_error(values) -> tuple[float, float]:
    data = torch.tensor(list(values), dtype=torch.float64)
    if data.numel() < 2:
        return float(data.mean()), float("nan")
    return float(data.mean()), float(data.std(unbiased=True) / math.sqrt(data.numel()))
