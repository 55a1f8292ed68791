"""The host versions this pack supports, and fingerprints of the upstream code it mirrors.

The adapters keep copies of upstream forwards with seams for our techniques
(`comfy_patches/video_transformer.py`, `diffusers_patches/video_transformer.py`, and for frame
chunking `comfy_patches/video_resblock.py`, `diffusers_patches/video_resblock.py`). If a release
changes that upstream body, the copy would silently differ from the model it replaces, while
tests at identity settings could still pass within tolerance. So each mirrored function has a
fingerprint of its code (docstring, comments, annotations and formatting ignored); the tests fail
on an unknown one, and at run time the pack logs a warning once.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import inspect
import logging
import textwrap

SUPPORTED_COMFYUI = ">=0.3.64,<0.9.0"
SUPPORTED_DIFFUSERS = ">=0.34"

# fingerprint -> the releases known to have that body
COMFYUI_FORWARD = "comfy.ldm.modules.attention.SpatialVideoTransformer.forward"
DIFFUSERS_FORWARD = "diffusers.models.transformers.transformer_temporal.TransformerSpatioTemporalModel.forward"
COMFYUI_VIDEO_RESBLOCK_FORWARD = "comfy.ldm.modules.diffusionmodules.openaimodel.VideoResBlock.forward"
COMFYUI_RESBLOCK_FORWARD = "comfy.ldm.modules.diffusionmodules.openaimodel.ResBlock._forward"
DIFFUSERS_RESBLOCK_FORWARD = "diffusers.models.resnet.SpatioTemporalResBlock.forward"
DIFFUSERS_TEMPORAL_RESNET_FORWARD = "diffusers.models.resnet.TemporalResnetBlock.forward"

MIRRORED = {
    COMFYUI_FORWARD: {
        "41499cec2a6068bd": "ComfyUI 0.3.64 - 0.8.0",
    },
    DIFFUSERS_FORWARD: {
        "86fdb53481e5a00e": "diffusers 0.34.0 - 0.42.1",
    },
    COMFYUI_VIDEO_RESBLOCK_FORWARD: {
        "e227d5e0358da780": "ComfyUI 0.3.64 - 0.8.0",
    },
    COMFYUI_RESBLOCK_FORWARD: {  # its dims=3 case, as VideoResBlock.time_stack runs it
        "71fbcf27bc769f94": "ComfyUI 0.3.64 - 0.8.0",
    },
    DIFFUSERS_RESBLOCK_FORWARD: {
        "d96198a37a393921": "diffusers 0.42.1",
    },
    DIFFUSERS_TEMPORAL_RESNET_FORWARD: {
        "9cc62dfed7f975ec": "diffusers 0.42.1",
    },
}


def code_fingerprint(function) -> str:
    """sha256 (16 hex digits) of a function's syntax tree without name, docstring and annotations."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
    tree = ast.parse(ast.unparse(tree)).body[0]  # drops comments and formatting
    tree.name = "function"  # the body counts, not what this copy is called
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        tree.body = body[1:]
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            node.annotation = None
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.returns = None
    return hashlib.sha256(ast.dump(tree, include_attributes=False).encode()).hexdigest()[:16]


def upstream_status(name: str, function) -> tuple[bool, str]:
    """(known, message) for the installed upstream `function` mirrored under `name`."""
    fingerprint = code_fingerprint(function)
    known = MIRRORED[name]
    if fingerprint in known:
        return True, f"{name} matches {known[fingerprint]}"
    return False, (f"{name} has changed (fingerprint {fingerprint}; Longer Video mirrors "
                   f"{', '.join(known.values())}): re-sync the pack's copy with the installed release and add its "
                   f"fingerprint to nodes/upstream.py")


@functools.lru_cache(maxsize=None)
def warn_once_if_changed(name: str, function) -> bool:
    known, message = upstream_status(name, function)
    if not known:
        logging.warning("Longer Video: %s. Results of the patched model may differ from the stock model.", message)
    return known
