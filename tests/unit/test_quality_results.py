"""tests/quality/results.json, the per-clip scores behind the quality table, is complete and consistent.

Why: every quality claim in README / QUALITY.md is a paired difference on the same clips; that can
only be re-checked if each cell holds one score per clip, for the same clips in every row.
"""
import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(HERE / "benchmarks"), str(HERE / "quality")]
RESULTS = HERE / "quality" / "results.json"


@pytest.fixture(scope="module")
def results():
    if not RESULTS.exists():
        pytest.fail(f"{RESULTS} is missing: run tests/benchmarks/bench_quality.py")
    return json.loads(RESULTS.read_text())


def test_rows_are_the_benchmarks_rows_and_include_the_two_the_claims_rest_on(results):
    import bench_quality

    assert set(results) <= set(bench_quality.ROWS)
    assert {"naive", "keyframes-oracle-segment"} <= set(results)


def test_every_cell_has_one_score_per_clip_for_every_metric(results):
    import bench_quality

    clips = {len(values) for cells in results.values() for cell in cells.values() for values in cell.values()}
    assert clips == {bench_quality.SEEDS}, clips
    for row, cells in results.items():
        for frames, cell in cells.items():
            loop = bench_quality.LOOP_PER_CLIP if row.startswith("loop") else ()
            assert set(cell) == set(bench_quality.PER_CLIP + loop), (row, frames)
            assert int(frames) >= 8


def test_naive_is_there_at_every_length_a_technique_is_compared_at(results):
    lengths = {frames for cells in results.values() for frames in cells}
    assert lengths <= set(results["naive"])
