"""Nodes for keyframe-hint interpolation: conditioning from keyframes, and a segment-mode sampler."""
from __future__ import annotations

from comfy_api.latest import io

from .comfy_patches.keyframes import (
    KeyframeInputError, check_keyframe_latents, encode_keyframe_images, keyframe_conditioning,
)
from .comfy_patches.segments import sample_segments, sample_whole
from .comfy_patches.video_transformer import require_video_model
from .node_common import CATEGORY, validation_result
from .techniques.keyframes import (
    HINT_MODES, SAMPLING_MODES, validate_frame_size, validate_keyframe_settings, validate_sampling_settings,
)


def validate_widgets(frames_between, hint, pin_release, width, height):
    validate_keyframe_settings(2, frames_between, hint, pin_release)
    validate_frame_size(width, height)


class LongerVideoKeyframeConditioning(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="LongerVideoKeyframeConditioning",
            display_name="Longer Video: Keyframe Conditioning",
            category=CATEGORY,
            description=(
                "SVD conditioning that interpolates between keyframes: (keyframes-1)*frames_between+1 frames, each "
                "frame hinted with a keyframe latent, keyframes pinned exactly during sampling. Chain stages "
                "(5 -> 17 -> 65 frames) by feeding a stage's sampled LATENT in as the next stage's keyframe_latents. "
                "CLIP conditioning: each frame gets the CLIP image embedding of the keyframe its hint comes from "
                "(or of clip_images)."
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
                io.Int.Input("frames_between", default=4, min=1, max=256,
                             tooltip="k: frames from one keyframe to the next. Output frames = (keyframes-1)*k+1 "
                                     "(5 keyframes, k=4 -> 17). Keep k+1 near SVD's trained 14/25 frames."),
                io.Int.Input("width", default=1024, min=8, max=8192, step=8,
                             tooltip="Video width in pixels (multiple of 8). Must match keyframe_latents."),
                io.Int.Input("height", default=576, min=8, max=8192, step=8,
                             tooltip="Video height in pixels (multiple of 8). Must match keyframe_latents."),
                io.Int.Input("motion_bucket_id", default=127, min=1, max=1023,
                             tooltip="SVD motion amount; lower it for calmer in-betweens."),
                io.Int.Input("fps", default=6, min=1, max=1024,
                             tooltip="SVD fps conditioning. Later stages have frames closer in time: raise it per stage "
                                     "(e.g. 6 -> 12 -> 24) for smaller motion between frames."),
                io.Float.Input("augmentation_level", default=0.0, min=0.0, max=10.0, step=0.01,
                               tooltip="Noise added to keyframe images before encoding the hints (as stock SVD). "
                                       "Pins always use the clean keyframes."),
                io.Combo.Input("hint", options=list(HINT_MODES), default="hold",
                               tooltip="Which keyframe each frame sees as its hint. hold: the keyframe at or before it "
                                       "(original method). nearest: the closest one. first: keyframe 0 everywhere "
                                       "(stock SVD behaviour)."),
                io.Boolean.Input("pin_keyframes", default=True,
                                 tooltip="Keep the keyframe frames exactly equal to the keyframes while sampling "
                                         "(a per-frame noise mask in the LATENT)."),
                io.Float.Input("pin_release", default=1.0, min=0.0, max=1.0, step=0.05,
                               tooltip="Fraction of the sampling steps that keep the pins; after it the keyframes "
                                       "are refined with their neighbours. 1.0 = pinned to the end (exact keyframes)."),
            ],
            outputs=[
                io.Conditioning.Output(display_name="positive"),
                io.Conditioning.Output(display_name="negative"),
                io.Latent.Output(display_name="latent",
                                 tooltip="The latent to sample: keyframes at their frames and the pin mask."),
            ],
        )

    @classmethod
    def validate_inputs(cls, frames_between=None, hint=None, pin_release=None, width=None, height=None, **kwargs):
        return validation_result(validate_widgets, frames_between, hint, pin_release, width, height)

    @classmethod
    def execute(cls, clip_vision, vae, frames_between, width, height, motion_bucket_id, fps, augmentation_level,
                hint, pin_keyframes, pin_release, keyframes=None, keyframe_latents=None,
                clip_images=None) -> io.NodeOutput:
        name = cls.__name__
        if (keyframes is None) == (keyframe_latents is None):
            raise KeyframeInputError(f"{name}: connect exactly one of keyframes (IMAGE) or keyframe_latents (LATENT)")
        try:  # widgets first: fail before any VAE or CLIP work
            validate_widgets(frames_between, hint, pin_release, width, height)
        except ValueError as e:
            raise KeyframeInputError(f"{name}: {e}") from None
        if keyframes is not None:
            if keyframes.shape[0] < 2:
                raise KeyframeInputError(f"{name}: keyframes must hold at least 2 images; got {keyframes.shape[0]}")
            pins, hints = encode_keyframe_images(vae, keyframes, width, height, augmentation_level)
        else:
            pins = keyframe_latents["samples"]
            check_keyframe_latents(pins, name)
            if pins.shape[0] < 2:
                raise KeyframeInputError(f"{name}: keyframe_latents must hold at least 2 frames (the keyframes to "
                                         f"interpolate between); got {pins.shape[0]}")
            if tuple(pins.shape[-2:]) != (height // 8, width // 8):
                raise KeyframeInputError(
                    f"{name}: keyframe_latents are {pins.shape[-1] * 8}x{pins.shape[-2] * 8} px but width x height is "
                    f"{width}x{height}; set width/height to the keyframes' size")
            hints = pins
        images = clip_images if clip_images is not None else keyframes
        if images is None:
            raise KeyframeInputError(f"{name}: clip_images is required with keyframe_latents "
                                     f"(the CLIP embedding needs images, e.g. the init image)")
        clip_embeds = clip_vision.encode_image(images).image_embeds
        try:
            positive, negative, latent = keyframe_conditioning(
                clip_embeds, hints, frames_between, hint, pin_keyframes, pin_release, motion_bucket_id, fps,
                augmentation_level, pin_latents=pins, node_name=name)
        except KeyframeInputError:
            raise
        except ValueError as e:
            raise KeyframeInputError(f"{name}: {e}") from None
        return io.NodeOutput(positive, negative, latent)


class LongerVideoKeyframeSampler(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        import comfy.samplers

        return io.Schema(
            node_id="LongerVideoKeyframeSampler",
            display_name="Longer Video: Keyframe Sampler",
            category=CATEGORY,
            description=(
                "Samples a keyframe-interpolation stage. segment: each gap between two keyframes is its own "
                "(frames_between+1)-frame clip with both ends pinned (constant memory in the number of keyframes; "
                "gap g uses seed+g). whole: all frames in one run, like KSampler (combine with Windowed Temporal "
                "Attention)."
            ),
            inputs=[
                io.Model.Input("model", tooltip="An SVD / SVD-XT model (patched or not)."),
                io.Conditioning.Input("positive", tooltip="From Keyframe Conditioning."),
                io.Conditioning.Input("negative", tooltip="From Keyframe Conditioning."),
                io.Latent.Input("latent_image", tooltip="The latent from Keyframe Conditioning."),
                io.Int.Input("seed", default=0, min=0, max=0xffffffffffffffff, control_after_generate=True,
                             tooltip="Noise seed; segment g uses seed+g."),
                io.Int.Input("steps", default=20, min=1, max=10000, tooltip="Sampling steps per segment."),
                io.Float.Input("cfg", default=2.5, min=0.0, max=100.0, step=0.1, round=0.01,
                               tooltip="Classifier-free guidance scale."),
                io.Combo.Input("sampler_name", options=comfy.samplers.KSampler.SAMPLERS, default="euler",
                               tooltip="The sampling algorithm."),
                io.Combo.Input("scheduler", options=comfy.samplers.KSampler.SCHEDULERS, default="karras",
                               tooltip="The noise schedule."),
                io.Combo.Input("mode", options=list(SAMPLING_MODES), default="segment",
                               tooltip="segment: gap by gap (low memory). whole: every frame at once (coherent "
                                       "across gaps; needs memory for all frames)."),
                io.Int.Input("segments_per_batch", default=1, min=1, max=256,
                             tooltip="segment mode: gaps sampled together as a batch of clips. 1 = one at a time "
                                     "(lowest memory); more = faster on a big GPU."),
            ],
            outputs=[io.Latent.Output(tooltip="All (keyframes-1)*frames_between+1 frames.")],
        )

    @classmethod
    def validate_inputs(cls, mode=None, segments_per_batch=None, **kwargs):
        return validation_result(validate_sampling_settings, mode, segments_per_batch)

    @classmethod
    def execute(cls, model, positive, negative, latent_image, seed, steps, cfg, sampler_name, scheduler, mode,
                segments_per_batch) -> io.NodeOutput:
        require_video_model(model, cls.__name__)
        if mode == "whole":
            return io.NodeOutput(sample_whole(model, latent_image, seed, steps, cfg, sampler_name, scheduler, positive,
                                              negative))
        return io.NodeOutput(sample_segments(model, positive, negative, latent_image, seed, steps, cfg, sampler_name,
                                             scheduler, segments_per_batch, node_name=cls.__name__))


NODES = [LongerVideoKeyframeConditioning, LongerVideoKeyframeSampler]
