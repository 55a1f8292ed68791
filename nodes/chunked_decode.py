"""Node LongerVideoChunkedDecode: SVD VAE decoding in overlapping, cross-faded chunks."""
from __future__ import annotations

from comfy_api.latest import io

from .comfy_patches.chunked_decode import decode_chunked
from .node_common import CATEGORY, default, names_input_errors, settings_from, validation_result
from .techniques.chunked_decode import ChunkSettings


class LongerVideoChunkedDecode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="LongerVideoChunkedDecode",
            display_name="Longer Video: Chunked VAE Decode",
            category=CATEGORY,
            description=(
                "Decodes an SVD latent video a chunk of frames at a time with SVD's temporal VAE decoder, so memory "
                "depends on chunk_frames and not on the video length. Each chunk is decoded with overlap_frames of "
                "extra context on both sides (thrown away) and neighbouring chunks are cross-faded, so seams do "
                "not flicker. Memory is reserved for a whole chunk; when the device still runs out, the chunk is "
                "halved and the video decoded again. Progress shows one step per chunk; Cancel stops between "
                "chunks. Image VAEs are refused (use VAE Decode for them). The read-out shows the new frames per "
                "call and warns when overlap_frames*2 >= chunk_frames."
            ),
            inputs=[
                io.Vae.Input("vae", tooltip="SVD's VAE (the temporal decoder), e.g. from Image Only Checkpoint Loader."),
                io.Latent.Input("samples", tooltip="The sampled SVD latent video (one latent per frame)."),
                io.Int.Input(
                    "chunk_frames", default=default(ChunkSettings, "chunk_frames"), min=1, max=4096,
                    tooltip="Latent frames decoded per call, context included. Lower it if decoding runs out of "
                            "memory; 8-16 fits 8 GB cards at 1024x576. On an out-of-memory error it is halved "
                            "automatically (down to 2*overlap_frames+1).",
                ),
                io.Int.Input(
                    "overlap_frames", default=default(ChunkSettings, "overlap_frames"), min=0, max=2048,
                    tooltip="Extra frames decoded on each side of a chunk for temporal context and then discarded. "
                            "Must be less than half of chunk_frames. 4-8 hides seams.",
                ),
                io.Int.Input(
                    "crossfade_frames", default=default(ChunkSettings, "crossfade_frames"), min=0, max=4096,
                    tooltip="Frames over which neighbouring chunks are blended in pixel space at each seam "
                            "(0 = hard cut, at most 2*overlap_frames).",
                ),
            ],
            outputs=[io.Image.Output(tooltip="The decoded frames, one image per latent frame.")],
        )

    @classmethod
    def validate_inputs(cls, chunk_frames=None, overlap_frames=None, crossfade_frames=None):
        return validation_result(ChunkSettings, chunk_frames, overlap_frames, crossfade_frames)

    @classmethod
    @names_input_errors
    def execute(cls, vae, samples, **widgets) -> io.NodeOutput:
        (settings,) = settings_from(widgets, ChunkSettings)
        return io.NodeOutput(decode_chunked(vae, samples["samples"], settings))


NODES = [LongerVideoChunkedDecode]
