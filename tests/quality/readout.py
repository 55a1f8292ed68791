"""Does the toy read its micro-conditioning? Its one-step estimate from pure noise, per direction.

At sigma 50 the noisy frames say nothing, so the model's estimate of the clean clip is all it
draws from the first frame and `fps` / `motion_bucket_id`. For each clip and each trained direction
this prints where that estimate puts the disk in the last frame (centre of the positive colour
response, taken as an offset from the first frame's centre: the frame is a torus) against the truth,
and how far apart the estimates of the different directions are. A toy that ignores the
conditioning gives one blurred estimate for every direction (spread ~0): the sampler then takes
the direction from the noise, and the gate fails. The same for the speeds (fps): the last frame's
distance travelled per fps, which must grow with fps (toy v2 is trained from 0.5 to 7 px/frame).
This is the check to run first on a new training recipe; it takes seconds.

    python tests/quality/readout.py --weights DIR/latest.safetensors
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import metrics
import toy_model
import toy_motion

SIGMA = 50.0
READOUT_FPS = (4, 6, 8)  # 7 frames at up to 1 px/frame: the last frame stays within half the torus of the first


@torch.no_grad()
def last_frame_centre(unet, spec, frames: int, noise: torch.Tensor) -> torch.Tensor:
    clip = toy_motion.render(spec, frames)[None]
    sigma = torch.tensor([SIGMA])
    s = sigma[:, None, None, None, None]
    noisy = clip + s * noise
    concat = (clip[:, 0] / toy_motion.SCALING_FACTOR)[:, None].expand(-1, frames, -1, -1, -1)
    model_input = torch.cat([noisy / torch.sqrt(s**2 + 1), concat], dim=2)
    ids = torch.tensor([toy_motion.added_time_ids(spec)])
    f = unet(model_input, 0.25 * torch.log(sigma), torch.zeros(1, 1, toy_model.CONTEXT_DIM), ids).sample
    estimate = (noisy / (s**2 + 1) - f * s / torch.sqrt(s**2 + 1))[0]
    response = metrics.colour_response(estimate, spec)[-1].clamp(min=0)
    coords = torch.arange(toy_motion.SIZE, dtype=torch.float32) + 0.5
    start = torch.tensor(spec.start)
    dx = toy_motion.wrap_offset(coords[None, :] - start[0]).expand(toy_motion.SIZE, -1)
    dy = toy_motion.wrap_offset(coords[:, None] - start[1]).expand(-1, toy_motion.SIZE)
    total = response.sum().clamp(min=1e-6)
    return torch.stack([(response * dx).sum() / total, (response * dy).sum() / total])  # offset from the start


def true_offset(spec, frames: int) -> torch.Tensor:
    return toy_motion.wrap_offset(toy_motion.trajectory(spec, frames)[-1] - torch.tensor(spec.start))


def readout(unet, clips: int = 8, frames: int = toy_model.TRAINED_FRAMES) -> dict:
    """Mean last-frame centre error of the sigma-50 estimate, and the mean spread over directions."""
    errors, spreads, true_spreads = [], [], []
    travelled = {fps: [] for fps in READOUT_FPS}
    noise = torch.randn(1, frames, toy_motion.CHANNELS, toy_motion.SIZE, toy_motion.SIZE,
                        generator=torch.Generator().manual_seed(0))
    for base in toy_motion.eval_specs(clips, seed=99):
        spec = dataclasses.replace(base, fps=max(toy_motion.EVAL_FPS))
        centres, truths = [], []
        for bucket in toy_motion.TRAIN_MOTION_BUCKETS:
            one = dataclasses.replace(spec, motion_bucket_id=bucket)
            centres.append(last_frame_centre(unet, one, frames, noise))
            truths.append(true_offset(one, frames))
            errors.append(float(torch.linalg.vector_norm(centres[-1] - truths[-1])))
        spreads.append(spread(torch.stack(centres)))
        true_spreads.append(spread(torch.stack(truths)))
        for fps in READOUT_FPS:  # a speed whose last frame stays within half a lap, so the offset is unambiguous
            one = dataclasses.replace(base, fps=fps)
            travelled[fps].append(float(torch.linalg.vector_norm(last_frame_centre(unet, one, frames, noise))))
    return {"sigma": SIGMA, "last_frame_error": sum(errors) / len(errors), "spread": sum(spreads) / len(spreads),
            "true_spread": sum(true_spreads) / len(true_spreads),
            "travelled": {fps: sum(v) / len(v) for fps, v in travelled.items()},
            "true_travelled": {fps: (frames - 1) * fps * toy_motion.SPEED_PER_FPS for fps in READOUT_FPS}}


def spread(points: torch.Tensor) -> float:
    """Mean distance of (N, 2) points from their mean."""
    return float(torch.linalg.vector_norm(points - points.mean(0), dim=1).mean())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path, default=toy_model.WEIGHTS)
    p.add_argument("--clips", type=int, default=8)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    r = readout(toy_model.load_toy_unet(args.weights), args.clips)
    print(f"sigma {SIGMA:g}, last frame: centre error {r['last_frame_error']:.2f} px; spread over directions "
          f"{r['spread']:.2f} px (truth {r['true_spread']:.2f} px; ~0 = the direction is ignored)")
    print("distance travelled by the last frame per fps: " + ", ".join(
        f"fps {fps}: {r['travelled'][fps]:.2f} px (truth {r['true_travelled'][fps]:.2f})" for fps in READOUT_FPS))


if __name__ == "__main__":
    main()
