"""The installed ComfyUI's forwards are ones the pack's copies mirror."""
import pytest

from longer_video.nodes.upstream import (
    COMFYUI_FORWARD, COMFYUI_RESBLOCK_FORWARD, COMFYUI_VIDEO_RESBLOCK_FORWARD, upstream_status,
)


def installed(name):
    from comfy.ldm.modules.attention import SpatialVideoTransformer
    from comfy.ldm.modules.diffusionmodules.openaimodel import ResBlock, VideoResBlock

    return {COMFYUI_FORWARD: SpatialVideoTransformer.forward, COMFYUI_VIDEO_RESBLOCK_FORWARD: VideoResBlock.forward,
            COMFYUI_RESBLOCK_FORWARD: ResBlock._forward}[name]


@pytest.mark.parametrize("name", [COMFYUI_FORWARD, COMFYUI_VIDEO_RESBLOCK_FORWARD, COMFYUI_RESBLOCK_FORWARD])
def test_installed_comfyui_forward_is_a_known_release(name):
    known, message = upstream_status(name, installed(name))
    assert known, message
