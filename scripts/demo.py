"""Longer-than-trained SVD generation with the pack's patches, on diffusers.

Without arguments it builds a tiny random-weight SVD-layout pipeline (no download, seconds on a
CPU), so the output is noise-like but every patched code path runs. Given a diffusers SVD / SVD-XT
folder (safetensors weights) it makes a real video the same way.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pack_import import PACK_ROOT, import_pack  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", nargs="?", help="path to a diffusers StableVideoDiffusionPipeline folder (default: tiny random model)")
    p.add_argument("--image", help="init image (default: a generated test pattern)")
    p.add_argument("--frames", type=int, help="frames to generate (default: 2x the trained length)")
    p.add_argument("--trained-frames", type=int, help="trained length (default: from the UNet config: 14 SVD, 25 SVD-XT)")
    p.add_argument("--positions", default="yarn", choices=["none", "linear", "ntk", "yarn"])
    p.add_argument("--steps", type=int, help="sampling steps (default 2 tiny, 25 real)")
    p.add_argument("--size", type=int, nargs=2, metavar=("W", "H"), help="output size (default 64 64 tiny, 1024 576 real)")
    p.add_argument("--chunk-frames", type=int, default=8)
    p.add_argument("--overlap-frames", type=int, default=2)
    p.add_argument("--crossfade-frames", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cuda" if _cuda() else "cpu")
    p.add_argument("--out", default=str(PACK_ROOT / "out" / "longer_video_demo.mp4"))
    return p.parse_args(argv)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def pattern_image(width: int, height: int):
    """A smooth colour gradient with diagonal stripes: an init image that needs no file."""
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x / max(width - 1, 1), y / max(height - 1, 1), 0.5 + 0.5 * np.sin((x + y) / 6.0)], -1)
    return Image.fromarray((rgb * 255).astype("uint8"))


def write_video(frames, path: Path, fps: int) -> None:
    """frames: (T, 3, H, W) floats in [0, 1]."""
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = (frames.clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy() * 255).round().astype(np.uint8)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = arrays.shape[2], arrays.shape[1], "yuv420p"
        for array in arrays:
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def main(argv=None) -> int:
    import torch

    args = parse_args(argv)
    import_pack()
    from longer_video.nodes.diffusers_patches import apply_chunked_decoding, apply_temporal_positions
    from longer_video.nodes.techniques.positions import position_scale

    if args.model:
        from diffusers import StableVideoDiffusionPipeline

        dtype = torch.float16 if args.device == "cuda" else torch.float32
        pipe = StableVideoDiffusionPipeline.from_pretrained(args.model, torch_dtype=dtype, use_safetensors=True, local_files_only=True)
        steps, (width, height) = args.steps or 25, args.size or (1024, 576)
    else:
        from longer_video.nodes.diffusers_patches.tiny_pipeline import build_tiny_svd_pipeline

        pipe = build_tiny_svd_pipeline(seed=args.seed)
        steps, (width, height) = args.steps or 2, args.size or (64, 64)
    pipe = pipe.to(args.device)
    trained = args.trained_frames or int(pipe.unet.config.num_frames)
    frames = args.frames or 2 * trained
    apply_temporal_positions(pipe, mode=args.positions, trained_frames=trained)
    apply_chunked_decoding(pipe, args.chunk_frames, args.overlap_frames, args.crossfade_frames)

    from PIL import Image

    image = Image.open(args.image).convert("RGB") if args.image else pattern_image(width, height)
    generator = torch.Generator(device="cpu").manual_seed(args.seed)
    start = time.perf_counter()
    video = pipe(image, height=height, width=width, num_frames=frames, num_inference_steps=steps,
                 decode_chunk_size=args.chunk_frames, generator=generator, output_type="pt").frames[0]
    seconds = time.perf_counter() - start
    write_video(video, Path(args.out), fps=7)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"longer-video demo: model={'tiny-random' if not args.model else args.model} frames={video.shape[0]} "
          f"(trained {trained}, position scale {position_scale(frames, trained):.2f}, mode {args.positions}) "
          f"size={width}x{height} steps={steps} time={seconds:.1f}s peak_rss={peak_mb:.0f}MB "
          f"decode=chunk {args.chunk_frames}/overlap {args.overlap_frames}/crossfade {args.crossfade_frames} "
          f"video={args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
