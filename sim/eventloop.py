"""How the simulators run their event loop: on uvloop where it is installed (the ``sim`` extra
asks for it), so the emulator and the APIM simulator take less of the CPU they share with the
operator in benchmarks and tests. Same code on the standard loop otherwise.

The same few lines as ``controller.eventloop``, kept apart on purpose: the simulators are
standalone tools (the emulator's contract suite also runs against real clusters) and import
nothing from the operator."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(main)
    return uvloop.run(main)
