"""Shared benchmark plumbing: find ComfyUI, and measure peak memory of one measurement per process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1] / "scripts"), str(HERE.parent / "support")]


def setup_comfy(pytorch_attention: bool = False):
    """Put the found ComfyUI on sys.path (CPU mode without CUDA) and import this pack.

    `pytorch_attention`: use torch's fused attention (SDPA), as ComfyUI does on NVIDIA GPUs, instead
    of the CPU default (sub-quadratic attention, whose chunking follows free memory)."""
    from find_comfyui import find_comfyui
    from pack_import import import_pack

    comfy = find_comfyui()
    if comfy is None:
        raise SystemExit("no ComfyUI found: set COMFYUI_DIR")
    sys.path.insert(0, str(comfy))
    import comfy.cli_args
    import torch

    comfy.cli_args.args.cpu = not torch.cuda.is_available()
    if pytorch_attention:
        comfy.cli_args.args.use_pytorch_cross_attention = True
    import_pack()


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakMemory:
    """CUDA: max allocated above the start; CPU: peak RSS above the start (sampled every 2 ms)."""

    def __enter__(self):
        import torch

        self.cuda = torch.cuda.is_available()
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        else:
            self.base = self._peak = rss()
            self._running = True
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def _poll(self):
        while self._running:
            self._peak = max(self._peak, rss())
            time.sleep(0.002)

    def __exit__(self, *exc):
        import torch

        if self.cuda:
            torch.cuda.synchronize()
            self.peak_bytes = torch.cuda.max_memory_allocated() - self.base
        else:
            self._running = False
            self._thread.join()
            self.peak_bytes = max(self._peak, rss()) - self.base

    @property
    def device(self) -> str:
        return "cuda" if self.cuda else "cpu"


def run_isolated(script: str, args: list[str], python: str | None = None) -> dict:
    """Run one measurement in a fresh process (`python`, default this one); it prints one JSON line last.

    A fixed mmap threshold makes glibc hand big blocks back at once, so RSS follows live memory.
    """
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    proc = subprocess.run([python or sys.executable, script, *args], capture_output=True, text=True, env=env)
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])
