"""Longer-than-trained SVD generation with the pack's patches, on diffusers.

Without arguments it builds a tiny random-weight SVD-layout pipeline (no download, seconds on a
CPU), so the output is noise-like but every patched code path runs. Given a diffusers SVD / SVD-XT
folder (safetensors weights) it makes a real video the same way.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pack_import import PACK_ROOT, import_pack

import_pack()  # this checkout as `longer_video`


DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("auto", "float32", "float16", "bfloat16")
VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi")  # containers PyAV writes H.264 / MPEG-4 video into
SVD_COMPONENTS = ("unet", "vae", "image_encoder", "scheduler", "feature_extractor")


def build_parser() -> argparse.ArgumentParser:
    from longer_video.nodes.techniques.chunked_decode import ChunkSettings
    from longer_video.nodes.techniques.temporal_positions import MODES

    chunk = ChunkSettings()  # the Chunked VAE Decode node's defaults
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", nargs="?", help="a diffusers StableVideoDiffusionPipeline folder with safetensors weights "
                                            "(default: a tiny random-weight model built in seconds, no download)")
    p.add_argument("--image", help="init image file (default: a generated test pattern)")
    p.add_argument("--frames", type=int, help="frames to generate, >= 2 (default: 2x the trained length)")
    p.add_argument("--trained-frames", type=int, help="the model's trained length, >= 1 (default: from the UNet "
                                                      "config: 14 SVD, 25 SVD-XT)")
    p.add_argument("--positions", default="yarn", choices=MODES, help="temporal position interpolation (default yarn)")
    p.add_argument("--steps", type=int, help="sampling steps, >= 1 (default 2 tiny, 25 real)")
    p.add_argument("--size", type=int, nargs=2, metavar=("W", "H"),
                   help="output size in pixels, multiples of 8 (default 64 64 tiny, 1024 576 real)")
    p.add_argument("--chunk-frames", type=int, default=chunk.chunk_frames,
                   help=f"latent frames per decoder call (default {chunk.chunk_frames}, as the node)")
    p.add_argument("--overlap-frames", type=int, default=chunk.overlap_frames,
                   help=f"context frames decoded on each side of a chunk (default {chunk.overlap_frames})")
    p.add_argument("--crossfade-frames", type=int, default=chunk.crossfade_frames,
                   help=f"frames blended at each chunk seam (default {chunk.crossfade_frames})")
    p.add_argument("--seed", type=int, default=0, help="random seed, >= 0 (default 0)")
    p.add_argument("--device", default="auto", choices=DEVICES,
                   help="auto: CUDA or Apple MPS when present, else the CPU")
    p.add_argument("--dtype", default="auto", choices=DTYPES,
                   help="auto: float16 on a GPU, float32 on the CPU")
    p.add_argument("--out", default=str(PACK_ROOT / "out" / "longer_video_demo.mp4"), help="the video file to write: " + ", ".join(VIDEO_SUFFIXES))
    return p


def parse_args(argv=None):
    args = build_parser().parse_args(argv)
    problem = first_problem(args)
    if problem:
        print(f"demo: {problem}", file=sys.stderr)
        raise SystemExit(2)
    return args


def first_problem(args) -> str | None:
    """The first option that cannot work, as one line naming it; checked before anything is built."""
    from longer_video.nodes.techniques.chunked_decode import ChunkSettings
    from longer_video.nodes.techniques.errors import InputError

    for option, value, least in (("--frames", args.frames, 2), ("--trained-frames", args.trained_frames, 1),
                                 ("--steps", args.steps, 1), ("--seed", args.seed, 0)):
        if value is not None and value < least:
            return f"{option} must be >= {least}; got {value}"
    if args.size and any(v < 8 or v % 8 for v in args.size):
        return f"--size W H must be positive multiples of 8 (the VAE works at 1/8 size); got {args.size[0]} {args.size[1]}"
    try:
        ChunkSettings(args.chunk_frames, args.overlap_frames, args.crossfade_frames)
    except InputError as e:
        message = str(e)
        for name in ("chunk_frames", "overlap_frames", "crossfade_frames"):
            message = message.replace(name, "--" + name.replace("_", "-"))
        return message
    problem = (args.model and model_problem(Path(args.model))) or (args.image and image_problem(args.image)) \
        or out_problem(Path(args.out))
    if problem:
        return problem
    if resolve_device(args.device) is None:
        return f"--device {args.device}: not available on this machine (this torch sees no such device)"
    return None


def model_problem(folder: Path) -> str | None:
    """A folder diffusers would reject only after loading part of it (KeyError on `{}`, missing parts)."""
    index = folder / "model_index.json"
    if not index.is_file():
        return f"model: {folder} is not a diffusers pipeline folder (no model_index.json)"
    try:
        config = json.loads(index.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return f"model: {index} is not readable JSON ({e})"
    if not isinstance(config, dict) or config.get("_class_name") != "StableVideoDiffusionPipeline":
        found = config.get("_class_name") if isinstance(config, dict) else None
        return f"model: {index} must name _class_name StableVideoDiffusionPipeline; got {found!r}"
    missing = [name for name in SVD_COMPONENTS if name not in config or not (folder / name).is_dir()]
    if missing:
        return f"model: {folder} lacks the SVD components {', '.join(missing)} (needs {', '.join(SVD_COMPONENTS)})"
    return None


def image_problem(path: str) -> str | None:
    """A file PIL cannot read would otherwise fail after the pipeline is built."""
    from PIL import Image, UnidentifiedImageError

    if not Path(path).is_file():
        return f"--image: no file {path}"
    try:
        with Image.open(path) as image:
            image.verify()
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
        return f"--image {path}: not an image file PIL can read ({type(e).__name__})"
    return None


def out_problem(out: Path) -> str | None:
    """The video is written last: a bad --out must not cost the whole generation."""
    if out.suffix.lower() not in VIDEO_SUFFIXES:
        return f"--out {out}: the file name must end in one of {', '.join(VIDEO_SUFFIXES)}"
    if out.is_dir():
        return f"--out {out}: is a folder; give a video file name"
    existing = out.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"--out {out}: {existing} is not a folder"
    try:  # os.access says yes to root on read-only mounts; creating a file is the real test
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as e:
        return f"--out {out}: cannot create a file in {existing} ({e.strerror or e})"
    if out.exists() and not os.access(out, os.W_OK):
        return f"--out {out}: the file exists and is not writable"
    return None


def resolve_device(name: str) -> str | None:
    import torch

    mps = getattr(torch.backends, "mps", None)
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": mps is not None and mps.is_available()}
    if name == "auto":
        return "cuda" if available["cuda"] else "mps" if available["mps"] else "cpu"
    return name if available[name] else None


def resolve_dtype(name: str, device: str):
    import torch

    if name == "auto":
        return torch.float32 if device == "cpu" else torch.float16
    return getattr(torch, name)


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


# transformers >= 5 says once that CLIPImageProcessor falls back to its PIL backend when torchvision is
# absent (diffusers' SVD pipeline imports it). That PIL processor is the one transformers 4 always used, and
# SVD only asks it to normalise: known and harmless here, so the demo drops that one line. Every other
# transformers message still prints.
TORCHVISION_FALLBACK = "requires torchvision (not installed); falling back to"


def not_torchvision_fallback(record: logging.LogRecord) -> bool:
    return TORCHVISION_FALLBACK not in record.getMessage()


def quiet_known_noise(show_progress: bool) -> None:
    """Before diffusers is imported: drop the known-harmless line; progress bars only on a terminal."""
    logging.getLogger("transformers.utils.import_utils").addFilter(not_torchvision_fallback)
    if not show_progress:  # in a log a bar is a smear of \r-joined updates
        from diffusers.utils import logging as diffusers_logging
        from transformers.utils import logging as transformers_logging

        diffusers_logging.disable_progress_bar()
        transformers_logging.disable_progress_bar()


def main(argv=None) -> int:
    import torch

    args = parse_args(argv)
    # A real model takes minutes, so a terminal gets the sampling bar; the tiny one takes seconds.
    show_progress = bool(args.model) and sys.stderr.isatty()
    quiet_known_noise(show_progress)
    import longer_video as lv
    from longer_video.nodes.techniques.temporal_positions import position_scale

    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    if args.model:
        from diffusers import StableVideoDiffusionPipeline

        pipe = StableVideoDiffusionPipeline.from_pretrained(args.model, torch_dtype=dtype, use_safetensors=True,
                                                            local_files_only=True)
        steps, (width, height) = args.steps or 25, args.size or (1024, 576)
    else:
        from tiny_svd_pipeline import build_tiny_svd_pipeline

        pipe = build_tiny_svd_pipeline(seed=args.seed, dtype=dtype)
        steps, (width, height) = args.steps or 2, args.size or (64, 64)
    pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=not show_progress)
    trained = args.trained_frames or int(pipe.unet.config.num_frames)
    frames = args.frames or 2 * trained
    lv.apply_temporal_positions(pipe, lv.PositionSettings(mode=args.positions, trained_frames=trained))
    lv.apply_chunked_decode(pipe, lv.ChunkSettings(args.chunk_frames, args.overlap_frames, args.crossfade_frames))

    from PIL import Image

    image = Image.open(args.image).convert("RGB") if args.image else pattern_image(width, height)
    generator = torch.Generator(device="cpu").manual_seed(args.seed)
    start = time.perf_counter()
    video = pipe(image, height=height, width=width, num_frames=frames, num_inference_steps=steps,
                 generator=generator, output_type="pt").frames[0]
    seconds = time.perf_counter() - start
    write_video(video.float(), Path(args.out), fps=7)
    peak = f"peak_vram={torch.cuda.max_memory_allocated() / 2**20:.0f}MB" if device == "cuda" else \
        f"peak_rss={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}MB"
    print(f"longer-video demo: model={'tiny-random' if not args.model else args.model} frames={video.shape[0]} "
          f"(trained {trained}, position scale {position_scale(frames, trained):.2f}, mode {args.positions}) "
          f"size={width}x{height} steps={steps} device={device} dtype={str(dtype).removeprefix('torch.')} "
          f"time={seconds:.1f}s {peak} "
          f"decode=chunk {args.chunk_frames}/overlap {args.overlap_frames}/crossfade {args.crossfade_frames} "
          f"video={args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
