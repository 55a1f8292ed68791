"""Browser tier: the shipped workflows and the pack's read-outs in the frontend ComfyUI ships.

Headless chromium (scripts/browser_env.sh installs it and playwright-core) against the real server,
in the classic canvas node design and in the Vue one ("Nodes 2.0") where the frontend renders it.
Screenshots go to test-artifacts/browser/.
"""
import json
import shutil
import subprocess

import pytest
from find_comfyui import comfyui_version
from server_prompts import ROOT, api_twin, write_init_image

SHOTS = ROOT / "test-artifacts" / "browser"
TWINS = sorted(p.name.removesuffix(".api.json") for p in (ROOT / "tests" / "workflows").glob("*.api.json"))
MIN_OPEN_SCALE = 0.6  # the canvas design draws node text from 8 px / 14 px = 0.57 zoom (default setting)


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:2] if part.isdigit())


def has_vue_design(comfyui_dir) -> bool:
    """ComfyUI 0.8.0 ships frontend 1.35, where the Vue node design ("Nodes 2.0") is a user setting
    that renders DOM widgets; 0.3.64 ships 1.27, whose Vue nodes are a hidden experiment that skips
    widget types it does not know (DOM widgets included): there only the canvas design is tested."""
    return version_tuple(comfyui_version(comfyui_dir)) >= (0, 8)


@pytest.fixture(scope="module")
def page_result(server, object_info, comfyui_dir):
    assert shutil.which("chromium"), "browser tier: no chromium (run scripts/browser_env.sh)"
    assert (ROOT / "tests/browser/node_modules/playwright-core").is_dir(), "browser tier: run scripts/browser_env.sh"
    for n in (1, 2, 3):
        write_init_image(server.base / "input" / f"keyframe_{n}.png", quarter_turns=n)
    SHOTS.mkdir(parents=True, exist_ok=True)
    node_designs = "canvas,vue" if has_vue_design(comfyui_dir) else "canvas"
    proc = subprocess.run(["node", "tests/browser/readouts.mjs", server.url, str(ROOT), str(SHOTS), node_designs],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not result["errors"], result["errors"]
    # ComfyUI 0.3.64's frontend (1.27) throws one settings error of its own on a fresh profile, with
    # or without this pack; errors raised in the pack's extension files fail the test.
    ours = [e for e in result["page_errors"] if "comfyui-longer-video" in e or "longer_video" in e]
    assert not ours, ours
    assert all(n == 0 for n in result["dialogs_open"].values()), result["dialogs_open"]
    result["has_batch_images"] = "BatchImagesNode" in object_info
    return result


def designs(result):
    """The node designs this frontend renders: canvas always; Vue where it shows DOM widgets."""
    return [d for d, v in result["designs"].items() if v["rendered"]]


def by_type(readouts: list[dict], node_type: str) -> list[dict]:
    return sorted((r for r in readouts if r["type"] == node_type), key=lambda r: r["id"])


def workflows(result, design):
    return result["designs"][design]["workflows"]


def test_the_vue_node_design_is_tested_where_the_frontend_has_it(page_result, comfyui_dir):
    assert "canvas" in designs(page_result)
    assert ("vue" in designs(page_result)) == has_vue_design(comfyui_dir)


@pytest.mark.parametrize("design", ["canvas", "vue"])
def test_no_node_overlaps_another_once_images_are_picked(page_result, design):
    if design not in designs(page_result):
        pytest.skip(f"this frontend does not render the {design} node design")
    for name, workflow in workflows(page_result, design).items():
        assert workflow["overlaps"] == [], (name, workflow["overlaps"])
        assert workflow["outside_groups"] == [], (name, workflow["outside_groups"])
    assert page_result["designs"][design]["added"]["overlaps"] == []


@pytest.mark.parametrize("design", ["canvas", "vue"])
def test_workflows_open_legible_on_the_note_and_the_first_nodes_to_change(page_result, design):
    """With the frontend's default level-of-detail setting a fitted 25-41 % view draws blank node
    boxes: each workflow stores the view it opens with (extra.ds), zoomed on the note and the first
    groups."""
    if design not in designs(page_result):
        pytest.skip(f"this frontend does not render the {design} node design")
    for name, workflow in workflows(page_result, design).items():
        opened = workflow["opened"]
        assert opened["scale"] >= MIN_OPEN_SCALE, (name, opened)
        if design == "canvas":
            assert not opened["low_quality"], (name, opened)
        assert "Read me" in opened["on_screen"], (name, opened)
        images = [t["title"] for t in workflow["titles"] if t["title"] in ("Init image", "Keyframe 1")]
        assert images and set(images) <= set(opened["on_screen"]), (name, opened)


@pytest.mark.parametrize("design", ["canvas", "vue"])
def test_titles_and_readouts_fit_their_nodes(page_result, design):
    if design not in designs(page_result):
        pytest.skip(f"this frontend does not render the {design} node design")
    shown = [w for w in workflows(page_result, design).values()] + [page_result["designs"][design]["added"]]
    edits = page_result["designs"][design]["edits"]
    for measured in shown:
        for title in measured["titles"]:
            assert title["need"] is not None and title["need"] <= title["have"], title
    for readout in [r for m in shown for r in m["readouts"]] + edits["mismatch"] + edits["warnings"]:
        assert readout["visible"] and readout["shown"].endswith(readout["text"]), readout
        assert readout["font_px"] == 12, readout  # wrapped, never shrunk
        assert not readout["overflow"] and 1 <= readout["lines"] <= 2, readout
        assert readout["text_px"] <= readout["lines"] * readout["node_px"], readout
    # a warning wider than a fresh FreeNoise node (canvas design, 270 px) wraps onto a second line
    wrapped = by_type(page_result["designs"][design]["added"]["readouts"], "LongerVideoFreeNoise")[0]
    assert not wrapped["ok"] and "Windowed Attention" in wrapped["text"]
    if design == "canvas":
        assert wrapped["lines"] == 2 and wrapped["text_px"] > wrapped["node_px"] - 16, wrapped


@pytest.mark.parametrize("design", ["canvas", "vue"])
def test_readouts_follow_the_graph(page_result, design):
    if design not in designs(page_result):
        pytest.skip(f"this frontend does not render the {design} node design")
    flows = workflows(page_result, design)
    stages = by_type(flows["svd_longer_video_keyframes_5_17_65"]["readouts"], "LongerVideoKeyframeConditioning")
    assert [s["frames"] for s in stages] == [17, 65]  # 5 from SVD conditioning -> 17 -> 65
    sampler = by_type(flows["svd_longer_video_keyframes_5_17_65"]["readouts"], "LongerVideoKeyframeSampler")[0]
    assert sampler["text"] == "16 gaps of 5 frames, 1 per call (5 frames); bidirectional: 2 model evaluations per step"
    own = by_type(flows["svd_longer_video_own_keyframes"]["readouts"], "LongerVideoKeyframeConditioning")[0]
    if page_result["has_batch_images"]:  # counted through BatchImagesNode
        assert own["text"].startswith("3 keyframes -> 25 frames")
    continued = flows["svd_longer_video_continued_97_frames"]["readouts"]
    # one MODEL samples clip 1 (25 frames) and three continuations of 4 + 24 = 28
    assert by_type(continued, "LongerVideoTemporalPositions")[0]["text"] == "25-28 frames: yarn scale up to 1.12"
    assert [r["text"] for r in by_type(continued, "LongerVideoContinue")] == [
        "25 frames so far -> 49 (samples 28)", "49 frames so far -> 73 (samples 28)", "73 frames so far -> 97 (samples 28)"]
    assert [r["frames"] for r in by_type(continued, "LongerVideoJoinClips")] == [49, 73, 97]
    loop = flows["svd_longer_video_loop_from_one_image"]["readouts"]  # 4 keyframes from SVD, loop, 8 between
    assert by_type(loop, "LongerVideoKeyframeConditioning")[0]["text"].startswith(
        "4 keyframes + loop -> 33 frames (gaps of 9, ends on the first)")
    assert by_type(loop, "LongerVideoKeyframeSampler")[0]["text"] == (
        "4 gaps of 9 frames, 1 per call (9 frames); bidirectional: 2 model evaluations per step")
    freenoise = flows["svd_longer_video_65_frames_freenoise"]["readouts"]
    assert by_type(freenoise, "LongerVideoWindowedAttention")[0]["text"] == "65 frames -> 11 windows"
    assert by_type(freenoise, "LongerVideoFreeNoise")[0]["text"] == "65 frames -> 11 windows"
    assert by_type(freenoise, "LongerVideoTemporalPositions")[0]["text"] == "65 frames: yarn scale 2.60"


@pytest.mark.parametrize("design", ["canvas", "vue"])
def test_typed_values_update_the_readouts_and_warn(page_result, design):
    if design not in designs(page_result):
        pytest.skip(f"this frontend does not render the {design} node design")
    edits = page_result["designs"][design]["edits"]
    for node_type, other in (("LongerVideoFreeNoise", "Windowed Attention"), ("LongerVideoWindowedAttention", "FreeNoise")):
        mismatch = by_type(edits["mismatch"], node_type)[0]
        assert not mismatch["ok"] and other in mismatch["text"], mismatch
    window = by_type(edits["warnings"], "LongerVideoWindowedAttention")[0]
    assert not window["ok"] and "window 200 >= video 129" in window["text"]
    assert by_type(edits["warnings"], "LongerVideoTemporalPositions")[0]["text"] == "129 frames: yarn scale 5.16"
    decode = by_type(edits["warnings"], "LongerVideoChunkedDecode")[0]
    assert not decode["ok"] and "overlap 8" in decode["text"]
    added = page_result["designs"][design]["added"]["readouts"]
    assert "x 6 + 1" in by_type(added, "LongerVideoKeyframeConditioning")[0]["text"]
    assert by_type(added, "LongerVideoChunkedDecode")[0]["text"].startswith("8 new frames per decoder call")


def test_workflows_explain_themselves(page_result):
    for name, workflow in workflows(page_result, "canvas").items():
        assert len(workflow["group_titles"]) >= 3 and all(workflow["group_titles"]), name
        assert len(workflow["notes"]) == 1 and "svd_xt.safetensors" in workflow["notes"][0], name
        assert "`" not in workflow["notes"][0], name  # inline code: blue on blue in the Vue design
        for word in ("Change", "Cost", "seed"):
            assert word in workflow["notes"][0], (name, word)
        titles = [t["title"] for t in workflow["titles"] if t["title"] != "Read me"]
        assert len(titles) == len(set(titles)), (name, titles)  # no two nodes look alike
    keyframes = workflows(page_result, "canvas")["svd_longer_video_keyframes_5_17_65"]
    assert [g for g in keyframes["group_titles"] if g.startswith("Stage")] == [
        "Stage 1: keyframes", "Stage 2: in-betweens", "Stage 3: in-betweens"]


@pytest.mark.parametrize("twin", TWINS)
def test_api_twin_is_what_export_api_writes(page_result, twin):
    """The committed twin equals the frontend's own conversion of the shipped UI workflow."""
    prompt = workflows(page_result, "canvas")[twin]["prompt"]
    if not page_result["has_batch_images"] and any(n["class_type"] == "BatchImagesNode" for n in api_twin(twin).values()):
        pytest.skip("this ComfyUI has no BatchImagesNode (ComfyUI 0.3.64): its frontend cannot convert that node")
    assert prompt == api_twin(twin), "regenerate the twins: python tests/browser/build_workflows.py"
    assert all(node["_meta"]["title"] for node in prompt.values())


def test_template_browser_lists_human_titles_and_legible_thumbnails(page_result):
    cards = page_result["templates"]
    shipped = sorted(p.stem for p in (ROOT / "example_workflows").glob("*.json"))
    assert sorted(c["name"] for c in cards) == shipped
    for card in cards:
        assert (ROOT / "example_workflows" / f"{card['name']}.jpg").is_file()
        assert card["title"] == card["name"] and card["title_fits"], card
        assert "_" not in card["title"] and "svd longer video" not in card["description"].lower(), card
        natural, shown = card["thumbnail_px"]
        # the thumbnails' smallest text is 46 px of 512: at least 16 px on the card
        assert 46 * shown / natural >= 16, card
    for name in ["template_browser.png"] + [f"{t}.canvas{view}.png" for t in TWINS for view in ("", ".overview")]:
        assert (SHOTS / name).stat().st_size > 10_000
