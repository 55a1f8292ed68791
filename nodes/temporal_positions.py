"""Node LongerVideoTemporalPositions: interpolated temporal positions on an SVD MODEL."""
from __future__ import annotations

from comfy_api.latest import io

from .comfy_patches.temporal_positions import apply_temporal_positions
from .node_common import CATEGORY, default, names_input_errors, settings_from, validation_result
from .techniques.temporal_positions import MODES, PositionSettings, validate_yarn_range


class LongerVideoTemporalPositions(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="LongerVideoTemporalPositions",
            display_name="Longer Video: Temporal Positions",
            category=CATEGORY,
            description=(
                "Interpolates SVD's temporal position embedding so videos longer than the trained length keep "
                "positions in the range the model knows. MODEL in, a patched clone out: put it between the checkpoint "
                "loader (or Video Linear CFG Guidance) and the sampler. The scale s = T / trained_frames is taken "
                "from the frame count of each model call, so one patched model serves any length (inside ComfyUI's "
                "context windows it sees the window length); at T <= trained_frames the model is exactly the stock "
                "one. With Windowed Temporal Attention (either order): in block mode positions apply inside each "
                "window, in banded mode to the whole video. The read-out shows the scale for the frame count "
                "sampled downstream."
            ),
            inputs=[
                io.Model.Input("model", tooltip="An SVD / SVD-XT model (e.g. from Image Only Checkpoint Loader)."),
                io.Combo.Input(
                    "mode", options=list(MODES), default=default(PositionSettings, "mode"),
                    tooltip="none: stock positions. linear: positions divided by s (PI; keeps every phase in range but "
                            "squeezes neighbouring frames, motion tends to slow). ntk: base raised to "
                            "base*s^(half/(half-1)): the fastest frequency kept, the slowest divided by s. yarn: "
                            "frequencies turning more than yarn_beta times over the trained length stay exact, "
                            "those under yarn_alpha get PI, a blend between. Start with yarn; try linear if motion "
                            "stutters.",
                ),
                io.Int.Input(
                    "trained_frames", default=default(PositionSettings, "trained_frames"), min=1, max=1024,
                    tooltip="Frame count the model was trained on: 14 for SVD, 25 for SVD-XT (the weights do not say which).",
                ),
                io.Float.Input(
                    "yarn_alpha", default=default(PositionSettings, "yarn_alpha"), min=0.0, max=64.0, step=0.05,
                    tooltip="YaRN: frequencies seen fewer than alpha periods in training are fully interpolated.",
                ),
                io.Float.Input(
                    "yarn_beta", default=default(PositionSettings, "yarn_beta"), min=0.01, max=64.0, step=0.05,
                    tooltip="YaRN: frequencies seen more than beta periods in training are left exact. Must be > alpha. "
                            "SVD's trained lengths are tiny (the fastest frequency turns 2.2 times over 14 frames, "
                            "4.0 over 25), so LLM defaults (1, 32) would make YaRN the same as PI.",
                ),
            ],
            outputs=[io.Model.Output(tooltip="A patched clone; the input model is unchanged.")],
        )

    @classmethod
    def validate_inputs(cls, yarn_alpha=None, yarn_beta=None):
        return validation_result(validate_yarn_range, yarn_alpha, yarn_beta)

    @classmethod
    @names_input_errors
    def execute(cls, model, **widgets) -> io.NodeOutput:
        (settings,) = settings_from(widgets, PositionSettings)
        return io.NodeOutput(apply_temporal_positions(model, settings))


NODES = [LongerVideoTemporalPositions]
