"""Node LongerVideoWindowedAttention: FreeNoise-style windows inside SVD's temporal layers."""
from __future__ import annotations

from comfy_api.latest import io

from .comfy_patches.windowed_attention import apply_windowed_attention
from .node_common import CATEGORY, default, names_input_errors, settings_from, validation_result
from .techniques.windowed_attention import FUSIONS, RESBLOCK_NORMS, WINDOW_MODES, WindowSettings


class LongerVideoWindowedAttention(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="LongerVideoWindowedAttention",
            display_name="Longer Video: Windowed Temporal Attention",
            category=CATEGORY,
            description=(
                "Keeps SVD's temporal attention at its trained length on long videos (FreeNoise-style). MODEL in, a "
                "patched clone out. block: the whole temporal block runs per window of window_frames with the "
                "positions it was trained on (0..window-1) and the window outputs are fused with normalised "
                "weights, every frame covered. banded: one pass with global positions (pair it with Temporal "
                "Positions) and self-attention masked to +-window_frames/2 frames: a masked full attention, so "
                "stock compute and memory, not local attention. Spatial layers run once per frame either way. SVD's "
                "temporal resblocks also mix frames: a 3-frame convolution and a GroupNorm over all frames, unless "
                "resblock_norm is window (block mode). Videos up to window_frames frames run the stock "
                "model. With ComfyUI's Context Windows each context window is one model call: windows of ours no "
                "longer than it do nothing, smaller ones work inside it. Pair with FreeNoise (same window and "
                "stride). The read-out shows the windows for the frame count sampled downstream and warns when "
                "the window covers the whole video or the stride skips frames."
            ),
            inputs=[
                io.Model.Input("model", tooltip="An SVD / SVD-XT model."),
                io.Int.Input("window_frames", default=default(WindowSettings, "window_frames"), min=1, max=1024,
                             tooltip="Frames per temporal window: the trained length (25 SVD-XT, 14 SVD)."),
                io.Int.Input("stride_frames", default=default(WindowSettings, "stride_frames"), min=1, max=1024,
                             tooltip="Frames between window starts (block mode), 1..window_frames; a last window is aligned to the "
                                     "end. Smaller = smoother and slower: the temporal block costs about "
                                     "window/stride times the stock one."),
                io.Combo.Input("fusion", options=list(FUSIONS), default=default(WindowSettings, "fusion"),
                               tooltip="How overlapping windows are weighted per frame: pyramid (centre counts most), "
                                       "flat, or delayed_reverse_sawtooth."),
                io.Combo.Input("mode", options=list(WINDOW_MODES), default=default(WindowSettings, "mode"),
                               tooltip="block: faithful FreeNoise, window-local positions (cost grows with "
                                       "window/stride). banded: one pass with global positions (combine with "
                                       "Temporal Positions), attention limited to +-window/2 frames by a mask over "
                                       "the full attention (stock cost, not local attention)."),
                io.Combo.Input("resblock_norm", options=list(RESBLOCK_NORMS), default=default(WindowSettings, "resblock_norm"),
                               optional=True,
                               tooltip="block mode: what SVD's temporal resblocks normalise over. video: all frames "
                                       "(stock; their GroupNorm statistics still span the whole video). window: "
                                       "each window, fused like the temporal blocks, so nothing in the temporal "
                                       "layers sees past a window."),
            ],
            outputs=[io.Model.Output(tooltip="A patched clone; the input model is unchanged.")],
        )

    @classmethod
    def validate_inputs(cls, window_frames=None, stride_frames=None, mode=None, resblock_norm=None):
        def check(window_frames, stride_frames):  # a linked mode / resblock_norm is checked at execution
            WindowSettings(window_frames, stride_frames, mode=mode or "block", resblock_norm=resblock_norm or "video")

        return validation_result(check, window_frames, stride_frames)

    @classmethod
    @names_input_errors
    def execute(cls, model, **widgets) -> io.NodeOutput:
        (settings,) = settings_from(widgets, WindowSettings)
        return io.NodeOutput(apply_windowed_attention(model, settings))


NODES = [LongerVideoWindowedAttention]
