"""Node LongerVideoTemporalPositions: interpolated temporal positions on an SVD MODEL."""
from __future__ import annotations

from comfy_api.latest import io

from .comfy_patches.positions import apply_temporal_positions
from .techniques.positions import DEFAULT_YARN_ALPHA, DEFAULT_YARN_BETA, MODES, PositionSettings
from .node_common import CATEGORY, validation_result


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
                    "mode", options=list(MODES), default="yarn",
                    tooltip="none: stock positions. linear: positions divided by T/trained (PI). ntk: stretches the "
                            "lowest frequency only. yarn: keeps fast frequencies exact and interpolates slow ones.",
                ),
                io.Int.Input(
                    "trained_frames", default=25, min=1, max=1024,
                    tooltip="Frame count the model was trained on: 14 for SVD, 25 for SVD-XT.",
                ),
                io.Float.Input(
                    "yarn_alpha", default=DEFAULT_YARN_ALPHA, min=0.0, max=64.0, step=0.05,
                    tooltip="YaRN: frequencies seen fewer than alpha periods in training are fully interpolated.",
                ),
                io.Float.Input(
                    "yarn_beta", default=DEFAULT_YARN_BETA, min=0.01, max=64.0, step=0.05,
                    tooltip="YaRN: frequencies seen more than beta periods in training are left exact. Must be > alpha.",
                ),
            ],
            outputs=[io.Model.Output(tooltip="A patched clone; the input model is unchanged.")],
        )

    @classmethod
    def validate_inputs(cls, mode=None, trained_frames=None, yarn_alpha=None, yarn_beta=None, **kwargs):
        return validation_result(PositionSettings, mode, trained_frames, yarn_alpha, yarn_beta)

    @classmethod
    def execute(cls, model, mode, trained_frames, yarn_alpha, yarn_beta) -> io.NodeOutput:
        settings = PositionSettings(mode=mode, trained_frames=trained_frames, yarn_alpha=yarn_alpha, yarn_beta=yarn_beta)
        return io.NodeOutput(apply_temporal_positions(model, settings, node_name=cls.__name__))


NODES = [LongerVideoTemporalPositions]
