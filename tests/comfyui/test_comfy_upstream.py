"""The installed ComfyUI's SpatialVideoTransformer.forward is one the pack's copy mirrors."""
from longer_video.nodes.upstream import COMFYUI_FORWARD, upstream_status


def test_installed_comfyui_forward_is_a_known_release():
    from comfy.ldm.modules.attention import SpatialVideoTransformer

    known, message = upstream_status(COMFYUI_FORWARD, SpatialVideoTransformer.forward)
    assert known, message
