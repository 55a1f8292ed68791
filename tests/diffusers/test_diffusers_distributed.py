"""Segment-mode keyframes and chunked decoding over torch.distributed (gloo on 127.0.0.1, 2 ranks).

One single-process run and one 2-process run of `support/distributed_worker.py` (tiny pipeline,
1 step, one thread per process); every rank must return the single-process tensors bitwise.
"""
import pytest
import torch
from distributed_launch import launch
from safetensors.torch import load_file

from longer_video.nodes.diffusers_patches.ranks import rank_items

SCENARIOS = ["gaps4", "gaps5", "decode", "fail"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    one = tmp_path_factory.mktemp("one")
    two = tmp_path_factory.mktemp("two")
    reports = launch(1, one, SCENARIOS[:-1], timeout=600), launch(2, two, SCENARIOS, timeout=600)
    return (load_file(str(one / "rank0.safetensors")),
            [load_file(str(two / f"rank{r}.safetensors")) for r in range(2)], reports)


@pytest.mark.parametrize("scenario, module", [("gaps4", "unet"), ("gaps5", "unet"), ("decode", "decoder")])
def test_every_rank_returns_the_single_process_result_bitwise(runs, scenario, module):
    single, ranks, (single_report, rank_reports) = runs
    assert single[scenario].abs().max() > 0
    for rank in ranks:
        assert torch.equal(rank[scenario], single[scenario]), scenario
    # the work was split, not repeated: each rank ran part of the model calls, together all of them
    calls = [report[f"{scenario}_calls"][module] for report in rank_reports]
    assert sum(calls) == single_report[0][f"{scenario}_calls"][module] and all(0 < n < sum(calls) for n in calls), calls


def test_split_is_contiguous_and_uneven_like_accelerate():
    assert [list(rank_items(5, r, 2)) for r in range(2)] == [[0, 1, 2], [3, 4]]
    assert [list(rank_items(1, r, 3)) for r in range(3)] == [[0], [], []]


def test_a_gap_failing_on_one_rank_fails_every_rank_naming_it(runs):
    *_, (_, reports) = runs  # the launch above had a deadline: a hang would have failed the fixture
    for report in reports:  # rank 1 holds gaps 2 and 3; gap 2 fails there, rank 0's gaps 0 and 1 succeed
        assert report["fail"].startswith("RankFailure: gap 2 (frames 4-6) failed on rank 1"), report
        assert "injected failure" in report["fail"]
