"""Benchmark: memory of one interpolation-LoRA training step on full-size SVD-XT, without a GPU.

diffusers' `UNetSpatioTemporalConditionModel()` (SVD-XT's UNet, 1.52 B parameters) is built in fp16
under FakeTensorMode (as bench_full_size.py does: no weights allocated, no math done), gets the
pack's LoRA (peft, fp32 factors, rank `--rank`, every default target), its windowed attention
(banded, radius 12, for clips longer than 25 frames: the trained length), optionally frame
chunking, and the gradient checkpointing `train_interpolation_lora` uses, then runs one training
step: forward on one clip (no CFG in training), the v-loss over the non-keyframe frames, backward,
and an AdamW step (its fp32 moments; 8-bit AdamW on a GPU keeps a quarter of them). MemTracker
counts every tensor from allocation to release (parameters, activations, gradients, optimizer
state): tensor accounting without the CUDA context or allocator slack (keep ~1 GiB of a card for those).

    .venv/bin/python tests/benchmarks/bench_training_memory.py                      # T = 17, 33, 65 at both sizes
    .venv/bin/python tests/benchmarks/bench_training_memory.py --frames 65 --size 1024x576

Each row runs in its own process (a few minutes on 2 cores) and is cached in --cache by the pack's
code version, so the table can be reprinted with --cached-only.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

from bench_common import HERE, run_isolated

REPO = HERE.parents[1]
GIB = 2 ** 30
FRAMES = (17, 33, 65)
SIZES = ("512x320", "1024x576")
FRAMES_BETWEEN = 4  # clips of (K-1)*4+1 frames: 17 = 5 keyframes, 33 = 9, 65 = 17
WINDOW, BAND_STRIDE = 25, 4
CACHE_VERSION = 1
TARGETS = {"T65_1024x576": 22.0, "T17_1024x576": 12.0}


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"--size {text!r}: expected WIDTHxHEIGHT, e.g. 1024x576") from None
    if width % 8 or height % 8:
        raise SystemExit(f"--size {text!r}: width and height must be multiples of 8")
    return width, height


def tracker():
    """MemTracker counting every tensor's storage, without its per-module snapshots (forward or
    backward: the checkpointed modules run their forward again inside backward). Peaks are unaffected."""
    from torch.distributed._tools.mem_tracker import MemTracker

    class PeakTracker(MemTracker):
        def _pre_fw_hook(self, module, inputs):
            pass

        def _post_fw_hook(self, module, inputs, outputs):
            pass

        def _pre_bw_hook(self, module, args):
            pass

        def _post_bw_hook(self, module, args):
            pass

    return PeakTracker()


def measure(frames: int, size: str, rank: int, checkpointing: str, chunking: int) -> dict:
    import torch

    sys.path.insert(0, str(REPO / "scripts"))
    from bench_full_size import SVD_XT_PARAMETERS, fake_fp16
    from diffusers import UNetSpatioTemporalConditionModel
    from pack_import import import_pack

    lv = import_pack()
    from longer_video.nodes.diffusers_patches.lora_adapter import add_lora
    from longer_video.nodes.diffusers_patches.training_checkpointing import enable_training_checkpointing
    from longer_video.nodes.techniques.interpolation_training import LoraTrainingSettings, pinned_frames, v_loss

    width, height = parse_size(size)
    h, w = height // 8, width // 8
    settings = LoraTrainingSettings(rank=rank, checkpointing=checkpointing)
    with fake_fp16():
        unet = UNetSpatioTemporalConditionModel()
        assert sum(p.numel() for p in unet.parameters()) == SVD_XT_PARAMETERS
        # peft moves each new LoRA layer to its base layer's device and dtype with `Module.to()`, which
        # cannot swap fake parameters; they are made on that same (fake CPU) device, and add_lora casts them to fp32.
        module_to, torch.nn.Module.to = torch.nn.Module.to, lambda self, *args, **kwargs: self
        try:
            params = add_lora(unet, settings)
        finally:
            torch.nn.Module.to = module_to
        lora_count = sum(p.numel() for p in params)
        lv.apply_windowed_attention(unet, lv.WindowSettings(WINDOW, BAND_STRIDE, "pyramid", "banded"))
        if chunking:
            lv.apply_frame_chunking(unet, lv.FrameChunkingSettings(chunking))
        enable_training_checkpointing(unet, checkpointing)
        unet.train()
        optimizer = torch.optim.AdamW(params, lr=1e-4)
        sample = torch.zeros(1, frames, 8, h, w, dtype=torch.float16)
        hidden = torch.zeros(1, 1, 1024, dtype=torch.float16)
        added = torch.zeros(1, 3, dtype=torch.float16)
        target = torch.zeros(1, frames, 4, h, w, dtype=torch.float32)
        weights = (~pinned_frames(frames, FRAMES_BETWEEN)).float()[None]

        def step():
            prediction = unet(sample, torch.tensor([0.5]), hidden, added).sample
            loss = v_loss(prediction, target, weights)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        mem = tracker()
        mem.track_external(unet, optimizer)
        start = time.perf_counter()
        with mem:
            step()
        (device_peak,) = mem.get_tracker_snapshot("peak").values()
    by_type = {str(getattr(k, "value", k)): v for k, v in device_peak.items()}
    return {"peak_bytes": by_type["Total"], "by_type": by_type, "lora_parameters": lora_count,
            "seconds": time.perf_counter() - start}


def code_version() -> str:
    digest = hashlib.sha256(str(CACHE_VERSION).encode())
    for path in sorted((REPO / "nodes").rglob("*.py")) + [Path(__file__)]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def label(checkpointing: str, chunking: int) -> str:
    return checkpointing + (f" + frame chunking {chunking}" if chunking else "")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", default=",".join(map(str, FRAMES)), help="comma-separated clip lengths ((K-1)*4+1)")
    p.add_argument("--size", default=",".join(SIZES), help="comma-separated WIDTHxHEIGHT training sizes")
    p.add_argument("--rank", type=int, default=16, help="LoRA rank")
    p.add_argument("--checkpointing", default="full", help="comma-separated, of: none, diffusers, full")
    p.add_argument("--frame-chunking", type=int, default=0, help="frames per chunk (0: off)")
    p.add_argument("--cache", default=str(REPO / "out" / "bench_training_memory"), help="folder of cached rows")
    p.add_argument("--cached-only", action="store_true", help="print the cached rows, measure nothing")
    p.add_argument("--one", nargs=5, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        frames, size, rank, checkpointing, chunking = args.one
        print(json.dumps(measure(int(frames), size, int(rank), checkpointing, int(chunking))))
        return
    sizes = args.size.split(",")
    for size in sizes:
        parse_size(size)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    version = code_version()
    print("One LoRA training step on SVD-XT's UNet (diffusers, fp16 base, fp32 LoRA, AdamW states), one clip, "
          f"banded windowed attention ({WINDOW} frames) past 25 frames; tensor accounting under FakeTensorMode "
          "(no CUDA context, no allocator slack).")
    print()
    print("| T | size | rank | checkpointing | peak GiB |")
    print("|---|---|---|---|---|")
    for frames in (int(f) for f in args.frames.split(",")):
        for size in sizes:
            for checkpointing in args.checkpointing.split(","):
                name = f"T{frames}-{size}-r{args.rank}-{checkpointing}-c{args.frame_chunking}.json"
                path = cache / name
                result = json.loads(path.read_text()) if path.exists() else None
                if not args.cached_only and (result is None or result.get("version") != version):
                    print(f"measuring T={frames} {size} {checkpointing} ...", file=sys.stderr, flush=True)
                    one = [str(frames), size, str(args.rank), checkpointing, str(args.frame_chunking)]
                    result = dict(run_isolated(__file__, ["--one", *one]), version=version)
                    path.write_text(json.dumps(result))
                peak = "not measured" if result is None else f"{result['peak_bytes'] / GIB:.2f}"
                print(f"| {frames} | {size} | {args.rank} | {label(checkpointing, args.frame_chunking)} | {peak} |",
                      flush=True)


if __name__ == "__main__":
    main()
