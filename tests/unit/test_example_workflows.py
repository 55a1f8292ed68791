"""The shipped example workflows and their API twins, read as files: guidance per stage and notes.

Keyframe stages (Keyframe Conditioning + a sampler) sample at a constant cfg without
VideoLinearCFGGuidance: their keyframes are pinned exactly, so a ramp from frame 0 protects nothing,
and a frame-indexed ramp would make guidance depend on where a frame falls in the clip or gap
(in segment mode it restarts every gap). Stage 1 (stock SVD from the init image) keeps the ramp.
"""
import json
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
    assert len(keyframe_stages) == 3  # 5 -> 17 -> 65 (two stages) and your own keyframes (one)


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
