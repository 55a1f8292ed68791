"""Server tier: keyframe-hint interpolation workflows through a real ComfyUI's /prompt."""
import pytest
from comfy_server import assert_refused
from server_prompts import api_twin, count_video_frames, saved_latent, tiny, with_saved_latents, write_init_image

HIERARCHY = "svd_longer_video_keyframes_5_17_65"
OWN_KEYFRAMES = "svd_longer_video_own_keyframes"


def test_hierarchy_5_17_65_passes_through_every_earlier_stage(server):
    prompt = tiny(api_twin(HIERARCHY))
    assert prompt["3"]["inputs"]["video_frames"] == 5 and prompt["16"]["inputs"]["mode"] == "segment"
    assert prompt["16"]["inputs"]["direction"] == "bidirectional"  # stage 3 as shipped
    prompt = with_saved_latents(prompt, {"stage1": "6", "stage2": "14", "stage3": "16"})
    entry = server.run(prompt, timeout=900)
    assert server.images(entry, "10").shape == (65, 64, 64, 3)
    assert count_video_frames(server, entry["outputs"]["9"]["images"][0]) == 65
    stage1, stage2, stage3 = (saved_latent(server, entry, n) for n in ("90", "91", "92"))
    assert (stage1.shape[0], stage2.shape[0], stage3.shape[0]) == (5, 17, 65)
    assert (stage2[::4] - stage1).abs().max() <= 1e-5
    assert (stage3[::4] - stage2).abs().max() <= 1e-5
    assert (stage3[1::4] - stage2[:-1]).abs().max() > 1e-3  # the in-betweens are new frames


def test_own_keyframes_workflow_runs_through_the_images(server):
    for n in (1, 2, 3):
        write_init_image(server.base / "input" / f"keyframe_{n}.png", quarter_turns=n)
    prompt = with_saved_latents(tiny(api_twin(OWN_KEYFRAMES)), {"pins": "13", "video": "16"})
    for node, n in (("2", 1), ("21", 2), ("22", 3)):  # the twin opens on example.png in all three
        prompt[node]["inputs"]["image"] = f"keyframe_{n}.png"
    prompt["90"]["inputs"]["samples"] = ["13", 2]  # the conditioning's LATENT output: keyframes at their frames
    entry = server.run(prompt, timeout=900)
    assert server.images(entry, "10").shape == (25, 64, 64, 3)
    assert count_video_frames(server, entry["outputs"]["9"]["images"][0]) == 25
    pins, video = saved_latent(server, entry, "90"), saved_latent(server, entry, "91")
    assert (video[::12] - pins[::12]).abs().max() <= 1e-5
    assert pins[::12].abs().amax(dim=(1, 2, 3)).min() > 0.1  # three real, distinct keyframe latents
    assert (pins[0] - pins[12]).abs().max() > 1e-2


@pytest.mark.parametrize("changes, words", [
    ({"frames_between": 0}, ["LongerVideoKeyframeConditioning", "frames_between"]),
    ({"width": 100}, ["LongerVideoKeyframeConditioning", "width"]),
    ({"hint": "cubic"}, ["LongerVideoKeyframeConditioning", "hint"]),
])
def test_bad_keyframe_settings_are_refused_before_running(server, comfyui_dir, changes, words):
    prompt = tiny(api_twin(HIERARCHY))
    prompt["13"]["inputs"].update(changes)
    assert_refused(server, comfyui_dir, prompt, "13", *words)
