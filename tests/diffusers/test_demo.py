"""The README's demo command end to end on the tiny pipeline: a longer-than-trained video file."""
import sys
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import demo


def test_demo_writes_a_video_with_the_requested_frames(tmp_path, capsys):
    out = tmp_path / "demo.mp4"
    assert demo.main(["--frames", "20", "--steps", "1", "--chunk-frames", "8", "--overlap-frames", "2",
                      "--crossfade-frames", "2", "--out", str(out)]) == 0
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 20
    line = capsys.readouterr().out
    assert "frames=20 (trained 14, position scale 1.43, mode yarn)" in line and "time=" in line


import pytest  # noqa: E402


@pytest.mark.parametrize("argv, option", [
    (["--frames", "0"], "--frames"), (["--frames", "-5"], "--frames"), (["--steps", "0"], "--steps"),
    (["--trained-frames", "0"], "--trained-frames"), (["--size", "60", "60"], "--size"),
    (["/no/such/model"], "model"), (["--image", "/no/such.png"], "--image"),
    (["--chunk-frames", "8", "--overlap-frames", "4"], "--overlap-frames"), (["--seed", "-1"], "--seed"),
])
def test_demo_refuses_nonsense_in_one_line_before_building_anything(argv, option, capsys, monkeypatch):
    monkeypatch.setattr(demo, "main", None)  # parsing alone must decide: nothing is built
    with pytest.raises(SystemExit) as exit_info:
        demo.parse_args(argv)
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1 and option in err, err


def test_demo_options_all_have_help():
    actions = [a for a in demo.build_parser()._actions if a.dest != "help"]
    assert len(actions) == 14 and all(a.help for a in actions), [a.dest for a in actions if not a.help]


def test_demo_device_auto_falls_back_to_the_cpu_in_float32():
    import torch

    assert demo.resolve_device("auto") == ("cuda" if torch.cuda.is_available() else demo.resolve_device("auto"))
    assert demo.resolve_dtype("auto", "cpu") == torch.float32 and demo.resolve_dtype("auto", "cuda") == torch.float16
