"""One rank of the distributed tests and benchmark (or the single-process reference run).

    python distributed_worker.py OUT_DIR SCENARIO [SCENARIO ...]

With WORLD_SIZE > 1 in the environment (RANK, MASTER_ADDR=127.0.0.1, MASTER_PORT set by the
caller) it joins a gloo process group on loopback first; without, it runs as one process. Each
rank writes OUT_DIR/rank<r>.safetensors (one tensor per scenario) and OUT_DIR/rank<r>.json
(failure messages, wall times). One thread per process, so 1 and N processes compute each gap
with the same kernels (bitwise comparable).
Scenarios: gaps4, gaps5 (segment mode, 1 step), decode (chunked decode), fail (gap 3 raises on the
last rank), bench (gaps4 at 4 steps). Each scenario's wall time goes in the JSON.
"""
from __future__ import annotations

import datetime
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1] / "scripts")]

import torch  # noqa: E402

SIZE = 32
K = 2


def keyframes(count: int) -> torch.Tensor:
    return torch.rand(count, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(3))


def segments(lv, pipe, gaps: int, steps: int = 1) -> torch.Tensor:
    with torch.no_grad():
        return lv.interpolate_keyframes(
            pipe, keyframes(gaps + 1), lv.KeyframeSettings(K), size=lv.FrameSize(SIZE, SIZE), num_inference_steps=steps,
            noise_aug_strength=0.0, output_type="latent", generator=torch.Generator().manual_seed(11),
            sampling=lv.KeyframeSamplingSettings(mode="segment")).frames


def decode(lv, pipe) -> torch.Tensor:
    latents = torch.randn(1, 13, 4, SIZE // 8, SIZE // 8, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        return lv.decode_latents_chunked(pipe.vae, latents, lv.ChunkSettings(chunk_frames=5, overlap_frames=1,
                                                                              crossfade_frames=2))


def fail_on_last_rank(lv, pipe, rank: int, size: int) -> str:
    """The UNet raises on the last rank only: with 4 gaps on 2 ranks, its first gap (2) fails."""
    def boom(module, args, kwargs):
        raise RuntimeError("injected failure")

    handle = pipe.unet.register_forward_pre_hook(boom, with_kwargs=True) if rank == size - 1 else None
    try:
        segments(lv, pipe, 4)
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    finally:
        if handle is not None:
            handle.remove()
    return "no error"


def main(out: Path, scenarios: list[str]) -> None:
    torch.set_num_threads(1)
    size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if size > 1:
        import torch.distributed as dist

        dist.init_process_group("gloo", rank=rank, world_size=size, timeout=datetime.timedelta(seconds=60))
    from pack_import import import_pack
    from tiny_svd_pipeline import build_tiny_svd_pipeline

    lv = import_pack()
    pipe = build_tiny_svd_pipeline(seed=0)
    pipe.set_progress_bar_config(disable=True)
    calls = {"unet": 0, "decoder": 0}  # how much of the work this rank did

    def counter(name):
        def count(module, args):
            calls[name] += 1
        return count

    pipe.unet.register_forward_pre_hook(counter("unet"))
    pipe.vae.decoder.register_forward_pre_hook(counter("decoder"))
    tensors, report = {}, {"rank": rank, "world_size": size}
    for scenario in scenarios:
        calls.update(unet=0, decoder=0)
        start = time.perf_counter()
        if scenario in ("gaps4", "gaps5"):
            tensors[scenario] = segments(lv, pipe, int(scenario[-1]))
        elif scenario == "decode":
            tensors[scenario] = decode(lv, pipe)
        elif scenario == "fail":
            report["fail"] = fail_on_last_rank(lv, pipe, rank, size)
        elif scenario == "bench":
            tensors[scenario] = segments(lv, pipe, 4, steps=4)
        else:
            raise SystemExit(f"unknown scenario {scenario!r}")
        report[f"{scenario}_seconds"] = time.perf_counter() - start
        report[f"{scenario}_calls"] = dict(calls)
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    save_file({name: t.contiguous() for name, t in tensors.items()}, str(out / f"rank{rank}.safetensors"))
    (out / f"rank{rank}.json").write_text(json.dumps(report))
    if size > 1:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
