"""The installed diffusers' temporal transformer forward is one the pack's copy mirrors."""
from diffusers.models.transformers.transformer_temporal import TransformerSpatioTemporalModel

from longer_video.nodes.upstream import DIFFUSERS_FORWARD, upstream_status


def test_installed_diffusers_forward_is_a_known_release():
    known, message = upstream_status(DIFFUSERS_FORWARD, TransformerSpatioTemporalModel.forward)
    assert known, message
