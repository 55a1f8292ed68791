"""scripts/queue_workflow.py answers in one line when it cannot do anything (no server, no file)."""
import socket
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "queue_workflow.py"
WORKFLOW = Path(__file__).resolve().parents[2] / "tests" / "workflows" / "svd_longer_video_65_frames_freenoise.api.json"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens here once the socket closes


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def test_no_server_is_one_line_not_a_traceback():
    done = run(str(WORKFLOW), "--server", f"http://127.0.0.1:{closed_port()}")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "no ComfyUI server answers" in done.stderr


def test_missing_workflow_file_is_named():
    done = run("/no/such/workflow.json")
    assert done.returncode == 1 and done.stderr.strip() == "workflow: no file /no/such/workflow.json"


def test_bad_server_urls_are_refused_in_one_line_naming_them():
    for url in ("ftp://127.0.0.1:8188", "127.0.0.1:8188", "http://", "http://127.0.0.1:99999", "http://host:8188/?x=1"):
        done = run(str(WORKFLOW), "--server", "http://127.0.0.1:8188", "--server", url)
        assert done.returncode == 1 and "Traceback" not in done.stderr, url
        assert done.stderr.strip().count("\n") == 0 and repr(url) in done.stderr and "http://HOST:PORT" in done.stderr


def test_a_server_given_twice_is_refused():
    done = run(str(WORKFLOW), "--server", "http://127.0.0.1:8188/", "--server", "http://127.0.0.1:8188")
    assert done.returncode == 1 and "given twice" in done.stderr


def test_bad_requests_name_the_line_or_node(tmp_path):
    lines = tmp_path / "requests.jsonl"
    lines.write_text('{"6.seed": 1}\n{"6.seed": 2\n')
    done = run(str(WORKFLOW), "--requests", str(lines))
    assert done.returncode == 1 and "line 2: not JSON" in done.stderr
    done = run(str(WORKFLOW), "--request", "99.seed=1")
    assert done.returncode == 1 and "no node '99'" in done.stderr


def test_request_labels_are_file_name_safe():
    sys.path.insert(0, str(SCRIPT.parent))
    from queue_workflow import label_of

    assert label_of(2, {"seed": 5, "3.video_frames": 81}, 6) == "r2_seed-5_3.video_frames-81"
    assert label_of(0, {"2.image": "/photos/my cat.png", "6.seed": 1}, 2) == "r0_2.image-my_cat.png_6.seed-1"
    assert "/" not in label_of(1, {"name": "../../etc"}, 2)  # one path component: files stay in --out
