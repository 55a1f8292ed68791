"""Temporal position interpolation on a ComfyUI SVD MODEL (scoped to a clone)."""
from __future__ import annotations

from ..techniques.temporal_positions import PositionSettings
from .options import set_model_option
from .video_transformer import install_temporal_forward


def apply_temporal_positions(model, settings: PositionSettings):
    """Return a clone of `model` whose temporal layers embed frames with `settings`.

    The scale is chosen per call from the real frame count, so the clone serves any length and is
    the stock model at T <= trained_frames.
    """
    patched = model.clone()
    install_temporal_forward(patched)
    set_model_option(patched, "positions", settings)
    return patched
