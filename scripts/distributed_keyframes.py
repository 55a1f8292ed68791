"""Segment-mode keyframe interpolation (+ chunked decoding) on one process or split over several.

    python scripts/distributed_keyframes.py                                      # one process
    torchrun --nproc_per_node 2 scripts/distributed_keyframes.py                 # 2 CPU processes (gloo)
    accelerate launch --num_processes 4 scripts/distributed_keyframes.py \\
        --model stabilityai/stable-video-diffusion-img2vid-xt --keyframes a.png b.png c.png d.png e.png
    torchrun --nproc_per_node 4 scripts/distributed_keyframes.py --model ...     # the same without accelerate

Without --model it builds the tiny random-weight pipeline (no download: the output is noise, the
run shows the mechanics). Every rank prints the video's shape and a checksum of its latents, equal
on every rank and to a one-process run; rank 0 writes --out. `PartialState()` starts the process
group that `accelerate launch` / `torchrun` describe; the pack itself only looks at torch.distributed.
(`accelerate launch --cpu --num_processes 2` starts one process in accelerate 1.15: several CPU
processes need its mpirun options; torchrun starts them.)
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))


def default_keyframes(count: int, width: int, height: int) -> list:
    """Plain colour frames (red, green, blue, ...) when no --keyframes are given."""
    from PIL import Image

    colours = [(220, 40, 40), (40, 200, 60), (40, 60, 220), (230, 200, 40), (200, 60, 200)]
    return [Image.new("RGB", (width, height), colours[i % len(colours)]) for i in range(count)]


def write_video(path: Path, frames, fps: int) -> None:
    import av
    import numpy as np

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            image = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            for packet in stream.encode(image):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a diffusers SVD pipeline (hub id or folder); default: the tiny random one")
    parser.add_argument("--keyframes", nargs="+", type=Path, help="keyframe images (default: 5 plain colours)")
    parser.add_argument("--frames-between", type=int, default=4)
    parser.add_argument("--size", type=int, nargs=2, default=None, metavar=("WIDTH", "HEIGHT"),
                        help="default 1024 576 with --model, 64 64 for the tiny pipeline")
    parser.add_argument("--steps", type=int, default=None, help="default 25 with --model, 2 for the tiny pipeline")
    parser.add_argument("--seed", type=int, default=42, help="gap g uses seed + g")
    parser.add_argument("--out", type=Path, default=Path("keyframes.mp4"))
    args = parser.parse_args()

    from accelerate import PartialState

    # initialises torch.distributed under accelerate launch / torchrun (gloo on a machine without CUDA)
    state = PartialState(cpu=not torch.cuda.is_available())
    from pack_import import import_pack

    lv = import_pack()
    if args.model:
        from diffusers import StableVideoDiffusionPipeline

        dtype = torch.float16 if state.device.type == "cuda" else torch.float32
        pipe = StableVideoDiffusionPipeline.from_pretrained(args.model, torch_dtype=dtype).to(state.device)
        width, height = args.size or (1024, 576)
        steps = args.steps or 25
    else:
        from tiny_svd_pipeline import build_tiny_svd_pipeline

        pipe = build_tiny_svd_pipeline(seed=0).to(state.device)
        width, height = args.size or (64, 64)
        steps = args.steps or 2
    pipe.set_progress_bar_config(disable=not state.is_main_process)
    if args.keyframes:
        from PIL import Image

        keyframes = [Image.open(path).convert("RGB").resize((width, height)) for path in args.keyframes]
    else:
        keyframes = default_keyframes(5, width, height)
    lv.apply_chunked_decode(pipe, lv.ChunkSettings(chunk_frames=8, overlap_frames=2, crossfade_frames=2))
    with torch.no_grad():
        latents = lv.interpolate_keyframes(
            pipe, keyframes, lv.KeyframeSettings(frames_between=args.frames_between), size=lv.FrameSize(width, height),
            num_inference_steps=steps, generator=torch.Generator().manual_seed(args.seed),
            sampling=lv.KeyframeSamplingSettings(mode="segment"), output_type="latent").frames
        pixels = pipe.decode_latents(latents, latents.shape[1])  # chunks split over the ranks too
    frames = pipe.video_processor.postprocess_video(pixels, output_type="np")[0]
    digest = hashlib.sha256(latents.float().cpu().numpy().tobytes()).hexdigest()[:16]
    print(f"rank {state.process_index}/{state.num_processes}: {tuple(latents.shape)} latents, sha256 {digest}", flush=True)
    if state.is_main_process:
        write_video(args.out, (frames * 255).round().clip(0, 255).astype("uint8"), fps=8)
        print(f"wrote {args.out} ({frames.shape[0]} frames)")


if __name__ == "__main__":
    main()
