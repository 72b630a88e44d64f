"""Handing the C heap's free pages back to the operating system after start-up.

Listing every object at start-up decodes pages of JSON that are freed right after their objects
are stored (as compact bytes); glibc keeps the freed memory in its heap, where it counts in the
process's RSS although nothing uses it, until the heap's top is free. ``malloc_trim(0)`` returns
every free page, wherever it sits. Called once the caches are synced; a no-op where the C
library has no ``malloc_trim`` (musl, macOS).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def release_free_memory() -> bool:
    """True when free heap memory was handed back (glibc); False when there is no way to."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
