"""What every Longer Video node module shares: category, settings from widgets, the error path.

Techniques and adapters raise `InputError` with plain messages; a node adds its name once, here:
`execute` is wrapped by `names_input_errors`, and `validate_inputs` answers with the plain message
(ComfyUI shows it under the node already).
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Callable

from .techniques.errors import InputError

CATEGORY = "longer video"


def node_label(node_class) -> str:
    """The node as users see it in a workflow: its node_id (never the runtime class name: ComfyUI 0.8
    runs V3 nodes through a `<Name>Clone` class)."""
    return node_class.define_schema().node_id


def names_input_errors(execute: Callable) -> Callable:
    """Wrap a node's `execute` so an InputError reaches the user as '<node_id>: <message>'."""
    @functools.wraps(execute)
    def wrapper(cls, *args, **kwargs):
        try:
            return execute(cls, *args, **kwargs)
        except InputError as e:
            raise InputError(f"{node_label(cls)}: {e}") from None

    return wrapper


def validation_result(check: Callable[..., object], *values) -> bool | str:
    """ComfyUI's validate_inputs answer for `check(*values)`: True, or the InputError's message.

    Linked inputs arrive as None before execution; they are checked again in execute.
    """
    if any(value is None for value in values):
        return True
    try:
        check(*values)
    except InputError as e:
        return str(e)
    return True


def settings_from(values: dict, *settings_types) -> list:
    """One settings object per type, each built from the widget values named like its fields."""
    made, used = [], set()
    for kind in settings_types:
        names = {field.name for field in dataclasses.fields(kind)}
        made.append(kind(**{name: value for name, value in values.items() if name in names}))
        used |= names
    unknown = sorted(set(values) - used)
    if unknown:
        raise TypeError(f"inputs {unknown} belong to none of {[kind.__name__ for kind in settings_types]}")
    return made


def default(settings_type, field: str):
    """A settings field's default, for a node schema (so defaults live in the settings classes only)."""
    return settings_type.__dataclass_fields__[field].default
