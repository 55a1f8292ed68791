"""Node LongerVideoFrameChunking: SVD's UNet on chunks of frames, so long videos fit smaller cards."""
from __future__ import annotations

from comfy_api.latest import io

from .comfy_patches.frame_chunking import apply_frame_chunking
from .node_common import CATEGORY, default, names_input_errors, settings_from
from .techniques.frame_chunking import FrameChunkingSettings


class LongerVideoFrameChunking(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="LongerVideoFrameChunking",
            display_name="Longer Video: Frame Chunking",
            category=CATEGORY,
            description=(
                "Runs SVD's per-frame layers (spatial resblocks and transformers, up-sampling) on frames_per_chunk "
                "frames at a time and its temporal layers on all frames of a few positions at a time, so sampling "
                "memory stops growing with the layers' intermediates: what is left per frame is the UNet's skip "
                "connections and residual stream. Same result as the stock model (to rounding), same FLOPs, "
                "somewhat slower on a GPU (smaller kernels). ComfyUI's memory estimate follows the chunk. Combine "
                "with Temporal Positions, Windowed Attention, FreeNoise and the Keyframe Sampler in any order."
            ),
            inputs=[
                io.Model.Input("model", tooltip="An SVD / SVD-XT model (e.g. from Image Only Checkpoint Loader)."),
                io.Int.Input(
                    "frames_per_chunk", default=default(FrameChunkingSettings, "frames_per_chunk"), min=1, max=4096,
                    tooltip="Frames each per-frame layer processes at once (cond and uncond count separately). "
                            "Lower = less memory, more kernel launches. 8 keeps one chunk's work under ~1 GB at "
                            "1024x576; calls with at most this many frames run the stock model.",
                ),
            ],
            outputs=[io.Model.Output(tooltip="A patched clone; the input model is unchanged.")],
        )

    @classmethod
    @names_input_errors
    def execute(cls, model, **widgets) -> io.NodeOutput:
        (settings,) = settings_from(widgets, FrameChunkingSettings)
        return io.NodeOutput(apply_frame_chunking(model, settings))


NODES = [LongerVideoFrameChunking]
