"""Wrap a module's forward for the length of a call, keeping accelerate's offload hooks.

accelerate keeps a hooked module's real forward in `module._old_forward` and its own wrapper in
`module.forward`; replacing and popping `forward` would skip or delete its hooks. The wrapper goes
where the real forward lives, and leaving the block puts back exactly the object it replaced, also
when the pipeline re-applied its offload hooks in between (`maybe_free_model_hooks` moves whatever is
in `forward` into `_old_forward`).
"""
from __future__ import annotations

import contextlib
import functools
from typing import Callable

from .video_transformer import restore_forward


@contextlib.contextmanager
def wrapped_forward(module, wrapper: Callable):
    """Within: `module(...)` runs `wrapper(real_forward, *args, **kwargs)` (after any accelerate hook)."""
    slot = "_old_forward" if "_old_forward" in module.__dict__ else "forward"
    saved = module.__dict__.get(slot)
    real = saved if saved is not None else type(module).forward.__get__(module)
    ours = functools.partial(wrapper, real)
    module.__dict__[slot] = ours
    try:
        yield
    finally:
        restore_forward(module, ours, saved)
