"""The one place where controllers are built and connected to the shared informers.

``build_controllers`` is the registration point: each reconciler team adds a few lines here that
create its reconciler, a ``Controller`` for it, and the informer handlers that feed the
controller's queue (its own kind, plus the kinds it depends on through store indexes).
``python -m controller`` registers whatever this returns with the manager.

It must never start anything; the manager owns the lifecycle.
"""

from __future__ import annotations

import attrs
from kubernetes_asyncio.client import ApiClient

from controller.config import Settings
from controller.informers.factory import SharedInformers
from controller.loop import Controller


@attrs.frozen(kw_only=True)
class WiringContext:
    """What a controller needs to be built."""

    settings: Settings
    api_client: ApiClient
    informers: SharedInformers


def build_controllers(context: WiringContext) -> list[Controller]:
    """Every controller the operator runs.

    Pattern for a kind (example)::

        informer = context.informers.informer_for(API_V4_DEFINITIONS)
        ctl = Controller("apiv4definition", ApiV4Reconciler(...), options=ControllerOptions(
            max_concurrent_reconciles=context.settings.max_concurrent_reconciles))
        informer.add_handler(enqueue_object(ctl.queue))
        contexts = context.informers.informer_for(MANAGEMENT_CONTEXTS)
        informer.add_index("api-v4-context", context_ref_index)
        contexts.add_handler(enqueue_dependents(ctl.queue, informer.store, "api-v4-context"))
    """
    controllers: list[Controller] = []
    return controllers
