"""A raw watch reader over kubernetes-asyncio's undecoded responses, for exact event checks."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.sim.kubeapi.conftest import GROUP, VERSION, Target


class RawWatch:
    """Reads one watch stream line by line (works against the emulator and a real cluster)."""

    def __init__(self, response: Any) -> None:
        self.response = response

    @classmethod
    async def widgets(cls, target: Target, **params: Any) -> RawWatch:
        response = await target.custom.list_namespaced_custom_object(
            GROUP,
            VERSION,
            target.namespace,
            "widgets",
            watch=True,
            _preload_content=False,
            **params,
        )
        return cls(response)

    @classmethod
    async def configmaps(cls, target: Target, **params: Any) -> RawWatch:
        response = await target.core.list_namespaced_config_map(
            target.namespace, watch=True, _preload_content=False, **params
        )
        return cls(response)

    async def next(self, timeout: float = 10.0, *, skip_bookmarks: bool = True) -> dict[str, Any]:
        while True:
            line = await asyncio.wait_for(self.response.content.readline(), timeout)
            if not line:
                raise EOFError("watch stream ended")
            event: dict[str, Any] = json.loads(line)
            if skip_bookmarks and event["type"] == "BOOKMARK":
                continue
            return event

    async def ended(self, timeout: float = 10.0) -> bool:
        """True once the server ends the stream (no further events arrive before EOF)."""
        while True:
            line = await asyncio.wait_for(self.response.content.readline(), timeout)
            if not line:
                return True
            if json.loads(line)["type"] != "BOOKMARK":
                return False

    def close(self) -> None:
        self.response.close()


def summary(event: dict[str, Any]) -> tuple[str, str]:
    return (event["type"], event["object"]["metadata"]["name"])
