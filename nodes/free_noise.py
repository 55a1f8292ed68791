"""Node LongerVideoFreeNoise: FreeNoise noise rescheduling for long SVD videos."""
from __future__ import annotations

from comfy_api.latest import io

from .comfy_patches.windows import apply_freenoise
from .techniques.freenoise import NOISE_MODES, validate_noise_settings
from .node_common import CATEGORY, validation_result


class LongerVideoFreeNoise(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="LongerVideoFreeNoise",
            display_name="Longer Video: FreeNoise",
            category=CATEGORY,
            description=(
                "Reschedules the starting noise so frames beyond the first window reuse (shuffled) noise of earlier "
                "frames: far-apart windows start from related noise and the video stays coherent. Works with KSampler "
                "and SamplerCustomAdvanced (it wraps the sampler run; the seed comes from the sampler)."
            ),
            inputs=[
                io.Model.Input("model", tooltip="An SVD / SVD-XT model."),
                io.Int.Input("window_frames", default=25, min=1, max=1024,
                             tooltip="Window length: the first window keeps its own noise. Use the same value as "
                                     "Windowed Temporal Attention."),
                io.Int.Input("stride_frames", default=4, min=1, max=1024,
                             tooltip="Each later block of stride_frames reuses the noise of the block window_frames earlier."),
                io.Combo.Input("mode", options=list(NOISE_MODES), default="shuffle",
                               tooltip="shuffle: a seeded permutation of the earlier block (FreeNoise). repeat: an exact copy."),
            ],
            outputs=[io.Model.Output(tooltip="A patched clone; the input model is unchanged.")],
        )

    @classmethod
    def validate_inputs(cls, window_frames=None, stride_frames=None, mode=None, **kwargs):
        return validation_result(validate_noise_settings, window_frames, stride_frames, mode)

    @classmethod
    def execute(cls, model, window_frames, stride_frames, mode) -> io.NodeOutput:
        return io.NodeOutput(apply_freenoise(model, window_frames, stride_frames, mode, node_name=cls.__name__))


NODES = [LongerVideoFreeNoise]
