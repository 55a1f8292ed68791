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
                "positions in the range the model knows. The scale T / trained_frames is taken from the frame "
                "count at sampling time; at T <= trained_frames the model is exactly the stock one."
            ),
            inputs=[
                io.Model.Input("model", tooltip="An SVD / SVD-XT model (e.g. from Image Only Checkpoint Loader)."),
                io.Combo.Input(
                    "mode", options=list(MODES), default=default(PositionSettings, "mode"),
                    tooltip="none: stock positions. linear: positions divided by T/trained (PI). ntk: stretches the "
                            "lowest frequency only. yarn: keeps fast frequencies exact and interpolates slow ones.",
                ),
                io.Int.Input(
                    "trained_frames", default=default(PositionSettings, "trained_frames"), min=1, max=1024,
                    tooltip="Frame count the model was trained on: 14 for SVD, 25 for SVD-XT.",
                ),
                io.Float.Input(
                    "yarn_alpha", default=default(PositionSettings, "yarn_alpha"), min=0.0, max=64.0, step=0.05,
                    tooltip="YaRN: frequencies seen fewer than alpha periods in training are fully interpolated.",
                ),
                io.Float.Input(
                    "yarn_beta", default=default(PositionSettings, "yarn_beta"), min=0.01, max=64.0, step=0.05,
                    tooltip="YaRN: frequencies seen more than beta periods in training are left exact. Must be > alpha.",
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
