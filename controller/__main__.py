"""``python -m controller``: run the operator against ``KUBECONFIG`` or the in-cluster config.

Owns process start-up only: settings (a malformed env var exits 2 with a message naming it),
logging, the API client, controller wiring and the manager's exit code.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from kubernetes_asyncio.config import ConfigException

from controller import eventloop
from controller.config import Settings, SettingsError
from controller.kube.client import connect
from controller.logging import configure_logging, get_logger
from controller.loop import Controller
from controller.manager import Manager, ManagerOptions
from controller.wiring import WiringContext, build_controllers

EXIT_BAD_CONFIG = 2

ControllerBuilder = Callable[[WiringContext], list[Controller]]


async def run_operator(
    settings: Settings,
    *,
    options: ManagerOptions | None = None,
    builder: ControllerBuilder = build_controllers,
) -> int:
    """Connect, wire the controllers, run the manager; returns the exit code."""
    api_client = await connect()
    try:
        manager = Manager(settings, api_client, options=options)
        context = WiringContext(
            settings=settings, api_client=api_client, informers=manager.informers
        )
        try:
            for controller in builder(context):
                manager.register(controller)
            return await manager.run()
        finally:
            for close in context.closers:
                await close()
    finally:
        await api_client.close()


def main(
    argv: list[str] | None = None,
    *,
    builder: ControllerBuilder = build_controllers,
    options: ManagerOptions | None = None,
) -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"invalid configuration: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    configure_logging(settings.logs)
    try:
        return eventloop.run(run_operator(settings, options=options, builder=builder))
    except SettingsError as exc:
        get_logger("manager").error("invalid configuration", error=str(exc))
        return EXIT_BAD_CONFIG
    except ConfigException as exc:
        get_logger("manager").error(
            "no Kubernetes configuration: set KUBECONFIG or run in a pod", error=str(exc)
        )
        return EXIT_BAD_CONFIG


if __name__ == "__main__":
    sys.exit(main())
