"""The README's demo command end to end on the tiny pipeline: a longer-than-trained video file."""
import sys
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import demo  # noqa: E402


def test_demo_writes_a_video_with_the_requested_frames(tmp_path, capsys):
    out = tmp_path / "demo.mp4"
    assert demo.main(["--frames", "20", "--steps", "1", "--chunk-frames", "8", "--overlap-frames", "2",
                      "--crossfade-frames", "2", "--out", str(out)]) == 0
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 20
    line = capsys.readouterr().out
    assert "frames=20 (trained 14, position scale 1.43, mode yarn)" in line and "time=" in line
