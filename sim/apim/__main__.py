"""``python -m sim.apim``: run the APIM simulator until SIGINT/SIGTERM.

Prints the base URL on the first line of stdout (and ``CA <path>`` on the second with ``--tls``)
so a parent process can read where to connect. Only for tests, benchmarks and demos.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import sys

from sim import eventloop
from sim.apim.testing import start_simulator


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sim.apim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default 0: any free)")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a throwaway test CA")
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME:PASSWORD",
        help="Basic credentials to accept (default admin:admin)",
    )
    parser.add_argument("--token", action="append", default=[], help="bearer token to accept")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="ORG:ENV",
        help="organization and environment to serve (default DEFAULT:DEFAULT)",
    )
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    users = dict(u.split(":", 1) for u in args.user) if args.user else {"admin": "admin"}
    orgs_envs: dict[str, list[str]] = {}
    for pair in args.env or ["DEFAULT:DEFAULT"]:
        org, _, env = pair.partition(":")
        orgs_envs.setdefault(org, []).append(env or "DEFAULT")
    running = await start_simulator(
        tls=args.tls,
        host=args.host,
        port=args.port,
        users=users,
        tokens=args.token,
        orgs_envs=orgs_envs,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # This process is only the simulator: move start-up objects out of the collector's way and
    # collect young objects less often (long benchmarks allocate a lot of short-lived JSON).
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    print(running.url, flush=True)
    if running.ca_path is not None:
        print(f"CA {running.ca_path}", flush=True)
    try:
        await stop.wait()
    finally:
        await running.close()


def main(argv: list[str] | None = None) -> int:
    eventloop.run(_serve(_parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
