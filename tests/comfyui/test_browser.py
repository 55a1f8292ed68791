"""Browser tier: the pack's frontend read-outs in headless chromium against the real server.

scripts/browser_env.sh (run by scripts/run_tests.sh) installs chromium and playwright-core.
Screenshots go to test-artifacts/browser/.
"""
import json
import shutil
import subprocess

import pytest
from server_prompts import ROOT

SHOTS = ROOT / "test-artifacts" / "browser"


@pytest.fixture(scope="module")
def page_result(server):
    assert shutil.which("chromium"), "browser tier: no chromium (run scripts/browser_env.sh)"
    assert (ROOT / "tests/browser/node_modules/playwright-core").is_dir(), "browser tier: run scripts/browser_env.sh"
    SHOTS.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["node", "tests/browser/readouts.mjs", server.url, str(ROOT / "example_workflows"), str(SHOTS)],
                          cwd=ROOT, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not result["errors"], result["errors"]
    # ComfyUI 0.3.64's frontend (1.27) throws one settings error of its own on a fresh profile, with
    # or without this pack; errors raised in the pack's extension files fail the test.
    ours = [e for e in result["page_errors"] if "comfyui-longer-video" in e or "longer_video" in e]
    assert not ours, ours
    return result


def by_type(readouts: dict, node_type: str) -> list[dict]:
    return [r for _, r in sorted(readouts.items(), key=lambda kv: int(kv[0])) if r["type"] == node_type]


def test_keyframe_stage_frame_counts_follow_the_graph(page_result):
    stages = by_type(page_result["hierarchy"], "LongerVideoKeyframeConditioning")
    assert [s["frames"] for s in stages] == [17, 65]  # 5 from SVD conditioning -> 17 -> 65
    assert stages[1]["text"].startswith("17 keyframes -> 65 frames")
    assert by_type(page_result["hierarchy"], "LongerVideoChunkedDecode")[0]["ok"]


def test_window_count_and_position_scale_for_the_sampled_frames(page_result):
    readouts = page_result["freenoise"]
    assert by_type(readouts, "LongerVideoWindowedAttention")[0]["text"] == "65 frames -> 11 windows"
    assert by_type(readouts, "LongerVideoFreeNoise")[0]["text"] == "65 frames -> 11 windows"
    assert by_type(readouts, "LongerVideoTemporalPositions")[0]["text"] == "65 frames: yarn scale 2.60"


def test_typed_values_update_the_readouts_and_warn(page_result):
    readouts = page_result["freenoise_changed"]
    window = by_type(readouts, "LongerVideoWindowedAttention")[0]
    assert not window["ok"] and "window 200 >= video 129" in window["text"]
    assert by_type(readouts, "LongerVideoFreeNoise")[0]["text"] == "129 frames -> 27 windows"
    assert by_type(readouts, "LongerVideoTemporalPositions")[0]["text"] == "129 frames: yarn scale 5.16"
    decode = by_type(readouts, "LongerVideoChunkedDecode")[0]
    assert not decode["ok"] and "overlap 8" in decode["text"]


def test_nodes_added_by_hand_show_their_readouts(page_result):
    added = page_result["added"]
    assert "frames_between" in added["widgets"]
    assert added["keyframe"]["ok"] and "x 6 + 1" in added["keyframe"]["text"]
    assert added["decode"]["text"].startswith("8 new frames per decoder call")
    for name in ("keyframes_5_17_65.png", "freenoise_warnings.png", "added_nodes.png"):
        assert (SHOTS / name).stat().st_size > 10_000
        assert page_result["dialogs_open"][name] == 0, f"{name}: a dialog covers the canvas"
