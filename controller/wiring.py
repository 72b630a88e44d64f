"""Builds the operator's controllers: the kinds of ``controller.reconcilers.KINDS``, assembled
on the manager's shared informers (docs/architecture.md), and, with ``ENABLE_WEBHOOK``, the
admission webhook server serving the rules the kinds declared. It never starts anything; the
manager owns the lifecycle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import attrs
from kubernetes_asyncio.client import ApiClient

from controller.config import Settings, operator_namespace
from controller.health import Server
from controller.informers.factory import SharedInformers
from controller.loop import Controller
from controller.reconcilers import KINDS
from controller.reconcilers.framework.assemble import assemble
from controller.webhook.server import WebhookServer


@attrs.frozen(kw_only=True)
class WiringContext:
    """What the controllers are built from."""

    settings: Settings
    api_client: ApiClient
    informers: SharedInformers
    closers: list[Callable[[], Awaitable[None]]] = attrs.field(factory=list)
    """Cleanups the process runs after the manager stops (e.g. closing APIM sessions)."""
    servers: list[Server] = attrs.field(factory=list)
    """Servers the manager starts with its probes (the admission webhooks)."""
    bind_host: str = "0.0.0.0"


def build_controllers(context: WiringContext) -> list[Controller]:
    """Every controller the operator runs (``python -m controller`` registers them)."""
    assembled = assemble(
        KINDS,
        settings=context.settings,
        api_client=context.api_client,
        informers=context.informers,
    )
    context.closers.append(assembled.close)
    webhook = context.settings.webhook
    if webhook.enabled:
        context.servers.append(WebhookServer(
            assembled.admission,
            context.settings,
            context.api_client,
            namespace=webhook.namespace or operator_namespace(context.settings),
            host=context.bind_host,
            wait_synced=context.informers.wait_for_sync,
            synced=lambda: context.informers.all_synced,
        ))
    return assembled.controllers
