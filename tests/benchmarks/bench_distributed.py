"""Benchmark: a 4-gap segment-mode keyframe stage on 1 process and on 2 (torch.distributed, gloo, CPU).

Both runs use `tests/support/distributed_worker.py` (tiny random SVD pipeline, 32x32, k=2, 4
steps, one thread per process) launched the same way, in the same invocation, so the ratio is
measured here, not assumed. Times are the stage's wall time inside the processes (start-up and
model building excluded), the slowest rank for 2 processes; the 2-process video is also checked
bitwise against the 1-process one. On a machine with fewer free cores than processes the ranks
share cores, and the ratio says so.

    .venv/bin/python tests/benchmarks/bench_distributed.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from distributed_launch import launch


def stage_seconds(processes: int, out: Path) -> float:
    reports = launch(processes, out, ["bench"], timeout=900)
    return max(report["bench_seconds"] for report in reports)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per process count (the median is reported)")
    args = parser.parse_args()
    from safetensors.torch import load_file

    times: dict[int, list[float]] = {1: [], 2: []}
    equal = True
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for processes in (1, 2):  # interleaved, so a change in machine load hits both
                out = Path(tmp) / f"{processes}_{repeat}"
                times[processes].append(stage_seconds(processes, out))
                videos = [load_file(str(out / f"rank{r}.safetensors"))["bench"] for r in range(processes)]
                reference = load_file(str(Path(tmp) / f"1_{repeat}" / "rank0.safetensors"))["bench"]
                equal &= all(video.equal(reference) for video in videos)
    one = statistics.median(times[1])
    print(f"cpu cores visible: {os.cpu_count()}, load average at the end: {os.getloadavg()[0]:.1f}")
    print("| processes | 4-gap stage, s (median) | runs, s | speed-up vs 1 process |")
    print("|---|---|---|---|")
    for processes, values in times.items():
        median = statistics.median(values)
        print(f"| {processes} | {median:.2f} | {', '.join(f'{v:.2f}' for v in values)} | {one / median:.2f}x |")
    print(f"2-process video bitwise equal to the 1-process one: {equal}")


if __name__ == "__main__":
    main()
