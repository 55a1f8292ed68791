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
