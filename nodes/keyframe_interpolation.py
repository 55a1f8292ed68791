"""Nodes for keyframe-hint interpolation: conditioning from keyframes, and a segment-mode sampler."""
from __future__ import annotations

from comfy_api.latest import io

from .comfy_patches.keyframe_interpolation import (
    check_latent_batch, check_latent_size, encode_keyframe_images, keyframe_conditioning,
)
from .comfy_patches.clip_batch import require_batchable
from .comfy_patches.keyframe_interpolation_sampling import SamplerSettings, sample_segments, sample_whole
from .comfy_patches.video_transformer import require_video_model
from .node_common import CATEGORY, default, names_input_errors, settings_from, validation_result
from .techniques.bidirectional import DIRECTIONS
from .techniques.errors import InputError
from .techniques.keyframe_interpolation import (
    HINT_MODES, SAMPLING_MODES, KeyframeSamplingSettings, KeyframeSettings, require_keyframes,
)
from .techniques.svd import FrameSize, MicroConditioning


def comfyui_max_resolution() -> int:
    """ComfyUI's own size limit for width/height widgets (its top-level `nodes` module, loaded before any pack)."""
    import nodes as comfyui_nodes

    return comfyui_nodes.MAX_RESOLUTION


class LongerVideoKeyframeConditioning(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="LongerVideoKeyframeConditioning",
            display_name="Longer Video: Keyframe Conditioning",
            category=CATEGORY,
            description=(
                "SVD conditioning that interpolates between keyframes (use it instead of SVD_img2vid_Conditioning): "
                "K keyframes with frames_between k give (K-1)*k+1 frames, keyframe j at frame j*k. Each frame is "
                "hinted with a keyframe latent (SVD's concat input) and gets the CLIP image embedding of the image "
                "its hint comes from (or of clip_images). The keyframes are pinned exactly with any sampler: the "
                "LATENT carries them and a per-frame noise mask, and a conditioning hook pastes them back after "
                "sampling (samplers such as dpm_fast or uni_pc stop at a nonzero noise level). Chain stages "
                "(5 -> 17 -> 65 frames) by feeding a stage's sampled LATENT in as the next stage's keyframe_latents. "
                "loop adds the first keyframe after the last for a video that repeats seamlessly. "
                "Sample it with KSampler or the Keyframe Sampler, at a constant cfg (no Video Linear CFG Guidance: "
                "the keyframes are pinned). The read-out shows the output frame count."
            ),
            inputs=[
                io.ClipVision.Input("clip_vision", tooltip="The CLIP vision model from the SVD checkpoint loader."),
                io.Vae.Input("vae", tooltip="The SVD VAE; encodes keyframe images."),
                io.Image.Input("keyframes", optional=True,
                               tooltip="Keyframe images (2 or more, one size). Give this or keyframe_latents."),
                io.Latent.Input("keyframe_latents", optional=True,
                                tooltip="Keyframes as an SVD LATENT, e.g. the previous stage's sampled video: no VAE "
                                        "round trip, so no colour drift between stages."),
                io.Image.Input("clip_images", optional=True,
                               tooltip="Images for the CLIP embedding: 1 (e.g. the init image) or one per keyframe. "
                                       "Default: the keyframe images. Required with keyframe_latents."),
                io.Int.Input("frames_between", default=default(KeyframeSettings, "frames_between"), min=1, max=256,
                             tooltip="k: frames from one keyframe to the next. Output frames = (keyframes-1)*k+1 "
                                     "(5 keyframes, k=4 -> 17). Keep k+1 near SVD's trained 14/25 frames."),
                io.Int.Input("width", default=default(FrameSize, "width"), min=8, max=comfyui_max_resolution(), step=8,
                             tooltip="Video width in pixels (multiple of 8). Must match keyframe_latents."),
                io.Int.Input("height", default=default(FrameSize, "height"), min=8, max=comfyui_max_resolution(), step=8,
                             tooltip="Video height in pixels (multiple of 8). Must match keyframe_latents."),
                io.Int.Input("motion_bucket_id", default=default(MicroConditioning, "motion_bucket_id"), min=1, max=1023,
                             tooltip="SVD motion amount; lower it for calmer in-betweens."),
                io.Int.Input("fps", default=default(MicroConditioning, "fps"), min=1, max=1024,
                             tooltip="SVD fps conditioning. Later stages have frames closer in time: raise it per stage "
                                     "(e.g. 6 -> 12 -> 24) for smaller motion between frames."),
                io.Float.Input("augmentation_level", default=default(MicroConditioning, "augmentation_level"), min=0.0, max=10.0, step=0.01,
                               tooltip="Noise added to keyframe images before encoding the hints (as stock SVD). "
                                       "Pins always use the clean keyframes. Must be 0 with keyframe_latents."),
                io.Combo.Input("hint", options=list(HINT_MODES), default=default(KeyframeSettings, "hint"),
                               tooltip="Which keyframe each frame sees as its hint. hold: the keyframe at or before it "
                                       "(original method). nearest: the closest one. first: keyframe 0 everywhere "
                                       "(stock SVD behaviour)."),
                io.Boolean.Input("pin_keyframes", default=default(KeyframeSettings, "pin_keyframes"),
                                 tooltip="Keep the keyframe frames exactly equal to the keyframes while sampling "
                                         "(a per-frame noise mask in the LATENT)."),
                io.Float.Input("pin_release", default=default(KeyframeSettings, "pin_release"), min=0.0, max=1.0, step=0.05,
                               tooltip="Fraction of the sampling steps that keep the pins; after it the keyframes "
                                       "are refined with their neighbours. 1.0 = pinned to the end (exact keyframes)."),
                io.Boolean.Input("loop", default=default(KeyframeSettings, "loop"), optional=True,
                                 tooltip="Add the first keyframe again after the last: K keyframes give K*k+1 frames "
                                         "and the video ends on its first frame, so it repeats without a jump (drop "
                                         "the last frame when a player repeats the file). 1 keyframe is enough. Turn "
                                         "it on in one stage only: a later stage's keyframes already end on the "
                                         "first. Pairs well with the Keyframe Sampler's bidirectional direction."),
            ],
            outputs=[
                io.Conditioning.Output(display_name="positive"),
                io.Conditioning.Output(display_name="negative"),
                io.Latent.Output(display_name="latent",
                                 tooltip="The latent to sample: keyframes at their frames and the pin mask."),
            ],
        )

    @classmethod
    def validate_inputs(cls, width=None, height=None):
        return validation_result(FrameSize, width, height)

    @classmethod
    @names_input_errors
    def execute(cls, clip_vision, vae, keyframes=None, keyframe_latents=None, clip_images=None, **widgets) -> io.NodeOutput:
        settings, size, micro = settings_from(widgets, KeyframeSettings, FrameSize, MicroConditioning)
        if (keyframes is None) == (keyframe_latents is None):
            raise InputError("connect exactly one of keyframes (IMAGE) or keyframe_latents (LATENT)")
        if keyframes is not None:
            require_keyframes(settings.stage_keyframes(keyframes.shape[0]), "keyframes")
            pins, hints = encode_keyframe_images(vae, keyframes, size, micro.augmentation_level)
        else:
            if micro.augmentation_level > 0:
                raise InputError("augmentation_level must be 0 with keyframe_latents: SVD's augmentation noises the "
                                 "keyframe images before encoding, and latents have no images to noise (the model "
                                 "would be told the hints are noisy when they are not); connect keyframes (IMAGE) "
                                 "to use it")
            pins = hints = keyframe_latents["samples"]
            check_latent_batch(pins, "keyframe_latents")
            require_keyframes(settings.stage_keyframes(pins.shape[0]), "keyframe_latents")
            check_latent_size(pins, size, "keyframe_latents")
        images = clip_images if clip_images is not None else keyframes
        if images is None:
            raise InputError("clip_images is required with keyframe_latents (the CLIP embedding needs images, e.g. "
                             "the init image)")
        clip_embeds = clip_vision.encode_image(images).image_embeds
        return io.NodeOutput(*keyframe_conditioning(clip_embeds, hints, settings, micro, pin_latents=pins))


class LongerVideoKeyframeSampler(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        import comfy.samplers

        return io.Schema(
            node_id="LongerVideoKeyframeSampler",
            display_name="Longer Video: Keyframe Sampler",
            category=CATEGORY,
            description=(
                "Samples a keyframe-interpolation stage from Keyframe Conditioning, with KSampler's seed, steps, "
                "cfg, sampler and scheduler. segment: each gap between two keyframes is its own "
                "(frames_between+1)-frame clip with both ends pinned; gap g uses seed+g and equals a KSampler run "
                "on that gap's slice, so memory follows frames_between, not the number of keyframes. Batched gaps "
                "(segments_per_batch) give the same result as one at a time (dpm_adaptive, whose step sizes "
                "depend on the whole batch, takes one gap at a time). whole: all frames "
                "in one run, like KSampler (coherent across gaps, memory grows with the video; add Windowed "
                "Temporal Attention past ~25 frames). Progress counts every step of every gap; Cancel stops "
                "between gaps. bidirectional: every model call also runs the frames reversed, hinted with each "
                "gap's end keyframe, and fuses the two estimates (Time Reversal Fusion), so each gap is also "
                "sampled as the stock model starts from its end keyframe; twice the model evaluations. The "
                "read-out shows the gaps, frames per model call and the direction's cost."
            ),
            inputs=[
                io.Model.Input("model", tooltip="An SVD / SVD-XT model (patched or not)."),
                io.Conditioning.Input("positive", tooltip="From Keyframe Conditioning."),
                io.Conditioning.Input("negative", tooltip="From Keyframe Conditioning."),
                io.Latent.Input("latent_image", tooltip="The latent from Keyframe Conditioning."),
                io.Int.Input("seed", default=default(SamplerSettings, "seed"), min=0, max=0xffffffffffffffff, control_after_generate=True,
                             tooltip="Noise seed; segment g uses seed+g."),
                io.Int.Input("steps", default=default(SamplerSettings, "steps"), min=1, max=10000, tooltip="Sampling steps per segment."),
                io.Float.Input("cfg", default=default(SamplerSettings, "cfg"), min=0.0, max=100.0, step=0.1, round=0.01,
                               tooltip="Classifier-free guidance scale."),
                io.Combo.Input("sampler_name", options=comfy.samplers.KSampler.SAMPLERS, default=default(SamplerSettings, "sampler_name"),
                               tooltip="The sampling algorithm."),
                io.Combo.Input("scheduler", options=comfy.samplers.KSampler.SCHEDULERS, default=default(SamplerSettings, "scheduler"),
                               tooltip="The noise schedule."),
                io.Combo.Input("mode", options=list(SAMPLING_MODES), default=default(KeyframeSamplingSettings, "mode"),
                               tooltip="segment: gap by gap (low memory). whole: every frame at once (coherent "
                                       "across gaps; needs memory for all frames)."),
                io.Int.Input("segments_per_batch", default=default(KeyframeSamplingSettings, "segments_per_batch"), min=1, max=256,
                             tooltip="segment mode: gaps sampled together as a batch of clips, the same result as one at "
                                     "a time. 1 = lowest memory; more = faster on a big GPU. Must be 1 with "
                                     "dpm_adaptive."),
                io.Combo.Input("direction", options=list(DIRECTIONS), default=default(KeyframeSamplingSettings, "direction"),
                               optional=True,
                               tooltip="forward: the frames in order, each gap hinted with its start keyframe (stock "
                                       "SVD). bidirectional: also the frames reversed, hinted with the gap's end "
                                       "keyframe (and its CLIP embedding); the two denoised estimates are blended per "
                                       "frame, the backward one's weight rising from 0 at the start keyframe to 1 at "
                                       "the end (Time Reversal Fusion, Feng et al. 2024). Works with every sampler "
                                       "and both modes; twice the model evaluations per step, the same memory."),
                io.Int.Input("reverse_motion_bucket_id", default=-1, min=-1, max=1023, optional=True,
                             tooltip="bidirectional: the backward pass's motion_bucket_id. -1 = the same as "
                                     "Keyframe Conditioning's (SVD's bucket is an amount of motion, no direction). "
                                     "Set it for models whose bucket has a direction (e.g. bucket + 128 mod 256 on "
                                     "the pack's quality toy)."),
            ],
            outputs=[io.Latent.Output(tooltip="All (keyframes-1)*frames_between+1 frames.")],
        )

    @classmethod
    def validate_inputs(cls, sampler_name=None, segments_per_batch=None, mode=None, direction="forward",
                        reverse_motion_bucket_id=-1):
        def check(sampler_name, segments_per_batch, mode, direction, reverse_motion_bucket_id):
            import comfy.samplers

            if sampler_name not in comfy.samplers.KSampler.SAMPLERS:  # in the signature: ComfyUI leaves it to us
                raise InputError(f"sampler_name must be one of ComfyUI's samplers; got {sampler_name!r}")
            KeyframeSamplingSettings(mode, segments_per_batch, direction, unset_is_none(reverse_motion_bucket_id))
            require_batchable(sampler_name, segments_per_batch if mode == "segment" else 1)

        return validation_result(check, sampler_name, segments_per_batch, mode, direction, reverse_motion_bucket_id)

    @classmethod
    @names_input_errors
    def execute(cls, model, positive, negative, latent_image, **widgets) -> io.NodeOutput:
        if "reverse_motion_bucket_id" in widgets:
            widgets["reverse_motion_bucket_id"] = unset_is_none(widgets["reverse_motion_bucket_id"])
        sampler, sampling = settings_from(widgets, SamplerSettings, KeyframeSamplingSettings)
        require_video_model(model)
        if sampling.mode == "whole":
            return io.NodeOutput(sample_whole(model, positive, negative, latent_image, sampler, sampling.bidirectional))
        return io.NodeOutput(sample_segments(model, positive, negative, latent_image, sampler,
                                             sampling.segments_per_batch, sampling.bidirectional))


def unset_is_none(reverse_motion_bucket_id):
    """The widget's -1 (same as the forward pass) is the settings' None."""
    return None if reverse_motion_bucket_id == -1 else reverse_motion_bucket_id


NODES = [LongerVideoKeyframeConditioning, LongerVideoKeyframeSampler]
