"""Start `distributed_worker.py` as N local processes on a loopback gloo group, with a deadline."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

WORKER = Path(__file__).resolve().parent / "distributed_worker.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(processes: int, out: Path, scenarios: list[str], timeout: float = 300) -> list[dict]:
    """Run the scenarios on `processes` ranks (1 = no process group); the ranks' JSON reports.

    Raises subprocess.TimeoutExpired (after killing every rank) when they do not finish in time,
    and RuntimeError with a rank's stderr when one exits non-zero."""
    port = str(free_port())
    env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=port, GLOO_SOCKET_IFNAME="lo",
               WORLD_SIZE=str(processes), OMP_NUM_THREADS="1")
    ranks = [subprocess.Popen([sys.executable, str(WORKER), str(out), *scenarios], env=dict(env, RANK=str(rank)),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for rank in range(processes)]
    deadline = time.monotonic() + timeout
    try:
        results = [rank.communicate(timeout=max(1.0, deadline - time.monotonic())) for rank in ranks]
    finally:
        for rank in ranks:
            if rank.poll() is None:
                rank.kill()
                rank.wait()
    for number, (rank, (_, stderr)) in enumerate(zip(ranks, results)):
        if rank.returncode != 0:
            raise RuntimeError(f"rank {number} exited with {rank.returncode}:\n{stderr[-3000:]}")
    return [json.loads((out / f"rank{rank}.json").read_text()) for rank in range(processes)]
