"""Condition waits for asyncio tests: poll a predicate until it holds, with a hard deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(predicate: Callable[[], bool], *, timeout: float = 2.0, what: str = "") -> None:
    """Yield to the loop until ``predicate()`` is true; fail the test after ``timeout`` s."""
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.0005)
    except TimeoutError:
        raise AssertionError(f"condition not met within {timeout}s: {what}") from None


async def settle(rounds: int = 20) -> None:
    """Let every runnable task run a few steps (used before asserting that nothing happened)."""
    for _ in range(rounds):
        await asyncio.sleep(0)
