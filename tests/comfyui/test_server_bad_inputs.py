"""Server tier: bad inputs give an error naming the node and the input, and the server keeps serving.

Widget values are refused by /prompt (400, before anything runs); what only shows at run time (a
non-SVD model, an image VAE, keyframes of the wrong size or count) fails that node's execution.
The non-SVD MODEL and the image VAE are small random files written into the server's model folders.
"""
from __future__ import annotations

import json

import pytest
from comfy_server import execution_error
from server_prompts import api_twin, tiny, write_init_image

FREENOISE = "svd_longer_video_65_frames_freenoise"
HIERARCHY = "svd_longer_video_keyframes_5_17_65"
OWN_KEYFRAMES = "svd_longer_video_own_keyframes"
SD15_UNET = "lv_tiny_sd15_unet.safetensors"
# what each node's validate_inputs receives: the inputs of its cross-input rules (ComfyUI lists a failed
# validate_inputs once per input the function takes; every other input is ComfyUI's own range check)
RULE_INPUTS = {
    "LongerVideoChunkedDecode": {"chunk_frames", "overlap_frames", "crossfade_frames"},
    "LongerVideoWindowedAttention": {"window_frames", "stride_frames", "mode", "resblock_norm"},
    "LongerVideoFreeNoise": {"window_frames", "stride_frames"},
    "LongerVideoTemporalPositions": {"yarn_alpha", "yarn_beta"},
    "LongerVideoKeyframeConditioning": {"width", "height"},
    "LongerVideoKeyframeSampler": {"sampler_name", "segments_per_batch", "mode", "direction",
                                   "reverse_motion_bucket_id"},
}
IMAGE_VAE = "lv_tiny_image_vae.safetensors"


@pytest.fixture(scope="module")
def bad_models(server):
    """An SD1.5 UNet (no temporal layers) and an SD image VAE, where UNETLoader / VAELoader look."""
    from comfy_models import sd15_unet_state_dict, sd_image_vae_state_dict
    from safetensors.torch import save_file

    for folder, name, state_dict in (("diffusion_models", SD15_UNET, sd15_unet_state_dict),
                                     ("vae", IMAGE_VAE, lambda: {k: v.half() for k, v in sd_image_vae_state_dict().items()})):
        path = server.base / "models" / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            save_file(state_dict(), str(path))
    for n in (1, 2, 3):
        write_init_image(server.base / "input" / f"keyframe_{n}.png", quarter_turns=n)
    return server


def short(name: str, frames: int = 9) -> dict:
    prompt = tiny(api_twin(name))
    if prompt["3"]["class_type"] == "SVD_img2vid_Conditioning" and name == FREENOISE:
        prompt["3"]["inputs"]["video_frames"] = frames
    return prompt


@pytest.mark.parametrize("name, node, changes, input_name", [
    (FREENOISE, "3", {"video_frames": 0}, "video_frames"),
    (FREENOISE, "5", {"trained_frames": 0}, "trained_frames"),
    (FREENOISE, "5", {"trained_frames": -25}, "trained_frames"),
    (FREENOISE, "11", {"window_frames": 0}, "window_frames"),
    (FREENOISE, "11", {"stride_frames": 30}, "stride_frames"),
    (FREENOISE, "11", {"stride_frames": -4}, "stride_frames"),
    (FREENOISE, "12", {"window_frames": 0}, "window_frames"),
    (FREENOISE, "12", {"stride_frames": 30}, "stride_frames"),
    (FREENOISE, "7", {"chunk_frames": 0}, "chunk_frames"),
    (FREENOISE, "7", {"chunk_frames": -16}, "chunk_frames"),
    (FREENOISE, "7", {"chunk_frames": 16, "overlap_frames": 16}, "overlap_frames"),
    (HIERARCHY, "13", {"frames_between": -4}, "frames_between"),
    (HIERARCHY, "16", {"segments_per_batch": 0}, "segments_per_batch"),
    (HIERARCHY, "15", {"pin_release": 1.5}, "pin_release"),
])
def test_bad_widget_is_refused_by_prompt_naming_node_and_input(server, name, node, changes, input_name):
    prompt = short(name)
    prompt[node]["inputs"].update(changes)
    status, body = server.post("/prompt", {"prompt": prompt})
    assert status == 400, body
    errors = body["node_errors"][node]
    assert errors["class_type"] == prompt[node]["class_type"]
    assert input_name in json.dumps(errors["errors"]), errors
    # listed under the input at fault, or (a rule over several inputs) under that rule's inputs only
    named = {e["extra_info"]["input_name"] for e in errors["errors"]}
    assert input_name in named and named <= RULE_INPUTS.get(prompt[node]["class_type"], set()) | {input_name}, named
    assert server.get("/queue")["queue_running"] == []  # nothing was queued


def failing_run(server, prompt: dict, node: str, *words: str) -> dict:
    entry = server.wait(server.queue(prompt), timeout=600)
    assert entry["status"]["status_str"] == "error", entry["status"]
    error = execution_error(entry)
    assert (error["node_id"], error["node_type"]) == (node, prompt[node]["class_type"]), error
    for word in words:
        assert word in error["exception_message"], error["exception_message"]
    assert "Traceback" not in error["exception_message"]
    # named as users see the node (ComfyUI 0.8 runs V3 nodes through a <Name>Clone class)
    assert error["exception_message"].startswith(prompt[node]["class_type"] + ": ")
    assert "Clone" not in error["exception_message"]
    return error


def with_sd15_model(prompt: dict) -> dict:
    prompt["50"] = {"class_type": "UNETLoader", "inputs": {"unet_name": SD15_UNET, "weight_dtype": "default"}}
    return prompt


@pytest.mark.parametrize("node", ["5", "11", "12"])
def test_non_svd_model_fails_the_model_patch_naming_model(bad_models, node):
    prompt = with_sd15_model(short(FREENOISE))
    prompt[node]["inputs"]["model"] = ["50", 0]
    failing_run(bad_models, prompt, node, prompt[node]["class_type"], "model is not a Stable Video Diffusion model")


def test_non_svd_model_fails_the_keyframe_sampler_naming_model(bad_models):
    prompt = with_sd15_model(tiny(api_twin(OWN_KEYFRAMES)))
    prompt["16"]["inputs"]["model"] = ["50", 0]
    failing_run(bad_models, prompt, "16", "LongerVideoKeyframeSampler", "model is not a Stable Video Diffusion model")


def test_image_vae_fails_chunked_decode_naming_vae(bad_models):
    prompt = short(FREENOISE)
    prompt["51"] = {"class_type": "VAELoader", "inputs": {"vae_name": IMAGE_VAE}}
    prompt["7"]["inputs"].update(vae=["51", 0], samples=["3", 2])  # no sampling needed to reach the decoder
    prompt = {k: prompt[k] for k in ("1", "2", "3", "7", "10", "51")}
    failing_run(bad_models, prompt, "7", "LongerVideoChunkedDecode", "vae is not a video VAE")


def test_keyframes_of_another_size_fail_naming_the_inputs(server):
    prompt = tiny(api_twin(HIERARCHY))
    prompt["13"]["inputs"]["width"] = 128  # stage 1 sampled 64x64 keyframes
    failing_run(server, prompt, "13", "LongerVideoKeyframeConditioning", "keyframe_latents", "width")


def test_one_frame_keyframe_latent_fails_naming_keyframe_latents(server):
    prompt = tiny(api_twin(HIERARCHY))
    prompt["3"]["inputs"]["video_frames"] = 1
    failing_run(server, prompt, "13", "LongerVideoKeyframeConditioning", "keyframe_latents", "at least 2")


def test_one_frame_latent_without_keyframe_conditioning_fails_the_sampler(server):
    prompt = tiny(api_twin(HIERARCHY))
    prompt["3"]["inputs"]["video_frames"] = 1
    prompt["16"]["inputs"].update(positive=["3", 0], negative=["3", 1], latent_image=["3", 2])
    failing_run(server, prompt, "16", "LongerVideoKeyframeSampler", "latent_image")


def test_server_still_runs_a_good_prompt_after_the_bad_ones(server):
    entry = server.run(short(FREENOISE))
    assert server.images(entry, "10").shape == (9, 64, 64, 3)
    assert server.get("/queue") == {"queue_running": [], "queue_pending": []}
