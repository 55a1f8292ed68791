"""What every Longer Video node module shares: its category and the validate_inputs convention."""
from __future__ import annotations

from typing import Callable

CATEGORY = "longer video"


def validation_result(check: Callable[..., object], *values) -> bool | str:
    """ComfyUI's validate_inputs answer for `check(*values)`: True, or the ValueError's message.

    Linked inputs arrive as None before execution; they are checked again in execute.
    """
    if any(value is None for value in values):
        return True
    try:
        check(*values)
    except ValueError as e:
        return str(e)
    return True
