"""Server tier: scripts/queue_workflow.py spreading requests over two real ComfyUI servers.

The session server plus one more started here (tiny checkpoint, 64x64, 1 step, 5-9 frames). The
second server is killed once it has finished one request and holds another: its requests must
finish on the first, and every request's video must be written with the request in its name.
"""
import json
import re
import subprocess
import sys
import time

import pytest
from server_prompts import CKPT, ROOT, start_server, write_init_image

CLIENT = ROOT / "scripts" / "queue_workflow.py"
WORKFLOW = ROOT / "tests" / "workflows" / "svd_longer_video_65_frames_freenoise.api.json"
TINY = ["--set", f"1.ckpt_name={CKPT}", "--set", "3.width=64", "--set", "3.height=64", "--set", "6.steps=1"]


@pytest.fixture
def second_server(comfyui_dir, tiny_checkpoint, tmp_path_factory):
    server = start_server(comfyui_dir, tmp_path_factory.mktemp("comfy_second"), tiny_checkpoint)
    yield server
    server.stop()


def count_history(server) -> int:
    return len(server.get("/history"))


def busy(server) -> bool:
    queue = server.get("/queue")
    return bool(queue["queue_running"] or queue["queue_pending"])


def test_six_requests_over_two_servers_survive_one_being_killed(server, second_server, tmp_path):
    image = tmp_path / "my keyframe.png"  # a local file: uploaded to whichever server runs request 5
    write_init_image(image, quarter_turns=1)
    lines = [{"seed": seed, "3.video_frames": 5 + 2 * (seed % 3)} for seed in range(6)]
    lines[5]["2.image"] = str(image)
    requests = tmp_path / "requests.jsonl"
    requests.write_text("".join(json.dumps(line) + "\n" for line in lines))
    before = count_history(server)
    client = subprocess.Popen([sys.executable, str(CLIENT), str(WORKFLOW), "--server", server.url,
                               "--server", second_server.url, "--requests", str(requests), "--out", str(tmp_path / "out"),
                               "--timeout", "900", *TINY], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 600
        while not (count_history(second_server) >= 1 and busy(second_server)):  # one done there, one more held
            assert client.poll() is None and time.monotonic() < deadline, client.communicate()
            time.sleep(0.2)
        ran_on_second = count_history(second_server)
        second_server.process.kill()
        out, err = client.communicate(timeout=900)
    finally:
        if client.poll() is None:
            client.kill()
    assert client.returncode == 0, out + err
    videos = sorted(p.name for p in (tmp_path / "out").glob("*.mp4"))
    for seed in range(6):
        label = f"r{seed}_seed-{seed}_3.video_frames-{5 + 2 * (seed % 3)}" + ("_2.image-my_keyframe.png" if seed == 5 else "")
        assert sum(name.startswith(label + "_longer_video") for name in videos) == 1, videos
    summary = out.strip().splitlines()[-1]
    assert summary.startswith("summary: 6 done, 0 failed, "), summary
    counts = {url: [int(n) for n in re.search(re.escape(url) + r": (\d+) done, (\d+) failed, (\d+) re-queued away",
                                                summary).groups()] for url in (server.url, second_server.url)}
    assert counts[second_server.url][2] >= 1 and f"{second_server.url}: " in summary, summary
    assert summary.endswith("(stopped answering)") and counts[server.url][2] == 0, summary
    assert counts[server.url][0] + counts[second_server.url][0] == 6
    assert counts[second_server.url][0] <= ran_on_second  # its files downloaded before the kill
    assert count_history(server) - before == counts[server.url][0]  # the killed server's other requests ran here
    assert "stopped answering" in err
