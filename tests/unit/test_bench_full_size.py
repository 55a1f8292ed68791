"""The full-size benchmark's reading of its own table: the longest video a card fits."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from bench_full_size import GIB, fits


def rows(method, cfg, points):
    return {(frames, method, cfg): {"peak_bytes": gib * GIB} for frames, gib in points}


def test_longest_video_interpolates_between_measured_lengths():
    table = rows("stock", "sequential", [(25, 6.0), (65, 11.0), (129, 19.0)])
    assert fits(table, "stock", "sequential", 9.0 * GIB) == "49"  # 25 + (3 / 5) * 40
    assert fits(table, "stock", "sequential", 5.0 * GIB) == "< 25"
    assert fits(table, "stock", "sequential", 23.0 * GIB) == "~161"  # past the last point: its slope, marked
    assert fits(table, "stock", "batched", 23.0 * GIB) == "?"  # not measured


def test_bounded_methods_fit_any_length_or_none():
    table = rows("segment_k8_x1", "sequential", [(25, 4.0), (257, 4.0)])
    assert fits(table, "segment_k8_x1", "sequential", 5.0 * GIB) == "any"
    assert fits(table, "segment_k8_x1", "sequential", 3.0 * GIB) == "no"
