"""The fingerprint that pins the pack's copies of upstream forwards: code changes count, style does not."""
import pytest

from longer_video.nodes import upstream


def plain(self, x, y=None):
    a = x + 1
    return a * 2


def restyled(self, x: float, y: int | None = None) -> float:
    """A docstring and annotations, comments and line breaks are not code."""
    a = (
        x + 1  # comment
    )
    return a * 2


def changed(self, x, y=None):
    a = x + 1
    return a * 3


def test_fingerprint_ignores_style_but_not_code():
    assert upstream.code_fingerprint(plain) == upstream.code_fingerprint(restyled)
    assert upstream.code_fingerprint(plain) != upstream.code_fingerprint(changed)


def test_unknown_upstream_asks_for_a_resync(monkeypatch):
    monkeypatch.setitem(upstream.MIRRORED, "example.forward", {upstream.code_fingerprint(plain): "release 1"})
    assert upstream.upstream_status("example.forward", restyled) == (True, "example.forward matches release 1")
    known, message = upstream.upstream_status("example.forward", changed)
    assert not known and "re-sync" in message and "release 1" in message


def test_supported_comfyui_range_is_stated_once_and_pyproject_follows_it():
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert pyproject["tool"]["comfy"]["requires-comfyui"] == upstream.SUPPORTED_COMFYUI


@pytest.mark.parametrize("name", sorted(upstream.MIRRORED))
def test_every_mirrored_function_has_a_known_release(name):
    assert upstream.MIRRORED[name] and all(len(fp) == 16 for fp in upstream.MIRRORED[name])
