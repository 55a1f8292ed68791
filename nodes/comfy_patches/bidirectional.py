"""Bidirectional keyframe sampling on ComfyUI's SVD: one keyed APPLY_MODEL wrapper on a clone.

`BaseModel.apply_model` returns the denoised estimate that every sampler, the CFG combination and
the inpaint (pin) path consume, so fusing there makes the forward + backward pair one denoiser for
all of them. The backward pass needs its own per-frame inputs; they travel as extra `model_conds`
entries of each conditioning, which ComfyUI itself slices, batches (cond and uncond, batched
segments) and cuts per context window like its own `c_concat`, and hands to `apply_model` as
keyword arguments:
- `longer_video_reverse_c_concat`: each frame's backward hint (in frame order), e.g. B for a gap;
- `longer_video_reverse_c_crossattn`: the CLIP embedding of that hint's keyframe;
- `longer_video_reverse_y`: SVD's `y` with reverse_motion_bucket_id (only when it is set);
- `longer_video_backward_weight`: each frame's backward weight (`techniques/bidirectional.py`).
The wrapper pops them, runs the model on the frames reversed within each clip with those inputs,
and fuses. Keyframe Conditioning stores the reverse hints and embeddings under the top-level keys
below (per frame, so segment mode slices them with the rest); the Keyframe Sampler turns them into
model_conds for the run.
"""
from __future__ import annotations

import torch

from ..techniques.bidirectional import Bidirectional, backward_weights, flip_clips, fuse
from ..techniques.errors import InputError
from .clip_batch import clips_of
from .keyframe_interpolation import REVERSE_CROSS_ATTN_KEY, REVERSE_HINTS_KEY

WRAPPER_KEY = "longer_video_bidirectional"
COND_CONCAT = "longer_video_reverse_c_concat"
COND_CROSS_ATTN = "longer_video_reverse_c_crossattn"
COND_Y = "longer_video_reverse_y"
COND_WEIGHT = "longer_video_backward_weight"
MODEL_CONDS = (COND_CONCAT, COND_CROSS_ATTN, COND_Y, COND_WEIGHT)


def bidirectional_model(model):
    """A clone of `model` whose denoiser fuses a forward and a backward pass (where the conds carry one)."""
    import comfy.patcher_extension

    patched = model.clone()
    kind = comfy.patcher_extension.WrappersMP.APPLY_MODEL
    patched.remove_wrappers_with_key(kind, WRAPPER_KEY)
    patched.add_wrapper_with_key(kind, WRAPPER_KEY, apply_model_wrapper)
    return patched


def apply_model_wrapper(executor, x, t, c_concat=None, c_crossattn=None, control=None, transformer_options={},
                        **kwargs):
    reverse = {name: kwargs.pop(name, None) for name in MODEL_CONDS}
    forward = executor(x, t, c_concat, c_crossattn, control, transformer_options, **kwargs)
    if reverse[COND_CONCAT] is None:  # a conditioning without a backward pass (not from the Keyframe Sampler)
        return forward
    if control is not None:
        raise InputError("direction bidirectional does not support a ControlNet (it sees the frames in one order)")
    clips = clips_of(transformer_options)
    clip = clips.frames if clips is not None else int(kwargs.get("num_video_frames", x.shape[0]))
    frames = x.shape[0]

    def flip(value):
        if isinstance(value, torch.Tensor) and value.ndim >= 1 and value.shape[0] == frames:
            return flip_clips(value, clip)
        return value

    backward_kwargs = {name: flip(value) for name, value in kwargs.items()}
    if reverse[COND_Y] is not None:
        backward_kwargs["y"] = flip(reverse[COND_Y])
    backward = executor(flip(x), flip(t), flip(reverse[COND_CONCAT]), flip(reverse[COND_CROSS_ATTN]), None,
                        transformer_options, **backward_kwargs)
    return fuse(forward, backward, reverse[COND_WEIGHT].flatten(), clip)


def with_backward_pass(model, conditioning: list, clip_frames: int, frames_between: int, settings: Bidirectional,
                       input_name: str) -> list:
    """`conditioning` (per-frame tensors for a run of whole clips) with the backward pass's model_conds."""
    import comfy.conds

    out = []
    for tensor, values in conditioning:
        hints, cross_attn = values.get(REVERSE_HINTS_KEY), values.get(REVERSE_CROSS_ATTN_KEY)
        concat = values.get("concat_latent_image")
        if hints is None or cross_attn is None or concat is None:
            raise InputError(f"direction bidirectional needs {input_name} from Keyframe Conditioning (it carries "
                             f"each frame's backward hint); this conditioning has none")
        frames = hints.shape[0]
        if frames % clip_frames or concat.shape != hints.shape:
            raise InputError(f"{input_name}: the backward hints ({tuple(hints.shape)}) do not match the hints "
                             f"({tuple(concat.shape)}) or the {clip_frames}-frame clips")
        weights = backward_weights(clip_frames, frames_between, settings.backward_share).repeat(frames // clip_frames)
        model_conds = dict(values.get("model_conds", {}))
        model_conds[COND_CONCAT] = comfy.conds.CONDNoiseShape(hints)
        model_conds[COND_CROSS_ATTN] = comfy.conds.CONDCrossAttn(cross_attn)
        model_conds[COND_WEIGHT] = comfy.conds.CONDRegular(weights.reshape(-1, 1))
        if settings.reverse_motion_bucket_id is not None:
            micro = {key: values[key] for key in ("fps", "augmentation_level") if key in values}
            adm = model.model.encode_adm(**micro, motion_bucket_id=settings.reverse_motion_bucket_id)
            model_conds[COND_Y] = comfy.conds.CONDRegular(adm)
        out.append([tensor, dict(values, model_conds=model_conds)])
    return out
