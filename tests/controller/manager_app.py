"""A test build of ``python -m controller`` with one slow reconciler over ConfigMaps.

Run as ``python -m tests.controller.manager_app`` with ``KUBECONFIG`` pointing at an emulator and
``MARKER_DIR`` set: each reconcile of a ConfigMap writes ``<MARKER_DIR>/<name>.started``, sleeps
``RECONCILE_SECONDS`` (default 1.5), then writes ``<name>.finished``. Probes bind 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from controller.__main__ import main
from controller.informers import enqueue_object
from controller.keys import ObjectKey
from controller.kube.resources import CONFIG_MAPS
from controller.loop import Controller, ControllerOptions
from controller.manager import ManagerOptions
from controller.reconcile import Result
from controller.wiring import WiringContext


class SlowReconciler:
    def __init__(self, markers: Path, seconds: float) -> None:
        self._markers = markers
        self._seconds = seconds

    async def reconcile(self, key: ObjectKey) -> Result:
        name = key.name
        (self._markers / f"{name}.started").write_text(str(key))
        await asyncio.sleep(self._seconds)
        (self._markers / f"{name}.finished").write_text(str(key))
        return Result()


def build(context: WiringContext) -> list[Controller]:
    markers = Path(os.environ["MARKER_DIR"])
    seconds = float(os.environ.get("RECONCILE_SECONDS", "1.5"))
    controller = Controller(
        "slow", SlowReconciler(markers, seconds),
        options=ControllerOptions(
            max_concurrent_reconciles=context.settings.max_concurrent_reconciles),
    )
    context.informers.informer_for(CONFIG_MAPS).add_handler(enqueue_object(controller.queue))
    return [controller]


if __name__ == "__main__":
    sys.exit(main(builder=build, options=ManagerOptions(
        bind_host="127.0.0.1", lease_duration=2.0, renew_deadline=1.5, retry_period=0.3,
        shutdown_timeout=float(os.environ.get("SHUTDOWN_SECONDS", "10")),
    )))
