"""Server tier: the loop example (one image -> 4 keyframes -> a bidirectional, looping stage) through /prompt."""
from comfy_server import assert_refused
from server_prompts import api_twin, count_video_frames, saved_latent, tiny, with_saved_latents

LOOP = "svd_longer_video_loop_from_one_image"


def test_loop_from_one_image_ends_on_its_first_keyframe(server):
    prompt = tiny(api_twin(LOOP))
    stage = prompt["13"]["inputs"]
    assert stage["loop"] is True and prompt["16"]["inputs"]["direction"] == "bidirectional"
    stage["frames_between"] = 4  # 17 frames instead of 33: test time
    prompt = with_saved_latents(prompt, {"keyframes": "6", "loop": "16"})
    entry = server.run(prompt, timeout=1500)
    assert server.images(entry, "10").shape == (17, 64, 64, 3)  # 4 keyframes + the first again, 4 apart
    assert count_video_frames(server, entry["outputs"]["9"]["images"][0]) == 17
    keyframes, video = saved_latent(server, entry, "90"), saved_latent(server, entry, "91")
    assert keyframes.shape[0] == 4 and video.shape[0] == 17
    assert (video[:16:4] - keyframes).abs().max() <= 1e-5
    assert (video[-1] - keyframes[0]).abs().max() <= 1e-5  # the loop closes on the first keyframe
    assert (video[1:4] - keyframes[0]).abs().amax(dim=(1, 2, 3)).min() > 1e-3  # in-betweens are new frames


def test_a_reverse_bucket_without_the_backward_pass_is_refused_naming_node_and_input(server, comfyui_dir):
    prompt = tiny(api_twin(LOOP))
    prompt["16"]["inputs"].update(direction="forward", reverse_motion_bucket_id=200)
    assert_refused(server, comfyui_dir, prompt, "16", "reverse_motion_bucket_id", "needs direction bidirectional")
