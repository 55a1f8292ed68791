"""Nodes for video continuation: conditioning for the next clip, and joining it onto the video."""
from __future__ import annotations

from comfy_api.latest import io

from .comfy_patches.continuation import (
    check_frame_size, continuation_conditioning, encode_frames, last_frames, overlap_of,
)
from .comfy_patches.keyframe_interpolation import check_latent_batch
from .node_common import CATEGORY, default, names_input_errors, settings_from
from .techniques.continuation import HINTS, METHODS, ContinuationSettings, JoinSettings, join_clips
from .techniques.errors import InputError
from .techniques.svd import MicroConditioning


class LongerVideoContinue(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="LongerVideoContinue",
            display_name="Longer Video: Continue Video",
            category=CATEGORY,
            description=(
                "SVD conditioning for the next clip of a video: overlap_frames + new_frames frames that start from "
                "the last overlap_frames frames of the previous clip. Sample it with KSampler (or the Keyframe "
                "Sampler, whole mode), then append it with Join Clips; repeat for an open-ended video. "
                "injection holds the overlap exactly (no extra cost; the most stable). history_cfg adds a guidance "
                "term for the history: one extra model evaluation of the clip per step (1.7x the time of injection "
                "in the pack's CPU benchmark). reconstruction backpropagates through the whole model at every step: "
                "2.0x the time and 20x the peak memory of injection in that benchmark (a 212M-parameter UNet); at "
                "full size training-level memory (every layer's activations kept for the backward pass, plus a copy "
                "of the weights), so use it only on a GPU with memory to spare."
            ),
            inputs=[
                io.ClipVision.Input("clip_vision", tooltip="The CLIP vision model from the SVD checkpoint loader."),
                io.Latent.Input("previous_latent", optional=True,
                                tooltip="The video so far as an SVD LATENT (a sampled clip or Join Clips' output): no "
                                        "VAE round trip, so no colour drift. Give this or previous_frames."),
                io.Image.Input("previous_frames", optional=True,
                               tooltip="The video so far as IMAGE frames (width and height multiples of 8); needs "
                                       "the vae. Give this or previous_latent."),
                io.Vae.Input("vae", optional=True, tooltip="The SVD VAE; encodes previous_frames."),
                io.Image.Input("clip_image", optional=True,
                               tooltip="Image for the CLIP embedding, e.g. the first clip's init image (keeps the "
                                       "subject). Default: the last previous frame. Required with previous_latent."),
                io.Combo.Input("method", options=list(METHODS), default=default(ContinuationSettings, "method"),
                               tooltip="injection: the overlap frames are the previous clip's, held exactly through "
                                       "sampling (any sampler). history_cfg: the history conditions the clip through "
                                       "SVD's concat latent with its own guidance scale (one extra model evaluation "
                                       "per step, 1.7x time). reconstruction: reconstruction guidance, a gradient "
                                       "through the model every step (2.0x time, 20x memory in the CPU benchmark; "
                                       "training-level memory at full size)."),
                io.Int.Input("overlap_frames", default=default(ContinuationSettings, "overlap_frames"), min=1, max=64,
                             tooltip="m: frames of the previous clip the new clip starts from (fewer than the "
                                     "previous clip has). 4 is a good start."),
                io.Int.Input("new_frames", default=default(ContinuationSettings, "new_frames"), min=1, max=1024,
                             tooltip="n: frames each continuation adds. The clip samples m+n frames: keep that near "
                                     "SVD's trained 25 (SVD-XT) / 14 (SVD), or add Temporal Positions."),
                io.Int.Input("motion_bucket_id", default=default(MicroConditioning, "motion_bucket_id"), min=1, max=1023,
                             tooltip="SVD motion amount; use the first clip's value for an even pace."),
                io.Int.Input("fps", default=default(MicroConditioning, "fps"), min=1, max=1024,
                             tooltip="SVD fps conditioning; use the first clip's value."),
                io.Float.Input("augmentation_level", default=default(MicroConditioning, "augmentation_level"), min=0.0,
                               max=10.0, step=0.01,
                               tooltip="Noise added to previous_frames before encoding the hints (as stock SVD). "
                                       "Held overlap frames use the clean frames. Must be 0 with previous_latent."),
                io.Float.Input("history_scale", default=default(ContinuationSettings, "history_scale"), min=0.0,
                               max=100.0, step=0.05,
                               tooltip="history_cfg only: weight of (with history - without history). 0 = plain "
                                       "last-frame chaining; equal to the sampler's cfg = plain CFG on the history."),
                io.Float.Input("guidance_weight", default=default(ContinuationSettings, "guidance_weight"), min=0.0,
                               max=100.0, step=0.05,
                               tooltip="reconstruction only: w in x0[new] - (w/2) grad_new ||x0[overlap] - "
                                       "known||^2: the new frames move so that the model's estimate of the overlap "
                                       "comes closer to the known frames. The overlap itself is replaced by the "
                                       "known frames at every step, whatever w. 0 = that replacement alone (no "
                                       "gradient step). Costs a backward pass every step."),
                io.Combo.Input("hints", options=list(HINTS), default=default(ContinuationSettings, "hints"),
                               optional=True,
                               tooltip="The image SVD is conditioned on, per frame. hold: overlap frame i gets "
                                       "previous frame i, every new frame the last previous frame. first / last: "
                                       "every frame gets the overlap's first / last frame, one image for the clip "
                                       "as SVD was trained. first (default) kept the motion on the quality toy where "
                                       "hold lost it (README, Quality)."),
            ],
            outputs=[
                io.Conditioning.Output(display_name="positive"),
                io.Conditioning.Output(display_name="negative"),
                io.Latent.Output(display_name="latent",
                                 tooltip="The clip to sample (m+n frames). It records the overlap for Join Clips."),
            ],
        )

    @classmethod
    @names_input_errors
    def execute(cls, clip_vision, previous_latent=None, previous_frames=None, vae=None, clip_image=None,
                **widgets) -> io.NodeOutput:
        settings, micro = settings_from(widgets, ContinuationSettings, MicroConditioning)
        if (previous_latent is None) == (previous_frames is None):
            raise InputError("connect exactly one of previous_latent (LATENT) or previous_frames (IMAGE)")
        m = settings.overlap_frames
        if previous_frames is not None:
            if vae is None:
                raise InputError("vae is required with previous_frames (it encodes the overlap frames)")
            check_frame_size(previous_frames, "previous_frames")
            frames = last_frames(previous_frames, m, "previous_frames")
            known, hint_known = encode_frames(vae, frames, micro.augmentation_level)
            images = clip_image if clip_image is not None else frames[-1:]
        else:
            if micro.augmentation_level > 0:
                raise InputError("augmentation_level must be 0 with previous_latent: SVD's augmentation noises the "
                                 "images before encoding, and latents have no images to noise; connect "
                                 "previous_frames (IMAGE) to use it")
            samples = previous_latent["samples"]
            check_latent_batch(samples, "previous_latent")
            known = hint_known = last_frames(samples, m, "previous_latent")
            if clip_image is None:
                raise InputError("clip_image is required with previous_latent (the CLIP embedding needs an image, "
                                 "e.g. the first clip's init image)")
            images = clip_image
        clip_embeds = clip_vision.encode_image(images).image_embeds
        return io.NodeOutput(*continuation_conditioning(clip_embeds, known, settings, micro, hint_known))


class LongerVideoJoinClips(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="LongerVideoJoinClips",
            display_name="Longer Video: Join Clips",
            category=CATEGORY,
            description=(
                "Appends a sampled continuation to the video it continues, without repeating the overlap: the "
                "result has the video's frames plus the clip's new frames. Feed the result to the next Continue "
                "Video (previous_latent) to keep going."
            ),
            inputs=[
                io.Latent.Input("video", tooltip="The video so far (the first clip, or the previous Join's output)."),
                io.Latent.Input("clip", tooltip="The sampled continuation (KSampler's output for Continue Video's latent)."),
                io.Boolean.Input("crossfade", default=default(JoinSettings, "crossfade"),
                                 tooltip="Blend the overlap frames from the video's to the clip's (history_cfg, "
                                         "reconstruction). Off: the video keeps its own frames there. With injection "
                                         "the overlap is identical in both, so nothing is blended."),
            ],
            outputs=[io.Latent.Output(tooltip="The video with the clip's new frames appended.")],
        )

    @classmethod
    @names_input_errors
    def execute(cls, video, clip, **widgets) -> io.NodeOutput:
        (settings,) = settings_from(widgets, JoinSettings)
        overlap, pinned = overlap_of(clip, "clip")
        check_latent_batch(video["samples"], "video")
        check_latent_batch(clip["samples"], "clip")
        samples = join_clips(video["samples"], clip["samples"], overlap, settings.crossfade and not pinned)
        return io.NodeOutput({"samples": samples})


NODES = [LongerVideoContinue, LongerVideoJoinClips]
