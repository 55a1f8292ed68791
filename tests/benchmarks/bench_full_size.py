"""Benchmark: full-size SVD-XT at 1024x576 in fp16, one sampling step and the decode, without a GPU.

The real models are built under `torch._subclasses.fake_tensor.FakeTensorMode` (no weights are
allocated, no math is done) and one step runs under a MemTracker (every tensor's storage counted
from allocation to release: parameters + activations) and FlopCounterMode (matmuls, convolutions,
fused attention as one op, as flash / memory-efficient attention run on a GPU). So the table is
*tensor accounting*: the CUDA caching allocator's overhead and the CUDA context are not included.

Rows (`--methods`; each (T, method, cfg) runs in its own process, ~1 minute for the stock model on 2
free cores, longer for the chunked and windowed ones; results are cached in `--cache`, so a long
table can be built incrementally in the background and reprinted with `--cached-only`):

* ComfyUI's own SVD UNet (`SVD_img2vid` config as ComfyUI detects SVD-XT, pytorch attention), one
  call of ComfyUI's `calc_cond_batch` for cond + uncond, `batched` (one call of 2T frames) or
  `sequential` (two calls of T frames; ComfyUI picks by free memory):
  `stock`, `positions` (YaRN, trained 25), `block` / `banded` (windowed attention 25 / 4),
  `context_windows` (ComfyUI's Context Windows (Manual), 25 frames, overlap 21: the whole UNet per
  window), `segment_k<k>_x<g>` (keyframe segment mode: clips of k+1 frames, g per batch; TFLOP is
  for all ceil((T-1)/k) gaps of one step, peak for one batch), `frame_chunking` (8 frames per chunk),
  `frame_chunking_block` (frame chunking with `block` windows on top);
* diffusers' `UNetSpatioTemporalConditionModel()` (its defaults are SVD-XT), as the pipeline runs
  it (cond + uncond batched): `diffusers_stock`, `diffusers_frame_chunking`;
* the temporal VAE decoder (ComfyUI's), one decoder call: `decode_stock` (all T frames, what VAE
  Decode needs for a seamless decode) and `decode_chunked_<chunk>_<overlap>_<crossfade>` (16/4/4,
  8/2/2, 4/1/1: the Chunked VAE Decode's largest chunk; its output is gathered off the GPU; TFLOP
  counts every chunk's frames, overlap included).

    COMFYUI_DIR=~/ComfyUI <comfyui venv>/bin/python tests/benchmarks/bench_full_size.py --frames 129 \\
        --methods stock,frame_chunking

The whole table is in tests/benchmarks/VRAM.md. `--plot PNG` draws VRAM against frames from the
results (one line per method, cond/uncond sequential, the 8/12/16/24 GB cards as horizontal lines;
the decoder settings in a second panel). Without a cache on this machine, `--plot-from` reads the
results from a committed table instead of measuring them again (about a minute per configuration
on 2 cores, 2.5 hours in all):

    python tests/benchmarks/bench_full_size.py --plot-from tests/benchmarks/VRAM.md \\
        --plot tests/benchmarks/vram_vs_frames.png

Diffusers rows run in the pack's virtualenv ($LONGER_VIDEO_VENV or .venv) unless this Python has
diffusers. ComfyUI's context-window handler finds its step by matching sigmas (`set_step`, a
data-dependent lookup fake tensors cannot do); the benchmark sets the step instead, which changes
nothing for the static schedule measured here.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench_common import HERE, run_isolated, setup_comfy

REPO = HERE.parents[1]
LATENT_HEIGHT, LATENT_WIDTH = 72, 128  # 576 x 1024 pixels
FRAMES = (14, 25, 65, 129, 257)
WINDOW, STRIDE = 25, 4
FRAMES_PER_CHUNK = 8
SVD_XT_PARAMETERS = 1_524_623_082  # diffusers' UNetSpatioTemporalConditionModel() (SVD-XT's UNet)
CACHE_VERSION = 1
GIB = 2 ** 30
CARDS_GB = (8, 12, 16, 24)
RESERVE_GIB = 1.0  # CUDA context and allocator slack, assumed: the table has neither


@dataclass(frozen=True)
class Method:
    name: str
    kind: str  # "comfyui", "diffusers" or "decode"
    cfg: tuple[str, ...] = ("batched", "sequential")


SEGMENTS = [(k, g) for k in (4, 8, 16) for g in (1, 4)]
METHODS = [Method(name, "comfyui") for name in ("stock", "positions", "block", "banded", "context_windows")] \
    + [Method(f"segment_k{k}_x{g}", "comfyui") for k, g in SEGMENTS] \
    + [Method("frame_chunking", "comfyui"), Method("frame_chunking_block", "comfyui"),
       Method("diffusers_stock", "diffusers", ("batched",)), Method("diffusers_frame_chunking", "diffusers", ("batched",))] \
    + [Method(name, "decode", ("-",))
       for name in ("decode_stock", "decode_chunked_16_4_4", "decode_chunked_8_2_2", "decode_chunked_4_1_1")]
BY_NAME = {m.name: m for m in METHODS}


# --- measurement (child process) -------------------------------------------------------------------

def tracker():
    """MemTracker without its per-module snapshots: they cost a pass over every module per module
    call and refuse a second top-level call (sequential cond/uncond). Peaks are unaffected."""
    from torch.distributed._tools.mem_tracker import MemTracker

    class PeakTracker(MemTracker):
        def _pre_fw_hook(self, module, inputs):
            pass

        def _post_fw_hook(self, module, inputs, outputs):
            pass

    return PeakTracker()


def measure(run, *tracked) -> dict:
    """Peak bytes (parameters and activations) and FLOPs of `run()` under the trackers."""
    from torch.utils.flop_counter import FlopCounterMode

    mem = tracker()
    mem.track_external(*tracked)
    flops = FlopCounterMode(display=False)
    start = time.perf_counter()
    with mem, flops:
        run()
    (device_peak,) = mem.get_tracker_snapshot("peak").values()
    by_type = {str(getattr(k, "value", k)): v for k, v in device_peak.items()}
    return {"peak_bytes": by_type["Total"], "parameter_bytes": by_type.get("Parameter", 0),
            "flops": flops.get_total_flops(), "seconds": time.perf_counter() - start}


def fake_fp16():
    """Enter FakeTensorMode with fp16 as the default dtype (modules are built in it: `.to(fp16)` on a
    fake module cannot swap its parameters)."""
    import contextlib

    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    @contextlib.contextmanager
    def mode():
        with FakeTensorMode():
            torch.set_default_dtype(torch.float16)
            try:
                yield
            finally:
                torch.set_default_dtype(torch.float32)

    return mode()


def comfy_patched(method: str, patcher, frames: int):
    """(patched model, rows per cond, calls of that size per step) for a ComfyUI method."""
    from longer_video.nodes.comfy_patches.clip_batch import ClipBatch, as_batch_of_clips
    from longer_video.nodes.comfy_patches.frame_chunking import apply_frame_chunking
    from longer_video.nodes.comfy_patches.temporal_positions import apply_temporal_positions
    from longer_video.nodes.comfy_patches.windowed_attention import apply_windowed_attention
    from longer_video.nodes.techniques.frame_chunking import FrameChunkingSettings
    from longer_video.nodes.techniques.temporal_positions import PositionSettings
    from longer_video.nodes.techniques.windowed_attention import WindowSettings

    if method == "stock":
        return patcher, frames, 1
    if method == "positions":
        return apply_temporal_positions(patcher, PositionSettings("yarn", WINDOW)), frames, 1
    if method in ("block", "banded"):
        return apply_windowed_attention(patcher, WindowSettings(WINDOW, STRIDE, "pyramid", method)), frames, 1
    if method.startswith("frame_chunking"):
        chunked = apply_frame_chunking(patcher, FrameChunkingSettings(FRAMES_PER_CHUNK))
        if method.endswith("_block"):
            chunked = apply_windowed_attention(chunked, WindowSettings(WINDOW, STRIDE, "pyramid", "block"))
        return chunked, frames, 1
    if method == "context_windows":
        from comfy_extras.nodes_context_windows import ContextWindowsManualNode

        names = {i.id for i in ContextWindowsManualNode.define_schema().inputs}
        kwargs = dict(context_length=WINDOW, context_overlap=WINDOW - STRIDE, context_schedule="standard_static",
                      context_stride=1, closed_loop=False, fuse_method="pyramid", dim=0, freenoise=False)
        windowed = ContextWindowsManualNode.execute(patcher, **{k: v for k, v in kwargs.items() if k in names}).result[0]
        handler = windowed.model_options["context_handler"]
        handler.set_step = lambda timestep, model_options: setattr(handler, "_step", 0)  # see the module docstring
        return windowed, frames, 1
    k, g = (int(part[1:]) for part in method.split("_")[1:])
    gaps = math.ceil((frames - 1) / k)
    per_batch = min(g, gaps)
    clips = ClipBatch(k + 1, tuple(range(per_batch)))
    return as_batch_of_clips(patcher, clips, "euler"), per_batch * (k + 1), gaps / per_batch


def measure_comfyui(frames: int, method: str, cfg: str) -> dict:
    setup_comfy(pytorch_attention=True)
    import comfy.model_management as mm
    import comfy.model_patcher
    import comfy.sampler_helpers
    import comfy.samplers
    import comfy.supported_models
    import torch
    from comfy_models import svd_xt_unet_config

    from longer_video.nodes.comfy_patches.frame_chunking import unet_floor

    torch.set_grad_enabled(False)
    cpu = torch.device("cpu")
    with fake_fp16():
        model_config = comfy.supported_models.SVD_img2vid(svd_xt_unet_config())
        model_config.set_inference_dtype(torch.float16, None)
        base = model_config.get_model({}, device=cpu).eval()
        parameters = sum(p.numel() for p in base.diffusion_model.parameters())
        assert parameters == SVD_XT_PARAMETERS, parameters
        patcher = comfy.model_patcher.ModelPatcher(base, load_device=cpu, offload_device=cpu)
        patched, rows, calls = comfy_patched(method, patcher, frames)
        shape = (rows, 4, LATENT_HEIGHT, LATENT_WIDTH)
        latent = torch.zeros(shape, dtype=torch.float32)
        cond = {"concat_latent_image": torch.zeros(1, 4, LATENT_HEIGHT, LATENT_WIDTH), "fps": 6,
                "motion_bucket_id": 127, "augmentation_level": 0.0}
        conds = {"positive": comfy.sampler_helpers.convert_cond([[torch.zeros(1, 1, 1024), cond]]),
                 "negative": comfy.sampler_helpers.convert_cond([[torch.zeros(1, 1, 1024), dict(cond)]])}
        conds = comfy.samplers.process_conds(base, latent, conds, cpu, latent, None, 0)
        sigmas = torch.tensor([10.0, 0.0])
        options = patched.model_options
        options.setdefault("transformer_options", {})["sample_sigmas"] = sigmas
        patched.patch_model(load_weights=False)  # object patches, as loading applies them
        patched.pre_run()
        free = 1 << 60 if cfg == "batched" else 0  # ComfyUI batches cond and uncond when they fit
        mm.get_free_memory = lambda dev=None, torch_free_too=False: (free, free) if torch_free_too else free

        def step():
            comfy.samplers.calc_cond_batch(base, [conds["positive"], conds["negative"]], latent,
                                           torch.full((rows,), 10.0), options)

        result = measure(step, base)
    floor = unet_floor(base.diffusion_model)
    result.update(flops=result["flops"] * calls, floor_elements=floor.total, floor_skips=floor.skips,
                  floor_stream=floor.stream)
    return result


def measure_diffusers(frames: int, method: str) -> dict:
    import torch
    from diffusers import UNetSpatioTemporalConditionModel

    sys.path.insert(0, str(REPO / "scripts"))
    from pack_import import import_pack

    lv = import_pack()
    torch.set_grad_enabled(False)
    with fake_fp16():
        unet = UNetSpatioTemporalConditionModel().eval()
        assert sum(p.numel() for p in unet.parameters()) == SVD_XT_PARAMETERS
        if method == "diffusers_frame_chunking":
            lv.apply_frame_chunking(unet, lv.FrameChunkingSettings(FRAMES_PER_CHUNK))
        sample = torch.zeros(2, frames, 8, LATENT_HEIGHT, LATENT_WIDTH, dtype=torch.float16)
        hidden = torch.zeros(2, 1, 1024, dtype=torch.float16)
        added = torch.zeros(2, 3, dtype=torch.float16)
        return measure(lambda: unet(sample, torch.tensor(10.0), hidden, added), unet)


def measure_decode(frames: int, method: str) -> dict:
    setup_comfy(pytorch_attention=True)
    import torch
    from comfy.ldm.models.autoencoder import AutoencodingEngine
    from comfy_models import SVD_VAE_ENCODER

    torch.set_grad_enabled(False)
    chunk = frames if method == "decode_stock" else min(frames, int(method.split("_")[2]))
    decoder = dict(SVD_VAE_ENCODER, video_kernel_size=[3, 1, 1], alpha=0.0)
    with fake_fp16():
        engine = AutoencodingEngine(
            regularizer_config={"target": "comfy.ldm.models.autoencoder.DiagonalGaussianRegularizer"},
            encoder_config={"target": "comfy.ldm.modules.diffusionmodules.model.Encoder", "params": SVD_VAE_ENCODER},
            decoder_config={"target": "comfy.ldm.modules.temporal_ae.VideoDecoder", "params": decoder},
        ).eval()
        latent = torch.zeros(chunk, 4, LATENT_HEIGHT, LATENT_WIDTH, dtype=torch.float16)
        result = measure(lambda: engine.decode(latent), engine)  # the whole VAE is loaded to decode
    if method != "decode_stock":  # decoder FLOPs are per frame: scale one chunk's to every chunk's frames
        result["flops"] *= sum(c.end - c.start for c in chunk_plan(frames, method)) / chunk
    return result


def chunk_plan(frames: int, method: str):
    sys.path.insert(0, str(REPO / "scripts"))
    from pack_import import import_pack

    import_pack()
    from longer_video.nodes.techniques.chunked_decode import ChunkSettings, plan_chunks

    chunk, overlap, crossfade = (int(v) for v in method.split("_")[2:])
    return plan_chunks(frames, ChunkSettings(chunk, overlap, crossfade))


def measure_one(frames: int, method: str, cfg: str) -> dict:
    kind = BY_NAME[method].kind
    if kind == "comfyui":
        return measure_comfyui(frames, method, cfg)
    if kind == "diffusers":
        return measure_diffusers(frames, method)
    return measure_decode(frames, method)


# --- the table (parent process) --------------------------------------------------------------------

def interpreter(kind: str, args) -> str:
    """A Python that can run this kind of row: this one if it has what the row imports."""
    if kind == "diffusers":
        if importlib.util.find_spec("diffusers") is not None:
            return sys.executable
        venv = os.environ.get("LONGER_VIDEO_VENV") or str(REPO / ".venv")
        return args.diffusers_python or str(Path(venv) / "bin" / "python")
    if importlib.util.find_spec("torchsde") is not None:  # one of ComfyUI's requirements
        return sys.executable
    if args.comfyui_python:
        return args.comfyui_python
    sys.path.insert(0, str(REPO / "scripts"))
    from find_comfyui import find_comfyui

    comfy = find_comfyui()
    venv = subprocess.run(["bash", str(REPO / "scripts" / "comfyui_env.sh"), str(comfy)], capture_output=True,
                          text=True, check=True).stdout.strip()
    return str(Path(venv) / "bin" / "python")


def code_version() -> str:
    """Results are reused while the pack's code and CACHE_VERSION (bumped when a measurement changes)
    are unchanged."""
    digest = hashlib.sha256(str(CACHE_VERSION).encode())
    for path in sorted((REPO / "nodes").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cache_path(cache: Path, frames: int, method: str, cfg: str) -> Path:
    return cache / f"{method}-T{frames}-{cfg}.json"


def cached(cache: Path, frames: int, method: str, cfg: str, version: str | None) -> dict | None:
    path = cache_path(cache, frames, method, cfg)
    if not path.exists():
        return None
    result = json.loads(path.read_text())
    return result if version is None or result.get("version") == version else None


def rows_wanted(args) -> list[tuple[int, str, str]]:
    return [(frames, m.name, cfg) for frames in args.frames for m in args.methods for cfg in m.cfg
            if cfg in args.cfg or cfg == "-"]


def print_table(results: dict, args) -> None:
    print("Full-size SVD-XT UNet (1.52 B parameters, 2.84 GiB in fp16), 1024x576 (latent 72x128), fp16, one sampling "
          "step with cond + uncond. Tensor accounting under FakeTensorMode (MemTracker: parameters + activations; "
          "FlopCounterMode): allocator overhead and CUDA context not included; uncalibrated (no GPU measurement yet). "
          "Methods without a prefix: ComfyUI's SVD_img2vid model; decode rows: one temporal VAE decoder call.")
    print()
    print("| T | method | cfg | TFLOP/step | peak GiB |")
    print("|---|---|---|---|---|")
    for frames, method, cfg in rows_wanted(args):
        r = results.get((frames, method, cfg))
        if r is None:
            print(f"| {frames} | {method} | {cfg} | not measured | not measured |")
        else:
            print(f"| {frames} | {method} | {cfg} | {r['flops'] / 1e12:.1f} | {r['peak_bytes'] / GIB:.2f} |")
    print()
    print_floor(results)
    print()
    print_longest(results)


def fits(results: dict, method: str, cfg: str, budget: float) -> str:
    """The longest T whose (linearly interpolated) peak fits `budget` bytes, from the measured rows."""
    points = sorted((f, r["peak_bytes"]) for (f, m, c), r in results.items() if m == method and c == cfg)
    if len(points) < 2:
        return "?"
    if BY_NAME[method].kind == "decode" and method != "decode_stock" or method.startswith(("segment", "context")):
        return "any" if max(p for _, p in points) <= budget else "no"  # bounded by a chunk / window / segment
    if points[0][1] > budget:
        return f"< {points[0][0]}"
    for (f0, p0), (f1, p1) in zip(points, points[1:]):
        if p1 > budget:
            return str(int(f0 + (budget - p0) / (p1 - p0) * (f1 - f0)))
    (f0, p0), (f1, p1) = points[-2:]
    slope = (p1 - p0) / (f1 - f0)
    return f"~{int(f1 + (budget - p1) / slope)}" if slope > 0 else "any"


def print_longest(results: dict) -> None:
    budgets = [gb * GIB - RESERVE_GIB * GIB for gb in CARDS_GB]
    print(f"Longest whole video per card (T with peak <= card - {RESERVE_GIB:g} GiB, interpolated between measured "
          f"T; ~ = extrapolated past the longest measured; any = memory does not grow with T; no = does not fit):")
    print()
    print("| method | cfg | " + " | ".join(f"{gb} GB" for gb in CARDS_GB) + " |")
    print("|---|---|" + "---|" * len(CARDS_GB))
    for method in BY_NAME.values():
        for cfg in method.cfg:
            if any(m == method.name and c == cfg for (_, m, c) in results):
                cells = [fits(results, method.name, cfg, budget) for budget in budgets]
                print(f"| {method.name} | {cfg} | " + " | ".join(cells) + " |")


def print_floor(results: dict) -> None:
    """The per-frame floor frame chunking cannot shrink, from the UNet's structure and as measured."""
    sample = next((r for r in results.values() if "floor_elements" in r), None)
    if sample is None:
        return
    per_frame = LATENT_HEIGHT * LATENT_WIDTH * 2 / 2 ** 20  # MiB per element per latent pixel, fp16
    print(f"Per-frame floor (ComfyUI's UNet, fp16, 1024x576): {sample['floor_elements'] * per_frame:.1f} MiB per frame "
          f"(per cond/uncond row) = skip connections still held {sample['floor_skips'] * per_frame:.1f} MiB + residual "
          f"stream at the widest decoder step (h and [h, skip]) {sample['floor_stream'] * per_frame:.1f} MiB.")
    measured = sorted((f, r["peak_bytes"]) for (f, m, c), r in results.items()
                      if m == "frame_chunking" and c == "sequential")
    if len(measured) >= 2:
        (f0, p0), (f1, p1) = measured[-2], measured[-1]
        print(f"Measured growth of frame_chunking (sequential) between T={f0} and T={f1}: "
              f"{(p1 - p0) / (f1 - f0) / 2 ** 20:.1f} MiB per frame.")


# --- the picture -----------------------------------------------------------------------------------

def results_from_markdown(path: Path) -> dict:
    """The measured rows of a `| T | method | cfg | TFLOP/step | peak GiB |` table (as print_table
    writes it) in a markdown file, as the results the cache would give; unmeasured rows are left out."""
    results = {}
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not cells[0].isdigit() or cells[1] not in BY_NAME:
            continue
        try:
            flops, peak = float(cells[3]) * 1e12, float(cells[4]) * GIB
        except ValueError:
            continue  # "not measured"
        results[(int(cells[0]), cells[1], cells[2])] = {"flops": flops, "peak_bytes": peak}
    if not results:
        raise SystemExit(f"--plot-from {path}: no '| T | method | cfg | TFLOP/step | peak GiB |' rows found")
    return results


# Sampling methods (cond/uncond sequential) and decoder settings as the plot names them.
SAMPLING_LINES = [
    ("stock", "stock SVD-XT", (40, 40, 40), 5, False),
    ("positions", "Temporal Positions (= stock)", (250, 180, 60), 2, True),
    ("block", "Windowed Attention, block", (214, 39, 40), 3, False),
    ("banded", "Windowed Attention, banded", (255, 127, 14), 3, False),
    ("context_windows", "ComfyUI Context Windows", (140, 86, 75), 3, False),
    ("frame_chunking", "Frame Chunking (8)", (31, 119, 180), 4, False),
    ("frame_chunking_block", "Frame Chunking + block windows", (23, 190, 207), 3, True),
    ("segment_k4_x1", "segment mode k=4, 1 gap per batch", (150, 210, 140), 3, False),
    ("segment_k8_x1", "segment mode k=8, 1 gap per batch", (44, 160, 44), 3, False),
    ("segment_k16_x1", "segment mode k=16, 1 gap per batch", (20, 90, 20), 3, False),
    ("segment_k4_x4", "segment mode k=4, 4 gaps per batch", (200, 170, 230), 3, True),
    ("segment_k8_x4", "segment mode k=8, 4 gaps per batch", (148, 103, 189), 3, True),
    ("segment_k16_x4", "segment mode k=16, 4 gaps per batch", (90, 50, 130), 3, True),
]
DECODE_LINES = [
    ("decode_stock", "VAE Decode (all frames in one call)", (40, 40, 40), 5, False),
    ("decode_chunked_16_4_4", "Chunked VAE Decode 16/4/4", (214, 39, 40), 3, False),
    ("decode_chunked_8_2_2", "Chunked VAE Decode 8/2/2", (31, 119, 180), 3, False),
    ("decode_chunked_4_1_1", "Chunked VAE Decode 4/1/1", (44, 160, 44), 3, False),
]


def plot(results: dict, path: Path, max_gib: float = 48.0) -> None:
    """VRAM (peak GiB) against frames: sampling methods (cfg sequential) above, decoders below, with
    the cards as horizontal lines. Drawn with Pillow (no plotting library needed)."""
    from PIL import Image, ImageDraw, ImageFont

    font, small, bold = (ImageFont.load_default(size=s) for s in (20, 17, 24))
    width, left, right, legend_x = 1560, 150, 1090, 1120
    panels = [("Sampling, one step, cond and uncond one after the other", SAMPLING_LINES, "sequential", 660),
              ("Decoding, one decoder call", DECODE_LINES, "-", 430)]
    image = Image.new("RGB", (width, sum(h for *_, h in panels) + 40), "white")
    draw = ImageDraw.Draw(image)
    frames_max = max(f for f, _, _ in results) if results else 257
    top = 10
    for title, lines, cfg, height in panels:
        plot_top, plot_bottom = top + 50, top + height - 60
        draw.text((left, top + 12), title, fill="black", font=bold)
        x_of = lambda f: left + (right - left) * f / (frames_max + 3)  # noqa: E731
        y_of = lambda g: plot_bottom - (plot_bottom - plot_top) * min(g, max_gib) / max_gib  # noqa: E731
        for gib in range(0, int(max_gib) + 1, 8):
            draw.line([(left, y_of(gib)), (right, y_of(gib))], fill=(235, 235, 235), width=1)
            if gib not in CARDS_GB:
                draw.text((left - 12, y_of(gib)), f"{gib}", fill="black", font=small, anchor="rm")
        for card in CARDS_GB:  # the cards, labelled on the axis where no line runs
            draw.line([(left, y_of(card)), (right, y_of(card))], fill=(120, 120, 120), width=2)
            draw.text((left - 12, y_of(card)), f"{card} GB card", fill=(70, 70, 70), font=small, anchor="rm")
        frames_seen = sorted({f for f, _, _ in results})
        for f in frames_seen:
            draw.text((x_of(f), plot_bottom + 8), str(f), fill="black", font=small, anchor="mt")
        draw.text(((left + right) / 2, plot_bottom + 32), "frames", fill="black", font=font, anchor="mt")
        draw.text((left - 12, plot_top - 8), "peak GiB", fill="black", font=font, anchor="rb")
        draw.rectangle([left, plot_top, right, plot_bottom], outline="black", width=1)
        legend_y = plot_top
        for method, label, colour, line_width, dashed in lines:
            points = sorted((f, r["peak_bytes"] / GIB) for (f, m, c), r in results.items() if m == method and c == cfg)
            if not points:
                continue
            xy = [(x_of(f), y_of(g)) for f, g in points]
            for (x0, y0), (x1, y1) in zip(xy, xy[1:]):
                _segment(draw, (x0, y0, x1, y1), colour, line_width, dashed)
            for (f, g), (x, y) in zip(points, xy):
                draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=colour)
                if g > max_gib:  # off the chart: its value beside the point, under the top edge
                    last = f == points[-1][0]
                    draw.text((x - 8 if last else x + 8, y + 8), f"{g:.0f} GiB at {f}", fill=colour, font=small,
                              anchor="rt" if last else "lt")
            _segment(draw, (legend_x, legend_y + 10, legend_x + 40, legend_y + 10), colour, line_width, dashed)
            draw.text((legend_x + 50, legend_y + 10), label, fill="black", font=small, anchor="lm")
            legend_y += 30
        top += height
    draw.text((left, top + 8), "Tensor accounting at 1024x576, fp16 (FakeTensorMode): no allocator overhead, no CUDA "
              "context; keep about 1 GiB of a card for those.", fill=(90, 90, 90), font=small)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, optimize=True)


def _segment(draw, xyxy, colour, width, dashed):
    x0, y0, x1, y1 = xyxy
    if not dashed:
        draw.line([(x0, y0), (x1, y1)], fill=colour, width=width)
        return
    length = math.hypot(x1 - x0, y1 - y0)
    steps = max(1, int(length // 12))
    for i in range(0, steps, 2):
        a, b = i / steps, min(1.0, (i + 1) / steps)
        draw.line([(x0 + (x1 - x0) * a, y0 + (y1 - y0) * a), (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b)],
                  fill=colour, width=width)


def main():
    p = argparse.ArgumentParser(description="full-size SVD-XT memory and FLOPs under fake tensors")
    p.add_argument("--frames", default=",".join(map(str, FRAMES)), help="comma-separated frame counts")
    p.add_argument("--methods", default=",".join(m.name for m in METHODS),
                   help=f"comma-separated, of: {', '.join(BY_NAME)}")
    p.add_argument("--cfg", default="batched,sequential", help="batched, sequential or both")
    p.add_argument("--cache", default=str(REPO / "out" / "bench_full_size"), help="folder of cached results")
    p.add_argument("--cached-only", action="store_true", help="print the table from the cache, measure nothing")
    p.add_argument("--refresh", action="store_true", help="measure again even when a cached result is current")
    p.add_argument("--comfyui-python", help="Python of a ComfyUI virtualenv (default: found)")
    p.add_argument("--diffusers-python", help="Python with diffusers (default: $LONGER_VIDEO_VENV or .venv)")
    p.add_argument("--plot", help="also draw VRAM vs frames as a PNG at this path")
    p.add_argument("--plot-from", help="read the results from this markdown table (e.g. tests/benchmarks/VRAM.md) "
                                       "instead of measuring or the cache")
    p.add_argument("--one", nargs=3, metavar=("FRAMES", "METHOD", "CFG"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(measure_one(int(args.one[0]), args.one[1], args.one[2])))
        return
    args.frames = [int(f) for f in args.frames.split(",")]
    unknown = [name for name in args.methods.split(",") if name not in BY_NAME]
    if unknown:
        p.error(f"--methods: unknown {unknown}; choose from {', '.join(BY_NAME)}")
    args.methods = [BY_NAME[name] for name in args.methods.split(",")]
    args.cfg = args.cfg.split(",")
    if args.plot_from:
        results = results_from_markdown(Path(args.plot_from))
        print_table(results, args)
        if args.plot:
            plot(results, Path(args.plot))
        return
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    version = code_version()
    results = {}
    for frames, method, cfg in rows_wanted(args):
        result = cached(cache, frames, method, cfg, None if args.cached_only else version)
        if not args.cached_only and (result is None or args.refresh):
            python = interpreter(BY_NAME[method].kind, args)
            print(f"measuring T={frames} {method} {cfg} ...", file=sys.stderr, flush=True)
            result = dict(run_isolated(__file__, ["--one", str(frames), method, cfg], python=python), version=version)
            cache_path(cache, frames, method, cfg).write_text(json.dumps(result))
        if result is not None:
            results[(frames, method, cfg)] = result
    print_table(results, args)
    if args.plot:
        plot(results, Path(args.plot))


if __name__ == "__main__":
    main()
