"""Windowed temporal attention on a ComfyUI SVD MODEL (clone-scoped)."""
from __future__ import annotations

from ..techniques.windowed_attention import WindowSettings
from .options import set_model_option
from .video_transformer import install_temporal_forward


def apply_windowed_attention(model, settings: WindowSettings):
    """A clone whose temporal layers work per window (`block`) or within a band (`banded`).

    Videos of at most `window_frames` frames (also each ComfyUI context window of that size) run
    the stock model.
    """
    patched = model.clone()
    install_temporal_forward(patched)
    set_model_option(patched, "windows", settings)
    return patched
