"""Command line: ``python -m sim.kubeapi --port 0 --kubeconfig PATH [--crds DIR ...]``.

Owns argument parsing and the serve-until-signal loop. Must never listen anywhere but the
requested host (127.0.0.1 by default).
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import signal
import sys

from sim import eventloop
from sim.kubeapi.testing import start_emulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sim.kubeapi", description="In-memory Kubernetes API emulator."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument(
        "--kubeconfig", type=pathlib.Path, required=True, help="where to write a kubeconfig"
    )
    parser.add_argument(
        "--crds",
        type=pathlib.Path,
        action="append",
        default=[],
        help="directory or file of CRD YAML to apply at start (repeatable)",
    )
    parser.add_argument(
        "--history", type=int, default=1000, help="events kept for watch resumption"
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    running = await start_emulator(
        crd_dirs=args.crds,
        history=args.history,
        host=args.host,
        port=args.port,
        kubeconfig_path=args.kubeconfig,
    )
    print(running.url, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await running.close()


def main(argv: list[str] | None = None) -> int:
    eventloop.run(serve(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
