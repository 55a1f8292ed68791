"""Node LongerVideoChunkedDecode: SVD VAE decoding in overlapping, cross-faded chunks."""
from __future__ import annotations

from comfy_api.latest import io

from .comfy_patches.chunked_decode import decode_chunked
from .techniques.chunk_plan import validate_chunk_settings
from .node_common import CATEGORY, validation_result


class LongerVideoChunkedDecode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="LongerVideoChunkedDecode",
            display_name="Longer Video: Chunked VAE Decode",
            category=CATEGORY,
            description=(
                "Decodes an SVD latent video a chunk of frames at a time, so memory depends on chunk_frames and "
                "not on the video length. Each chunk is decoded with overlap_frames of extra context on both sides "
                "(thrown away) and neighbouring chunks are cross-faded, so seams do not flicker."
            ),
            inputs=[
                io.Vae.Input("vae", tooltip="SVD's VAE (the temporal decoder), e.g. from Image Only Checkpoint Loader."),
                io.Latent.Input("samples", tooltip="The sampled SVD latent video (one latent per frame)."),
                io.Int.Input(
                    "chunk_frames", default=16, min=1, max=4096,
                    tooltip="Latent frames decoded per call, context included. Lower it if decoding runs out of "
                            "memory; 8-16 fits 8 GB cards at 1024x576.",
                ),
                io.Int.Input(
                    "overlap_frames", default=4, min=0, max=2048,
                    tooltip="Extra frames decoded on each side of a chunk for temporal context and then discarded. "
                            "Must be less than half of chunk_frames. 4-8 hides seams.",
                ),
                io.Int.Input(
                    "crossfade_frames", default=4, min=0, max=4096,
                    tooltip="Frames over which neighbouring chunks are blended in pixel space at each seam "
                            "(0 = hard cut, at most 2*overlap_frames).",
                ),
            ],
            outputs=[io.Image.Output(tooltip="The decoded frames, one image per latent frame.")],
        )

    @classmethod
    def validate_inputs(cls, chunk_frames=None, overlap_frames=None, crossfade_frames=None, **kwargs):
        return validation_result(validate_chunk_settings, chunk_frames, overlap_frames, crossfade_frames)

    @classmethod
    def execute(cls, vae, samples, chunk_frames, overlap_frames, crossfade_frames) -> io.NodeOutput:
        latent = samples["samples"]
        images = decode_chunked(vae, latent, chunk_frames, overlap_frames, crossfade_frames, node_name=cls.__name__)
        return io.NodeOutput(images)


NODES = [LongerVideoChunkedDecode]
