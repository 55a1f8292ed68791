"""Node LongerVideoWindowedAttention: FreeNoise-style windows inside SVD's temporal layers."""
from __future__ import annotations

from comfy_api.latest import io

from .comfy_patches.windows import apply_windowed_attention
from .techniques.windows import FUSIONS, WINDOW_MODES, WindowSettings
from .node_common import CATEGORY, validation_result


class LongerVideoWindowedAttention(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="LongerVideoWindowedAttention",
            display_name="Longer Video: Windowed Temporal Attention",
            category=CATEGORY,
            description=(
                "Keeps SVD's temporal layers at their trained length on long videos. block: the temporal block runs "
                "on overlapping windows of window_frames with positions 0..window-1 and the outputs are fused "
                "(FreeNoise). banded: one pass, each frame attends to frames within window_frames/2. Spatial layers "
                "still run once per frame. Videos up to window_frames frames run the stock model."
            ),
            inputs=[
                io.Model.Input("model", tooltip="An SVD / SVD-XT model."),
                io.Int.Input("window_frames", default=25, min=1, max=1024,
                             tooltip="Frames per temporal window: the trained length (25 SVD-XT, 14 SVD)."),
                io.Int.Input("stride_frames", default=4, min=1, max=1024,
                             tooltip="Frames between window starts (block mode); <= window_frames. Smaller = smoother, slower."),
                io.Combo.Input("fusion", options=list(FUSIONS), default="pyramid",
                               tooltip="How overlapping windows are weighted per frame: pyramid (centre counts most), "
                                       "flat, or delayed_reverse_sawtooth."),
                io.Combo.Input("mode", options=list(WINDOW_MODES), default="block",
                               tooltip="block: faithful FreeNoise, window-local positions (cost grows with "
                                       "window/stride). banded: one pass with global positions (combine with "
                                       "Temporal Positions), attention limited to +-window/2 frames."),
            ],
            outputs=[io.Model.Output(tooltip="A patched clone; the input model is unchanged.")],
        )

    @classmethod
    def validate_inputs(cls, window_frames=None, stride_frames=None, fusion=None, mode=None, **kwargs):
        return validation_result(WindowSettings, window_frames, stride_frames, fusion, mode)

    @classmethod
    def execute(cls, model, window_frames, stride_frames, fusion, mode) -> io.NodeOutput:
        settings = WindowSettings(window_frames, stride_frames, fusion, mode)
        return io.NodeOutput(apply_windowed_attention(model, settings, node_name=cls.__name__))


NODES = [LongerVideoWindowedAttention]
