"""The README's demo command end to end on the tiny pipeline: a longer-than-trained video file."""
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import av
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import demo


def test_demo_writes_a_video_and_prints_one_line_and_nothing_else(tmp_path):
    out = tmp_path / "demo.mp4"
    # A fresh process, as a user runs it: the known-harmless transformers line and the progress bars
    # print on first import / first run, which an in-process test may not be the first to do.
    run = subprocess.run([sys.executable, str(demo.PACK_ROOT / "scripts" / "demo.py"), "--frames", "20", "--steps", "1",
                          "--chunk-frames", "8", "--overlap-frames", "2", "--crossfade-frames", "2", "--out", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and run.stderr == "", run.stderr
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 20
    assert len(run.stdout.splitlines()) == 1, run.stdout
    assert "frames=20 (trained 14, position scale 1.43, mode yarn)" in run.stdout and "time=" in run.stdout


def test_demo_drops_only_the_known_transformers_line():
    def record(message):
        return logging.LogRecord("transformers.utils.import_utils", logging.WARNING, __file__, 1, message, None, None)

    known = "`CLIPImageProcessor` requires torchvision (not installed); falling back to `CLIPImageProcessorPil` ..."
    assert not demo.not_torchvision_fallback(record(known))
    assert demo.not_torchvision_fallback(record("`SiglipImageProcessor` could not be imported"))


@pytest.mark.parametrize("argv, option", [
    (["--frames", "0"], "--frames"), (["--frames", "-5"], "--frames"), (["--steps", "0"], "--steps"),
    (["--trained-frames", "0"], "--trained-frames"), (["--size", "60", "60"], "--size"),
    (["/no/such/model"], "model"), (["--image", "/no/such.png"], "--image"),
    (["--image", str(demo.PACK_ROOT / "README.md")], "--image"), (["--out", "video.txt"], "--out"),
    (["--chunk-frames", "8", "--overlap-frames", "4"], "--overlap-frames"), (["--seed", "-1"], "--seed"),
])
def test_demo_refuses_nonsense_in_one_line_before_building_anything(argv, option, capsys, monkeypatch):
    monkeypatch.setattr(demo, "main", None)  # parsing alone must decide: nothing is built
    with pytest.raises(SystemExit) as exit_info:
        demo.parse_args(argv)
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1 and option in err, err


def refusal(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        demo.parse_args(argv)
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1, err
    return err


COMPONENTS = ("unet", "vae", "image_encoder", "scheduler", "feature_extractor")  # a diffusers SVD folder's parts
SVD_INDEX = {"_class_name": "StableVideoDiffusionPipeline"} | {name: ["diffusers", "X"] for name in COMPONENTS}


def svd_folder(path: Path, index: dict) -> str:
    path.mkdir()
    (path / "model_index.json").write_text(json.dumps(index))
    for name in COMPONENTS:
        (path / name).mkdir()
    return str(path)


def test_demo_refuses_a_model_folder_diffusers_would_fail_on(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(demo, "main", None)
    for name, index in (("empty", {}), ("list", []), ("sd", SVD_INDEX | {"_class_name": "StableDiffusionPipeline"})):
        assert "model" in refusal([svd_folder(tmp_path / name, index)], capsys)
    no_vae = svd_folder(tmp_path / "no_vae", {k: v for k, v in SVD_INDEX.items() if k != "vae"})
    assert "vae" in refusal([no_vae], capsys)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "model_index.json").write_text("{")
    assert "model" in refusal([str(tmp_path / "broken")], capsys)
    assert demo.parse_args([svd_folder(tmp_path / "svd", SVD_INDEX)]).model  # a complete layout passes


def test_demo_refuses_an_out_it_could_not_write_before_generating(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(demo, "main", None)
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    assert "--out" in refusal(["--out", str(a_file / "video.mp4")], capsys)  # a file where the folder should be
    (tmp_path / "folder.mp4").mkdir()
    assert "--out" in refusal(["--out", str(tmp_path / "folder.mp4")], capsys)
    if os.geteuid() != 0:
        read_only = tmp_path / "read_only"
        read_only.mkdir(mode=0o555)
        assert "--out" in refusal(["--out", str(read_only / "new" / "video.mp4")], capsys)
    elif Path("/proc/self").is_dir():  # root may write any folder, but not create files in /proc
        assert "--out" in refusal(["--out", "/proc/video.mp4"], capsys)
    assert demo.parse_args(["--out", str(tmp_path / "new" / "deeper" / "video.mkv")]).out  # folders made later


def test_demo_accepts_an_image_pil_reads(tmp_path):
    image = tmp_path / "init.png"
    demo.pattern_image(16, 16).save(image)
    assert demo.parse_args(["--image", str(image)]).image == str(image)


def test_demo_options_all_have_help():
    actions = [a for a in demo.build_parser()._actions if a.dest != "help"]
    assert len(actions) == 14 and all(a.help for a in actions), [a.dest for a in actions if not a.help]


def test_demo_device_auto_falls_back_to_the_cpu_in_float32():
    import torch

    assert demo.resolve_device("auto") == ("cuda" if torch.cuda.is_available() else demo.resolve_device("auto"))
    assert demo.resolve_dtype("auto", "cpu") == torch.float32 and demo.resolve_dtype("auto", "cuda") == torch.float16
