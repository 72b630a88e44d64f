"""Builds the operator's controllers: the kinds of ``controller.reconcilers.KINDS``, assembled
on the manager's shared informers (docs/architecture.md). It never starts anything; the manager
owns the lifecycle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import attrs
from kubernetes_asyncio.client import ApiClient

from controller.config import Settings
from controller.informers.factory import SharedInformers
from controller.loop import Controller
from controller.reconcilers import KINDS
from controller.reconcilers.framework.assemble import assemble


@attrs.frozen(kw_only=True)
class WiringContext:
    """What the controllers are built from."""

    settings: Settings
    api_client: ApiClient
    informers: SharedInformers
    closers: list[Callable[[], Awaitable[None]]] = attrs.field(factory=list)
    """Cleanups the process runs after the manager stops (e.g. closing APIM sessions)."""


def build_controllers(context: WiringContext) -> list[Controller]:
    """Every controller the operator runs (``python -m controller`` registers them)."""
    assembled = assemble(
        KINDS,
        settings=context.settings,
        api_client=context.api_client,
        informers=context.informers,
    )
    context.closers.append(assembled.close)
    return assembled.controllers
