"""Longer Video: ComfyUI nodes that make SVD / SVD-XT generate longer videos without retraining.

ComfyUI loads this folder as a custom node pack (`comfy_entrypoint`, `WEB_DIRECTORY`). Installed
with pip it is the package `longer_video`, whose Python API for diffusers is imported lazily below,
so ComfyUI never imports diffusers and the pure tiers run without ComfyUI:

    import longer_video as lv
    lv.apply_temporal_positions(pipe, lv.PositionSettings(mode="yarn", trained_frames=25))
"""
_TECHNIQUES = ".nodes.techniques"
_DIFFUSERS = ".nodes.diffusers_patches"
_PUBLIC_API = {
    "InputError": _TECHNIQUES + ".errors",
    "FrameSize": _TECHNIQUES + ".svd",
    "MicroConditioning": _TECHNIQUES + ".svd",
    "PositionSettings": _TECHNIQUES + ".temporal_positions",
    "WindowSettings": _TECHNIQUES + ".windowed_attention",
    "FreeNoiseSettings": _TECHNIQUES + ".freenoise",
    "KeyframeSettings": _TECHNIQUES + ".keyframe_interpolation",
    "KeyframeSamplingSettings": _TECHNIQUES + ".keyframe_interpolation",
    "ChunkSettings": _TECHNIQUES + ".chunked_decode",
    "FrameChunkingSettings": _TECHNIQUES + ".frame_chunking",
    "ContinuationSettings": _TECHNIQUES + ".continuation",
    "join_clips": _TECHNIQUES + ".continuation",
    "LoraTrainingSettings": _TECHNIQUES + ".interpolation_training",
    "TrainingClipSettings": _TECHNIQUES + ".training_clips",
    "apply_temporal_positions": _DIFFUSERS,
    "remove_temporal_positions": _DIFFUSERS,
    "apply_windowed_attention": _DIFFUSERS,
    "remove_windowed_attention": _DIFFUSERS,
    "freenoise_latents": _DIFFUSERS,
    "interpolate_keyframes": _DIFFUSERS,
    "continue_video": _DIFFUSERS,
    "apply_chunked_decode": _DIFFUSERS,
    "remove_chunked_decode": _DIFFUSERS,
    "decode_latents_chunked": _DIFFUSERS,
    "apply_frame_chunking": _DIFFUSERS,
    "remove_frame_chunking": _DIFFUSERS,
    "cache_training_latents": _DIFFUSERS,
    "train_interpolation_lora": _DIFFUSERS,
    "load_interpolation_lora": _DIFFUSERS,
    "remove_interpolation_lora": _DIFFUSERS,
}
__all__ = sorted(_PUBLIC_API)


async def _comfy_entrypoint():
    # Imported here so the package imports without a ComfyUI (pure test tiers, diffusers use).
    from .nodes.extension import LongerVideoExtension

    return LongerVideoExtension()


# What ComfyUI's loader asks a custom node folder for (hasattr/getattr on this module). Served by
# __getattr__ instead of being globals, so `dir(longer_video)` is the diffusers API and nothing else.
_FOR_COMFYUI = {"WEB_DIRECTORY": "./js", "comfy_entrypoint": _comfy_entrypoint}


def __getattr__(name):
    if name in _FOR_COMFYUI:
        return _FOR_COMFYUI[name]
    if name not in _PUBLIC_API:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_PUBLIC_API[name], __name__), name)


def __dir__():
    return sorted(__all__ + [name for name in globals() if name.startswith("__") and name.endswith("__")])
