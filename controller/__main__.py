"""``python -m controller``: run the operator against ``KUBECONFIG`` or the in-cluster config.

Owns process start-up only: the command line (``--help``, ``--version``; anything else exits 2
with a usage message), settings (a malformed env var exits 2 with a message naming it), logging,
the warnings about settings that are read but not implemented, the API client, controller wiring
and the manager's exit code. Configuration is environment variables only
(docs/behavior/configuration.md).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from kubernetes_asyncio.config import ConfigException

from controller import eventloop
from controller.config import Settings, SettingsError, unimplemented_settings
from controller.kube.client import connect
from controller.logging import configure_logging, get_logger
from controller.loop import Controller
from controller.manager import Manager, ManagerOptions
from controller.wiring import WiringContext, build_controllers

EXIT_BAD_CONFIG = 2
DISTRIBUTION = "gravitee-operator-py"

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
            settings=settings, api_client=api_client, informers=manager.informers,
            bind_host=manager.options.bind_host,
        )
        try:
            for controller in builder(context):
                manager.register(controller)
            for server in context.servers:
                manager.add_server(server)
            return await manager.run()
        finally:
            for close in context.closers:
                await close()
    finally:
        await api_client.close()


def operator_version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown (not installed)"


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="python -m controller",
        description=(
            "Gravitee Kubernetes Operator (Python re-implementation). Runs against KUBECONFIG "
            "or the in-cluster configuration; every setting is an environment variable with "
            "upstream GKO's name (NAMESPACE, ENABLE_METRICS, LOGS_LEVEL...), see "
            "docs/behavior/configuration.md."
        ),
    )
    cli.add_argument(
        "--version", action="version", version=f"%(prog)s {operator_version()}"
    )
    return cli


def main(
    argv: list[str] | None = None,
    *,
    builder: ControllerBuilder = build_controllers,
    options: ManagerOptions | None = None,
) -> int:
    # --help and --version exit 0 here; an unknown flag exits 2 with the usage line.
    parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"invalid configuration: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    configure_logging(settings.logs)
    log = get_logger("manager")
    for setting, instead in unimplemented_settings():
        log.warning("setting read but not implemented", setting=setting, instead=instead)
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
