"""The shipped example workflows and their API twins, read as files: guidance per stage and notes.

Keyframe stages (Keyframe Conditioning + a sampler) sample at a constant cfg without
VideoLinearCFGGuidance: their keyframes are pinned exactly, so a ramp from frame 0 protects nothing,
and a frame-indexed ramp would make guidance depend on where a frame falls in the clip or gap
(in segment mode it restarts every gap). Stage 1 (stock SVD from the init image) keeps the ramp.
"""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TWINS = sorted((ROOT / "tests" / "workflows").glob("*.api.json"))
UI_WORKFLOWS = sorted((ROOT / "example_workflows").glob("*.json"))
SAMPLERS = ("KSampler", "LongerVideoKeyframeSampler")
KEYFRAME_CFG = 2.0
CONTINUED_FROM_FRAME_0 = ("SVD_img2vid_Conditioning", "LongerVideoContinue")


def model_chain(prompt: dict, node_id: str) -> list[str]:
    """Class types the sampler's MODEL passes through, from the sampler up to the loader."""
    chain = []
    link = prompt[node_id]["inputs"].get("model")
    while isinstance(link, list):
        node = prompt[link[0]]
        chain.append(node["class_type"])
        link = node["inputs"].get("model")
    return chain


def stages(prompt: dict) -> list[tuple[str, str]]:
    """(sampler id, class type of the node its latent_image comes from) for every sampler."""
    return [(i, prompt[n["inputs"]["latent_image"][0]]["class_type"])
            for i, n in prompt.items() if n["class_type"] in SAMPLERS]


@pytest.mark.parametrize("path", TWINS, ids=lambda p: p.name)
def test_keyframe_stages_sample_without_the_cfg_ramp_and_stage_one_keeps_it(path):
    prompt = json.loads(path.read_text())
    for sampler, source in stages(prompt):
        chain = model_chain(prompt, sampler)
        if source == "LongerVideoKeyframeConditioning":
            assert "VideoLinearCFGGuidance" not in chain, (path.name, sampler, chain)
            assert prompt[sampler]["inputs"]["cfg"] == KEYFRAME_CFG, (path.name, sampler)
        else:  # stock SVD from the init image, or a continuation (its ramp rises from the held overlap frames)
            assert source in CONTINUED_FROM_FRAME_0 and "VideoLinearCFGGuidance" in chain, (path.name, sampler)


def test_the_keyframe_examples_have_keyframe_stages():
    keyframe_stages = [s for p in TWINS for s in stages(json.loads(p.read_text()))
                       if s[1] == "LongerVideoKeyframeConditioning"]
    assert len(keyframe_stages) == 4  # 5 -> 17 -> 65 (two stages), your own keyframes (one), the loop (one)


@pytest.mark.parametrize("path", UI_WORKFLOWS, ids=lambda p: p.stem)
def test_ui_workflow_has_stage_groups_one_note_and_stage_titles(path):
    workflow = json.loads(path.read_text())
    assert len(workflow["groups"]) >= 3 and all(g["title"] for g in workflow["groups"])
    notes = [n for n in workflow["nodes"] if n["type"] in ("Note", "MarkdownNote")]
    assert len(notes) == 1
    for node in workflow["nodes"]:
        if node["type"] == "SaveVideo":
            continue  # "Save Video" says it already; title-based API clients look for that title
        assert node.get("title"), f"{path.stem}: node {node['id']} ({node['type']}) has no title of its own"
    assert not [n for n in workflow["nodes"] if n["type"] == "ImageBatch"], "ImageBatch is deprecated: BatchImagesNode"


def readme_request_table() -> dict[str, list[tuple[str, str, str]]]:
    """The README's per-request table: twin name -> [(node id, input, title)] for every
    `ID.INPUT` *Title* it names."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("#### What to change per request"):]
    rows = {}
    for line in section.splitlines()[1:]:
        if line.startswith("#"):
            break
        match = re.match(r"\| `(svd_longer_video_\w+)` \|(.*)", line)
        if match:
            rows[match[1]] = re.findall(r"`(\d+)\.(\w+)`(?: \*([^*]+)\*)?", match[2])
    return rows


def test_readme_request_table_names_every_twin_and_titles_that_exist_in_it():
    """Title-based clients (set a widget by node title) rely on the titles the README names."""
    rows = readme_request_table()
    assert sorted(rows) == sorted(p.name.removesuffix(".api.json") for p in TWINS)
    readme = (ROOT / "README.md").read_text()
    twin_list = readme[readme.index("## Example workflows"):readme.index("## VRAM tips")]
    for twin, refs in rows.items():
        prompt = json.loads((ROOT / "tests" / "workflows" / f"{twin}.api.json").read_text())
        assert f"`{twin}`" in twin_list, f"{twin} not in the README's twin list"
        assert refs, twin
        for node, name, title in refs:
            assert node in prompt and name in prompt[node]["inputs"], (twin, node, name)
            assert title and prompt[node]["_meta"]["title"] == title, (twin, node, title, prompt[node]["_meta"]["title"])
        assert prompt["9"]["_meta"]["title"] == "Save Video" and "filename_prefix" in prompt["9"]["inputs"], twin
        seeds = {n for n, name, _ in refs if name == "seed"}
        assert seeds == {i for i, n in prompt.items() if "seed" in n["inputs"]}, (twin, seeds)  # every sampler named


@pytest.mark.parametrize("path", UI_WORKFLOWS, ids=lambda p: p.stem)
def test_titles_carry_no_frame_counts(path):
    """A title such as "Video: 65 frames" goes stale when the user edits the count: read-outs and
    widgets show the numbers."""
    workflow = json.loads(path.read_text())
    titles = [n.get("title", "") for n in workflow["nodes"]] + [g["title"] for g in workflow["groups"]]
    stale = [t for t in titles if re.search(r"(?<!Stage )(?<!Clip )\b\d+\s*(frames|keyframes|fps)|\+\d+", t)]
    assert not stale, (path.stem, stale)


@pytest.mark.parametrize("path", UI_WORKFLOWS, ids=lambda p: p.stem)
def test_workflow_opens_on_a_saved_legible_view_with_images_every_comfyui_has(path):
    workflow = json.loads(path.read_text())
    view = workflow["extra"]["ds"]  # without one the frontend fits the whole graph: 25-41 %, blank nodes
    assert view["scale"] >= 0.6, view
    images = [n["widgets_values"][0] for n in workflow["nodes"] if n["type"] == "LoadImage"]
    assert images and set(images) == {"example.png"}, images  # ComfyUI ships input/example.png
    note = next(n for n in workflow["nodes"] if n["type"] == "MarkdownNote")["widgets_values"][0]
    assert "`" not in note  # inline code is drawn blue on blue in the Vue node design
