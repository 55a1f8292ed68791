"""Server tier: the README's standard-library client (scripts/queue_workflow.py) against a real server."""
import subprocess
import sys

from server_prompts import CKPT, ROOT

CLIENT = ROOT / "scripts" / "queue_workflow.py"
WORKFLOW = ROOT / "tests" / "workflows" / "svd_longer_video_65_frames_freenoise.api.json"
TINY = ["--set", f"1.ckpt_name={CKPT}", "--set", "3.width=64", "--set", "3.height=64", "--set", "6.steps=2"]


def run_client(server, *args, out):
    return subprocess.run([sys.executable, str(CLIENT), str(WORKFLOW), "--server", server.url, "--out", str(out),
                           *TINY, *args], capture_output=True, text=True, timeout=900)


def test_client_changes_frames_and_seed_waits_and_downloads_the_video(server, tmp_path):
    import av

    done = run_client(server, "--set", "3.video_frames=9", "--seed", "5", out=tmp_path)
    assert done.returncode == 0, done.stderr
    prompt_id = done.stdout.split()[1]
    videos = sorted(tmp_path.glob("*.mp4"))
    assert len(videos) == 1, done.stdout
    with av.open(str(videos[0])) as container:
        assert sum(1 for _ in container.decode(video=0)) == 9
    queued = server.get(f"/history/{prompt_id}")[prompt_id]["prompt"][2]
    assert queued["6"]["inputs"]["seed"] == 5 and queued["3"]["inputs"]["video_frames"] == 9


def test_client_prints_the_refusal_and_fails(server, tmp_path):
    done = run_client(server, "--set", "11.stride_frames=40", out=tmp_path)
    assert done.returncode == 1
    assert "LongerVideoWindowedAttention" in done.stderr and "stride_frames" in done.stderr
    assert not list(tmp_path.iterdir())
