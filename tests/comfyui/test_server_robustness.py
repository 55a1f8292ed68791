"""Server tier: long queues, /interrupt mid-node and stale state, on a real ComfyUI server.

The alternating queue gets its own server, so its first (unpatched) prompt is the fresh-server
result and its memory is not mixed with other tests'.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from server_events import cached_nodes, queue_and_interrupt, was_interrupted
from server_prompts import api_twin, saved_latent, start_server, stock_path, tiny, write_init_image

PATCHED = "svd_longer_video_65_frames_freenoise"  # positions + windows + FreeNoise + chunked decode
OWN_KEYFRAMES = "svd_longer_video_own_keyframes"
QUEUE_LENGTH = 8  # 4 stock + 4 patched, alternating: enough to see drift or growth, 2/5 of the prompts of 20
FRAMES = 17


def patched_prompt() -> dict:
    """The 65-frame workflow at test size, shortened to FRAMES frames with every patch still active.

    trained_frames 8 < FRAMES keeps positions interpolated; 8-frame windows at stride 4 make 3 windows.
    """
    prompt = tiny(api_twin(PATCHED))
    prompt["3"]["inputs"]["video_frames"] = FRAMES
    prompt["5"]["inputs"]["trained_frames"] = 8
    for node in ("11", "12"):
        prompt[node]["inputs"].update(window_frames=8, stride_frames=4)
    for node in ("8", "9"):  # no video file: the frames and latents are what is compared
        del prompt[node]
    prompt["90"] = {"class_type": "SaveLatent", "inputs": {"samples": ["6", 0], "filename_prefix": "lv_queue/patched"}}
    return prompt


def unpatched_prompt() -> dict:
    """The same graph through the stock path: the loader's MODEL straight to KSampler, VAE Decode."""
    prompt = stock_path(patched_prompt())
    assert prompt["6"]["inputs"]["model"] == ["4", 0] and prompt["7"]["class_type"] == "VAEDecode"
    prompt["90"]["inputs"]["filename_prefix"] = "lv_queue/unpatched"
    return prompt


def resident_memory(pid: int) -> int:
    """The server process's resident set size in bytes (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


@pytest.fixture(scope="module")
def queue_server(comfyui_dir, tiny_checkpoint, tmp_path_factory):
    server = start_server(comfyui_dir, tmp_path_factory.mktemp("queue_base"), tiny_checkpoint)
    yield server
    server.stop()


def test_alternating_prompts_leave_the_stock_path_untouched(queue_server):
    server = queue_server
    results, memory = [], []
    for i in range(QUEUE_LENGTH):
        patched = i % 2 == 1  # the first prompt is unpatched: the fresh-server reference
        entry = server.run(patched_prompt() if patched else unpatched_prompt())
        assert not cached_nodes(entry) & {"6", "7"}, "the sampler and decoder must run for every prompt"
        results.append((patched, server.images(entry, "10"), saved_latent(server, entry, "90")))
        memory.append(resident_memory(server.process.pid))

    fresh_frames, fresh_latent = results[0][1], results[0][2]
    assert fresh_frames.shape == (FRAMES, 64, 64, 3)
    for i, (patched, frames, latent) in enumerate(results):
        if patched:
            assert (latent - fresh_latent).abs().max() > 1e-3, f"prompt {i}: the patches changed nothing"
            assert (latent - results[1][2]).abs().max() == 0, f"prompt {i}: patched results drift along the queue"
        else:
            assert (latent == fresh_latent).all(), f"prompt {i}: the stock path differs from the fresh server's"
            assert (frames == fresh_frames).all(), f"prompt {i}: the stock frames differ from the fresh server's"
    growth = memory[-1] / memory[1] - 1
    print(f"server RSS after prompt 2: {memory[1] / 2**20:.0f} MiB, after prompt {QUEUE_LENGTH}: "
          f"{memory[-1] / 2**20:.0f} MiB ({growth:+.1%})")
    assert abs(growth) <= 0.10, [f"{m / 2**20:.0f} MiB" for m in memory]


def long_decode_prompt(frames: int = 600) -> dict:
    """Decode a long (all-zero) SVD latent in many small chunks: slow enough to interrupt mid-node."""
    prompt = tiny(api_twin(PATCHED))
    prompt["3"]["inputs"]["video_frames"] = frames
    prompt["7"]["inputs"].update(samples=["3", 2], chunk_frames=4, overlap_frames=1, crossfade_frames=1)
    return {k: prompt[k] for k in ("1", "2", "3", "7", "10")}


def chunked_example() -> dict:
    """A short patched run ending in chunked decode: what must still come out right afterwards."""
    prompt = patched_prompt()
    prompt["7"]["inputs"].update(chunk_frames=8, overlap_frames=2, crossfade_frames=2)
    return prompt


def own_keyframes_prompt(steps: int) -> dict:
    prompt = tiny(api_twin(OWN_KEYFRAMES), steps=steps)
    for node in ("8", "9"):
        del prompt[node]
    prompt["90"] = {"class_type": "SaveLatent", "inputs": {"samples": ["16", 0], "filename_prefix": "lv_int/kf"}}
    return prompt


def interrupt_then_rerun(server, slow_prompt: dict, node: str, check_prompt: dict, check_node: str,
                         max_steps_after: int):
    before = server.run(check_prompt, timeout=900)
    started = time.monotonic()
    interrupted = queue_and_interrupt(server.url, slow_prompt, node, at_progress=2)
    entry = server.wait(interrupted.prompt_id, timeout=300)
    stopped_after = time.monotonic() - started
    assert was_interrupted(entry), entry["status"]
    assert node not in entry.get("outputs", {}) and "10" not in entry.get("outputs", {})
    assert interrupted.value < interrupted.max, "interrupt came too late to test anything"
    assert interrupted.last_value <= interrupted.value + max_steps_after, \
        f"the node ran on to {interrupted.last_value}/{interrupted.max} after the interrupt at {interrupted.value}"

    after = server.run(check_prompt, timeout=900)
    assert check_node not in cached_nodes(after), "the check prompt must run again, not come from the cache"
    assert (saved_latent(server, after, "90") == saved_latent(server, before, "90")).all()
    assert (server.images(after, "10") == server.images(before, "10")).all()
    return interrupted, stopped_after


def test_interrupt_during_chunked_decode_leaves_the_server_correct(server):
    interrupted, seconds = interrupt_then_rerun(server, long_decode_prompt(), "7", chunked_example(), "7",
                                                   max_steps_after=1)  # stops between chunks
    print(f"chunked decode interrupted at chunk {interrupted.value}/{interrupted.max}, last chunk "
          f"{interrupted.last_value}; prompt ended in {seconds:.1f}s")


def test_interrupt_during_segment_interpolation_leaves_the_server_correct(server):
    for n in (1, 2, 3):
        write_init_image(server.base / "input" / f"keyframe_{n}.png", quarter_turns=n)
    slow = own_keyframes_prompt(steps=12)
    slow["16"]["inputs"]["seed"] = 7  # not the check prompt's sampler: nothing cached in between
    assert slow["16"]["inputs"]["mode"] == "segment"
    interrupted, seconds = interrupt_then_rerun(server, slow, "16", own_keyframes_prompt(steps=2), "16",
                                                   max_steps_after=1)  # stops between steps
    print(f"segment sampling interrupted at step {interrupted.value}/{interrupted.max}, last step "
          f"{interrupted.last_value}; prompt ended in {seconds:.1f}s")
