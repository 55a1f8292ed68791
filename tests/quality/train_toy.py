"""Train the toy SVD on toy_motion clips with SVD's EDM v-prediction parameterisation.

The parameterisation is exactly what diffusers' EulerDiscreteScheduler (v_prediction, continuous
timesteps) and ComfyUI's V_PREDICTION_EDM use to sample SVD (sigma_data = 1):
    input = cat(x / sqrt(sigma^2 + 1), concat latent), timestep = log(sigma) / 4,
    denoised = x / (sigma^2 + 1) - F * sigma / sqrt(sigma^2 + 1),
so the loss on F is EDM's weighting of the denoised error. Sigmas: log-normal (P_mean -0.4,
P_std 1.4, below SVD's 0.7 since the clips are ~0.5 std) for 40 % of the batch, log-uniform from 3
up to SVD's sigma_max 700 for the rest. Why so much high noise: a clip is fully determined by its
first frame and its micro-conditioning, and only where the noise hides the frames does the loss
force the model to read fps / motion_bucket_id (measured: at sigma 5 a toy already finds the disk
in the noisy frames); SVD's 25 Karras steps spend 16 of 25 steps above sigma 3, and those steps
decide where the disk goes. The CLIP context is zero (the toy has no images; tests/quality/to_comfy.py
makes ComfyUI's CLIP embedding reach it as zero too): a random context adds a per-clip offset to
every transformer that the model must first learn to cancel.
The first --first-phase steps use high noise only (sigma >= 10): with low noise in the batch from
the start, the low-noise denoising error dominates and the toy settles on one blurred estimate for
every direction (a plateau a probe left within 400 steps of high-noise-only training).
What did not work (tests/quality/QUALITY.md): 8 directions x 3 speeds, 20 % of sigmas above 5 and a
random context: after 1,310 (11.6 M parameters) and 2,500 (3.8 M) steps the toy's prediction at
sigma 50 was the same for every motion_bucket_id.
Checkpoints (EMA weights, fp16 safetensors) go to --out every --save-every steps.

    python tests/quality/train_toy.py --out /tmp/toyrun --stop-step 3000   # the shipped toy: ~22 min on 2 idle CPU cores

The shipped toy (tests/quality/toy_svd) is the EMA weights at step 3,000 of the default 5,000-step
schedule (seed 0, batch 4); the gate already passed at step 1,000.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import toy_model
import toy_motion

P_MEAN, P_STD, HIGH_SIGMA_FRACTION, HIGH_SIGMA_MIN, SIGMA_MAX = -0.4, 1.4, 0.6, 3.0, 700.0
FIRST_PHASE_SIGMA_MIN = 10.0


def log_uniform(batch: int, low: float, g: torch.Generator) -> torch.Tensor:
    return torch.exp(math.log(low) + (math.log(SIGMA_MAX) - math.log(low)) * torch.rand(batch, generator=g))


def sample_sigmas(batch: int, g: torch.Generator, first_phase: bool = False) -> torch.Tensor:
    """Training noise levels; in the first phase only where the frames are hidden (>= FIRST_PHASE_SIGMA_MIN)."""
    if first_phase:
        return log_uniform(batch, FIRST_PHASE_SIGMA_MIN, g)
    lognormal = torch.exp(P_MEAN + P_STD * torch.randn(batch, generator=g))
    high = log_uniform(batch, HIGH_SIGMA_MIN, g)
    return torch.where(torch.rand(batch, generator=g) < HIGH_SIGMA_FRACTION, high, lognormal)


def random_context(batch: int, g: torch.Generator) -> torch.Tensor:
    """The CLIP context the toy sees: always zero (the widening to ComfyUI zeroes what reads it, see to_comfy)."""
    return torch.zeros(batch, 1, toy_model.CONTEXT_DIM)


def edm_v_loss(unet, clips, concat, ids, sigmas, noise, context) -> torch.Tensor:
    frames = clips.shape[1]
    s = sigmas[:, None, None, None, None]
    noisy = clips + s * noise
    c_in, c_skip, c_out = 1 / torch.sqrt(s**2 + 1), 1 / (s**2 + 1), -s / torch.sqrt(s**2 + 1)
    model_input = torch.cat([noisy * c_in, concat[:, None].expand(-1, frames, -1, -1, -1)], dim=2)
    prediction = unet(model_input, 0.25 * torch.log(sigmas), context, ids).sample
    target = (clips - c_skip * noisy) / c_out
    return (prediction - target).pow(2).mean()


class ThreadChooser:
    """On shared cores, 2 threads can be slower than 1 (each op waits for the slower thread):
    every 100 steps try each thread count for 8 steps and keep the faster. Results do not depend on it."""

    def __init__(self, most: int):
        self.options, self.current, self.times = list(range(1, most + 1)), most, {}
        torch.set_num_threads(most)

    def before(self, step: int) -> None:
        phase = step % 100
        if phase < 8 * len(self.options):
            self.current = self.options[phase // 8]
        elif phase == 8 * len(self.options):
            self.current = min(self.times, key=self.times.get)
        torch.set_num_threads(self.current)

    def after(self, seconds: float) -> None:
        previous = self.times.get(self.current, seconds)
        self.times[self.current] = 0.7 * previous + 0.3 * seconds


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--first-phase", type=int, default=800,
                   help="steps at the start with high noise only (sigma >= 10), where reading the micro-conditioning is the only way down")
    p.add_argument("--init", type=Path, default=None,
                   help="start from these weights (safetensors, toy layout) instead of a fresh model: toy v2 starts from v1")
    p.add_argument("--ema", type=float, default=0.995)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="most torch threads; fewer are tried when they are faster")
    p.add_argument("--save-every", type=int, default=500)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--time-budget", type=float, default=2700, help="stop (and save) after this many seconds")
    p.add_argument("--stop-step", type=int, default=None,
                   help="stop (and save) after this many steps, the schedule still spanning --steps (to redo a run the time budget cut)")
    args = p.parse_args(argv)

    threads = ThreadChooser(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    unet = (toy_model.load_toy_unet(args.init) if args.init else toy_model.build_toy_unet(args.seed)).to(args.device).train()
    ema = toy_model.build_toy_unet(args.seed).to(args.device).eval().requires_grad_(False)
    ema.load_state_dict(unet.state_dict())
    params = sum(p.numel() for p in unet.parameters())
    opt = torch.optim.AdamW(unet.parameters(), lr=args.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / args.warmup) * 0.5 * (
        1 + math.cos(math.pi * min(step, args.steps) / args.steps)))
    data_g = torch.Generator().manual_seed(args.seed + 1)
    noise_g = torch.Generator().manual_seed(args.seed + 2)
    start, running, step = time.time(), None, 0

    def save(tag: str):
        meta = {"step": step, "seconds": round(time.time() - start, 1), "params": params, "batch": args.batch,
                "frames": toy_model.TRAINED_FRAMES, "seed": args.seed, "lr": args.lr, "loss": running}
        toy_model.save_toy_unet(ema, args.out / f"{tag}.safetensors", metadata=meta)
        (args.out / f"{tag}.json").write_text(json.dumps(meta))

    print(json.dumps({"params": params, **{k: str(v) for k, v in vars(args).items()}}), flush=True)
    while step < args.steps:
        threads.before(step)
        step_start = time.time()
        clips, concat, ids = toy_motion.training_batch(args.batch, toy_model.TRAINED_FRAMES, data_g)
        sigmas = sample_sigmas(args.batch, noise_g, first_phase=step < args.first_phase)
        noise = torch.randn(clips.shape, generator=noise_g)
        context = random_context(args.batch, noise_g)
        clips, concat, ids, sigmas, noise, context = (t.to(args.device) for t in (clips, concat, ids, sigmas, noise, context))
        loss = edm_v_loss(unet, clips, concat, ids, sigmas, noise, context)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        schedule.step()
        step += 1
        with torch.no_grad():
            for e, q in zip(ema.parameters(), unet.parameters()):
                e.lerp_(q, 1 - args.ema)
        threads.after(time.time() - step_start)
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        elapsed = time.time() - start
        if step % 20 == 0:
            print(f"step {step} loss {running:.4f} lr {schedule.get_last_lr()[0]:.2e} "
                  f"{step / elapsed:.3f} steps/s {elapsed:.0f}s threads {threads.current}", flush=True)
        if step % args.save_every == 0:
            save("latest")
        if args.stop_step is not None and step >= args.stop_step:
            break
        if elapsed > args.time_budget:
            print(f"time budget reached at step {step}", flush=True)
            break
    save("latest")
    save("final")
    print(f"done: {step} steps in {time.time() - start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
