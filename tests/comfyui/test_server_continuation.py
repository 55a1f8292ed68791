"""Server tier: video continuation through a real ComfyUI's /prompt (the shipped workflow at tiny size)."""
import json

import pytest
from comfy_server import execution_error
from server_prompts import api_twin, count_video_frames, saved_latent, tiny, with_saved_latents

CONTINUED = "svd_longer_video_continued_97_frames"
CONTINUES = ("13", "16", "24")
SAMPLERS = ("14", "17", "25")
JOINS = ("15", "18", "26")


def two_clips(method: str, new_frames: int = 4) -> dict:
    """The shipped workflow cut after its first continuation (clip 1 + one short clip), decoded from that join."""
    prompt = tiny(api_twin(CONTINUED))
    for node in CONTINUES[1:] + SAMPLERS[1:] + JOINS[1:]:
        del prompt[node]
    prompt["13"]["inputs"].update(method=method, new_frames=new_frames)
    prompt["7"]["inputs"]["samples"] = ["15", 0]
    return prompt


def test_one_image_continued_three_times_is_97_frames(server):
    prompt = tiny(api_twin(CONTINUED), steps=1)  # 4 clips and a 97-frame decode: one step each keeps it affordable
    assert [prompt[n]["inputs"]["method"] for n in CONTINUES] == ["injection"] * 3
    assert prompt["7"]["class_type"] == "LongerVideoChunkedDecode" and prompt["9"]["class_type"] == "SaveVideo"
    sources = {"clip1": "6", **{f"clip{k + 2}": n for k, n in enumerate(SAMPLERS)},
               **{f"video{k + 2}": n for k, n in enumerate(JOINS)}}
    prompt = with_saved_latents(prompt, sources)
    entry = server.run(prompt, timeout=1200)
    assert server.images(entry, "10").shape == (97, 64, 64, 3)
    assert count_video_frames(server, entry["outputs"]["9"]["images"][0]) == 97
    latents = {name: saved_latent(server, entry, str(90 + i)) for i, name in enumerate(sources)}
    video = latents["clip1"]
    assert video.shape[0] == 25
    for k in range(2, 5):
        clip, joined = latents[f"clip{k}"], latents[f"video{k}"]
        assert clip.shape[0] == 28 and joined.shape[0] == video.shape[0] + 24
        assert (clip[:4] - video[-4:]).abs().max() <= 1e-5  # the overlap was held exactly
        assert (joined[:video.shape[0]] == video).all() and (joined[video.shape[0]:] == clip[4:]).all()
        video = joined


@pytest.mark.parametrize("method", ["history_cfg", "reconstruction"])
def test_guided_methods_run_in_the_server(server, method):
    # reconstruction differentiates through a model the server loaded under torch.inference_mode()
    import torch

    # names per method: a SaveLatent with the inputs of an earlier prompt is cached and reports no file
    prompt = with_saved_latents(two_clips(method), {f"{method}_first": "6", f"{method}_clip": "14",
                                                    f"{method}_video": "15"})
    entry = server.run(prompt, timeout=900)
    assert server.images(entry, "10").shape == (29, 64, 64, 3)
    first, clip, video = (saved_latent(server, entry, n) for n in ("90", "91", "92"))
    assert clip.shape[0] == 8 and video.shape[0] == 29
    overlap_error = (clip[:4] - first[21:]).abs().max()
    if method == "reconstruction":  # the overlap's estimate is the known frames: it lands on them
        assert overlap_error <= 1e-3, float(overlap_error)
        assert (clip[4:] - first[-1]).abs().max() > 1e-2  # the new frames were sampled
    else:  # history guidance only steers: the overlap is sampled
        assert overlap_error > 1e-3
    weights = torch.tensor([0.2, 0.4, 0.6, 0.8]).view(4, 1, 1, 1)  # the join cross-fades it in
    assert torch.allclose(video[21:25], first[21:] * (1 - weights) + clip[:4] * weights, atol=1e-5)
    assert torch.equal(video[:21], first[:21]) and torch.equal(video[25:], clip[4:])


@pytest.mark.parametrize("node, changes, input_name", [
    ("13", {"overlap_frames": 0}, "overlap_frames"),
    ("13", {"new_frames": 0}, "new_frames"),
    ("13", {"guidance_weight": -1.0}, "guidance_weight"),
])
def test_bad_widgets_are_refused_by_prompt(server, node, changes, input_name):
    prompt = tiny(api_twin(CONTINUED))
    prompt[node]["inputs"].update(changes)
    status, body = server.post("/prompt", {"prompt": prompt})
    assert status == 400, body
    errors = body["node_errors"][node]
    assert errors["class_type"] == "LongerVideoContinue"
    assert input_name in json.dumps(errors["errors"]), errors


def test_unknown_method_is_refused_naming_method(server, comfyui_dir):
    from find_comfyui import comfyui_version

    prompt = two_clips("injection")
    prompt["13"]["inputs"]["method"] = "inpaint"
    status, body = server.post("/prompt", {"prompt": prompt})
    if status == 400:
        assert "method" in json.dumps(body["node_errors"]["13"]["errors"])
        return
    # ComfyUI 0.3.64's /prompt checks only list-typed combos, not V3 ones: the node refuses it when it runs
    assert comfyui_version(comfyui_dir).startswith("0.3"), body
    entry = server.wait(body["prompt_id"], timeout=600)
    error = execution_error(entry)
    assert error["node_id"] == "13" and "LongerVideoContinue" in error["exception_message"]
    assert "method must be one of injection, history_cfg, reconstruction" in error["exception_message"]


def failing_run(server, prompt: dict, node: str, *words: str):
    entry = server.wait(server.queue(prompt), timeout=600)
    assert entry["status"]["status_str"] == "error", entry["status"]
    error = execution_error(entry)
    assert (error["node_id"], error["node_type"]) == (node, prompt[node]["class_type"]), error
    for word in (prompt[node]["class_type"], *words):
        assert word in error["exception_message"], error["exception_message"]
    assert "Traceback" not in error["exception_message"]


def test_overlap_as_long_as_the_previous_clip_fails_naming_overlap_frames(server):
    prompt = two_clips("injection")
    prompt["13"]["inputs"]["overlap_frames"] = 25  # clip 1 has 25 frames
    failing_run(server, prompt, "13", "overlap_frames", "previous_latent")


def test_latent_of_the_wrong_shape_fails_naming_previous_latent(server):
    prompt = two_clips("injection")
    prompt["50"] = {"class_type": "EmptySD3LatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 6}}
    prompt["13"]["inputs"]["previous_latent"] = ["50", 0]  # 16 channels, not SVD's 4
    failing_run(server, prompt, "13", "previous_latent", "(frames, 4, h, w)")


def test_frames_not_a_multiple_of_8_fail_naming_previous_frames(server):
    prompt = two_clips("injection")
    prompt["50"] = {"class_type": "ImageScale",
                    "inputs": {"image": ["2", 0], "upscale_method": "bilinear", "width": 60, "height": 60, "crop": "disabled"}}
    prompt["51"] = {"class_type": "RepeatImageBatch", "inputs": {"image": ["50", 0], "amount": 6}}
    del prompt["13"]["inputs"]["previous_latent"]
    prompt["13"]["inputs"].update(previous_frames=["51", 0], vae=["1", 2])
    failing_run(server, prompt, "13", "previous_frames", "multiples of 8")


def test_joining_a_clip_that_is_no_continuation_fails_naming_clip(server):
    prompt = two_clips("injection")
    prompt["15"]["inputs"]["clip"] = ["6", 0]  # clip 1: sampled from stock SVD conditioning
    failing_run(server, prompt, "15", "clip", "LongerVideoContinue")
