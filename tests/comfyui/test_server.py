"""Server tier: a real ComfyUI (CPU) with the pack in custom_nodes, driven through its HTTP API."""

import pytest
from comfy_server import assert_refused, execution_error
from server_prompts import CKPT, ROOT, count_video_frames, start_server, stock_path, tiny
from server_prompts import api_twin as shipped_prompt

EXAMPLE = "svd_longer_video_positions_chunked_decode"
EXAMPLE_65 = "svd_longer_video_65_frames_freenoise"
EXAMPLES = sorted(p.stem for p in (ROOT / "example_workflows").glob("*.json"))
FRAMES = 30  # the example's 50 cut for test time: still past trained_frames 25 and two decode chunks of 16
OUR_NODES = ("LongerVideoTemporalPositions", "LongerVideoWindowedAttention", "LongerVideoFreeNoise",
             "LongerVideoKeyframeConditioning", "LongerVideoKeyframeSampler", "LongerVideoChunkedDecode")


def api_twin() -> dict:
    """The chunked-decode example at FRAMES frames (test time); every other setting as shipped."""
    prompt = shipped_prompt(EXAMPLE)
    assert prompt["3"]["inputs"]["video_frames"] == 50 and prompt["5"]["inputs"]["trained_frames"] == 25
    prompt["3"]["inputs"]["video_frames"] = FRAMES
    return prompt


def test_object_info_lists_the_nodes_with_tooltips(object_info):
    for node_id in OUR_NODES:
        info = object_info[node_id]
        assert info["category"] == "longer video" and info["display_name"].startswith("Longer Video")
        assert info["description"]
        inputs = {**info["input"]["required"], **info["input"].get("optional", {})}
        for name, spec in inputs.items():
            assert spec[1].get("tooltip"), f"{node_id}.{name} has no tooltip"
    positions = object_info["LongerVideoTemporalPositions"]["input"]["required"]
    assert positions["mode"][1]["options"] == ["none", "linear", "ntk", "yarn"] or positions["mode"][0] == ["none", "linear", "ntk", "yarn"]
    assert positions["trained_frames"][1]["default"] == 25


def test_the_frontend_extension_is_served(server):
    # WEB_DIRECTORY reaches ComfyUI through the package's module __getattr__ (it is kept out of dir()).
    assert any(path.endswith("/longer_video.js") for path in server.get("/extensions")), server.get("/extensions")


def test_every_example_is_in_the_template_list(server):
    templates = server.get("/workflow_templates")
    assert sorted(templates["comfyui-longer-video"]) == EXAMPLES


def test_65_frame_freenoise_workflow_runs(server):
    prompt = tiny(shipped_prompt(EXAMPLE_65))
    assert [prompt[i]["class_type"] for i in ("5", "11", "12")] == list(OUR_NODES[:3])
    entry = server.run(prompt)
    frames = server.images(entry, "10")
    assert frames.shape == (65, 64, 64, 3)
    assert count_video_frames(server, entry["outputs"]["9"]["images"][0]) == 65


def test_example_workflow_runs_and_leaves_no_patch_behind(server, comfyui_dir, tiny_checkpoint, tmp_path_factory):
    patched = server.run(tiny(api_twin()))
    frames = server.images(patched, "10")
    assert frames.shape == (FRAMES, 64, 64, 3)
    video = patched["outputs"]["9"]["images"][0]
    assert video["filename"].endswith(".mp4") and count_video_frames(server, video) == FRAMES

    stock_here = server.images(server.run(tiny(stock_path(api_twin()))), "10")
    fresh = start_server(comfyui_dir, tmp_path_factory.mktemp("fresh_base"), tiny_checkpoint)
    try:
        stock_fresh = fresh.images(fresh.run(tiny(stock_path(api_twin()))), "10")
    finally:
        fresh.stop()
    assert (frames.astype(int) - stock_here).__abs__().mean() > 1.0  # the patches did change the video ...
    assert (stock_here == stock_fresh).all()  # ... and nothing of them stayed in the shared model


@pytest.mark.parametrize("node, changes, words", [
    ("7", {"chunk_frames": 8, "overlap_frames": 4}, ["LongerVideoChunkedDecode", "overlap_frames"]),
    ("7", {"crossfade_frames": 9}, ["LongerVideoChunkedDecode", "crossfade_frames"]),
    ("5", {"yarn_alpha": 3.0, "yarn_beta": 2.0}, ["LongerVideoTemporalPositions", "yarn_alpha"]),
    ("5", {"mode": "cubic"}, ["LongerVideoTemporalPositions", "mode"]),
])
def test_bad_settings_are_refused_before_running(server, comfyui_dir, node, changes, words):
    prompt = tiny(api_twin())
    prompt[node]["inputs"].update(changes)
    assert_refused(server, comfyui_dir, prompt, node, *words)


def test_wrong_latent_fails_at_execution_naming_node_and_input(server):
    prompt = {
        "1": {"class_type": "ImageOnlyCheckpointLoader", "inputs": {"ckpt_name": CKPT}},
        "2": {"class_type": "EmptyHunyuanLatentVideo", "inputs": {"width": 64, "height": 64, "length": 9, "batch_size": 1}},
        "3": {"class_type": "LongerVideoChunkedDecode", "inputs": {"vae": ["1", 2], "samples": ["2", 0], "chunk_frames": 8,
                                                                   "overlap_frames": 2, "crossfade_frames": 2}},
        "4": {"class_type": "PreviewImage", "inputs": {"images": ["3", 0]}},
    }
    entry = server.wait(server.queue(prompt))
    assert entry["status"]["status_str"] == "error"
    error = execution_error(entry)
    assert error["node_type"] == "LongerVideoChunkedDecode"
    assert "samples must be an SVD latent" in error["exception_message"]
