"""Node LongerVideoFreeNoise: FreeNoise noise rescheduling for long SVD videos."""
from __future__ import annotations

from comfy_api.latest import io

from .comfy_patches.freenoise import apply_freenoise
from .node_common import CATEGORY, default, names_input_errors, settings_from, validation_result
from .techniques.freenoise import NOISE_MODES, FreeNoiseSettings
from .techniques.windowed_attention import validate_windows


class LongerVideoFreeNoise(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="LongerVideoFreeNoise",
            display_name="Longer Video: FreeNoise",
            category=CATEGORY,
            description=(
                "Reschedules the starting noise of every sampling run on this model: for each block [f, f+stride) "
                "with f = window, window+stride, ..., the noise is a permutation (shuffle) or a copy (repeat) of the "
                "block window_frames earlier, so every frame past the first window reuses noise of the first window "
                "and far-apart windows start from related noise. MODEL in, a patched clone out; works with KSampler "
                "and SamplerCustomAdvanced (a keyed sampler wrapper; deterministic for the sampler's seed) and, in "
                "the Keyframe Sampler's batched segments, per segment. Use the same window and stride as Windowed "
                "Temporal Attention; the read-out warns when they differ."
            ),
            inputs=[
                io.Model.Input("model", tooltip="An SVD / SVD-XT model."),
                io.Int.Input("window_frames", default=default(FreeNoiseSettings, "window_frames"), min=1, max=1024,
                             tooltip="Window length: the first window keeps its own noise. Use the same value as "
                                     "Windowed Temporal Attention."),
                io.Int.Input("stride_frames", default=default(FreeNoiseSettings, "stride_frames"), min=1, max=1024,
                             tooltip="Each later block of stride_frames reuses the noise of the block window_frames earlier."),
                io.Combo.Input("mode", options=list(NOISE_MODES), default=default(FreeNoiseSettings, "mode"),
                               tooltip="shuffle: a seeded permutation of the earlier block (FreeNoise). repeat: an exact copy."),
            ],
            outputs=[io.Model.Output(tooltip="A patched clone; the input model is unchanged.")],
        )

    @classmethod
    def validate_inputs(cls, window_frames=None, stride_frames=None):
        return validation_result(validate_windows, window_frames, stride_frames)

    @classmethod
    @names_input_errors
    def execute(cls, model, **widgets) -> io.NodeOutput:
        (settings,) = settings_from(widgets, FreeNoiseSettings)
        return io.NodeOutput(apply_freenoise(model, settings))


NODES = [LongerVideoFreeNoise]
