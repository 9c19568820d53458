"""Giving memory back: glibc keeps what a process freed for reuse, so the big temporaries of loading
a model (float32 tensors, a language table before packing) stay in its RSS until trimmed."""

from __future__ import annotations

import contextlib


def trim() -> None:
    """Return freed heap to the system (malloc_trim); nothing to do where the C library is not glibc."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
