"""The ComfyExtension that lists every node module's NODES."""
from __future__ import annotations

from comfy_api.latest import ComfyExtension, io

from . import (
    chunked_decode, continuation, frame_chunking, freenoise, keyframe_interpolation, temporal_positions, windowed_attention,
)

NODE_MODULES = (temporal_positions, windowed_attention, freenoise, frame_chunking, keyframe_interpolation, continuation,
                chunked_decode)


class LongerVideoExtension(ComfyExtension):
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return [node for module in NODE_MODULES for node in module.NODES]
