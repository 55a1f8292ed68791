"""Node LongerVideoWindowedAttention: FreeNoise-style windows inside SVD's temporal layers."""
from __future__ import annotations

from comfy_api.latest import io

from .comfy_patches.windowed_attention import apply_windowed_attention
from .node_common import CATEGORY, default, names_input_errors, settings_from, validation_result
from .techniques.windowed_attention import FUSIONS, WINDOW_MODES, WindowSettings, validate_windows


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
                "(FreeNoise). banded: one pass, each frame attends to frames within window_frames/2 (a masked full "
                "attention: stock cost and memory). Spatial layers still run once per frame. Videos up to "
                "window_frames frames run the stock model."
            ),
            inputs=[
                io.Model.Input("model", tooltip="An SVD / SVD-XT model."),
                io.Int.Input("window_frames", default=default(WindowSettings, "window_frames"), min=1, max=1024,
                             tooltip="Frames per temporal window: the trained length (25 SVD-XT, 14 SVD)."),
                io.Int.Input("stride_frames", default=default(WindowSettings, "stride_frames"), min=1, max=1024,
                             tooltip="Frames between window starts (block mode); <= window_frames. Smaller = smoother, slower."),
                io.Combo.Input("fusion", options=list(FUSIONS), default=default(WindowSettings, "fusion"),
                               tooltip="How overlapping windows are weighted per frame: pyramid (centre counts most), "
                                       "flat, or delayed_reverse_sawtooth."),
                io.Combo.Input("mode", options=list(WINDOW_MODES), default=default(WindowSettings, "mode"),
                               tooltip="block: faithful FreeNoise, window-local positions (cost grows with "
                                       "window/stride). banded: one pass with global positions (combine with "
                                       "Temporal Positions), attention limited to +-window/2 frames by a mask over "
                                       "the full attention (stock cost, not local attention)."),
            ],
            outputs=[io.Model.Output(tooltip="A patched clone; the input model is unchanged.")],
        )

    @classmethod
    def validate_inputs(cls, window_frames=None, stride_frames=None):
        return validation_result(validate_windows, window_frames, stride_frames)

    @classmethod
    @names_input_errors
    def execute(cls, model, **widgets) -> io.NodeOutput:
        (settings,) = settings_from(widgets, WindowSettings)
        return io.NodeOutput(apply_windowed_attention(model, settings))


NODES = [LongerVideoWindowedAttention]
