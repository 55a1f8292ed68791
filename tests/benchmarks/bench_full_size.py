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


if __name__ == "__main__":
    main()
