"""The pack's one error type for bad input.

Techniques and adapters raise it with a plain message that names the input and the allowed
values; the node layer adds the node's name once (`nodes/node_common.py`). It is a ValueError, so
callers of the Python API can catch either.
"""
from __future__ import annotations


class InputError(ValueError):
    """Bad input from a user or caller; the message names the input and what is allowed."""
