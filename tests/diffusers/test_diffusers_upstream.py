"""The installed diffusers' forwards are ones the pack's copies mirror."""
import pytest
from diffusers.models.resnet import SpatioTemporalResBlock, TemporalResnetBlock
from diffusers.models.transformers.transformer_temporal import TransformerSpatioTemporalModel

from longer_video.nodes.upstream import (
    DIFFUSERS_FORWARD, DIFFUSERS_RESBLOCK_FORWARD, DIFFUSERS_TEMPORAL_RESNET_FORWARD, upstream_status,
)

INSTALLED = {
    DIFFUSERS_FORWARD: TransformerSpatioTemporalModel.forward,
    DIFFUSERS_RESBLOCK_FORWARD: SpatioTemporalResBlock.forward,
    DIFFUSERS_TEMPORAL_RESNET_FORWARD: TemporalResnetBlock.forward,
}


@pytest.mark.parametrize("name", sorted(INSTALLED))
def test_installed_diffusers_forward_is_a_known_release(name):
    known, message = upstream_status(name, INSTALLED[name])
    assert known, message
