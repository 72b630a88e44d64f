"""``make bench``: every benchmark script in ``benchmarks/``, one after the other, then the
operator benchmark.

A benchmark script is a module of this folder with a ``__main__`` block (helpers such as
``floor``, run by ``operator_bench`` itself, are skipped). Each runs in its own process with its
default settings and writes its own JSON to ``benchmarks/results/``; this module only runs them,
passes the operator benchmark's options through, and prints a summary of exit codes and
durations (a script exits non-zero when it missed a target or failed). It must never interpret
their results.

Usage: ``python -m benchmarks.run_all [--objects N] [--rss-10k] [--outage-seconds S]
[--only a,b] [--skip a,b]``.
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys
import time
from typing import Final

HERE: Final = pathlib.Path(__file__).resolve().parent
ROOT: Final = HERE.parent
LAST: Final = "operator_bench"
"""Runs after the others: it is the longest and the one the targets are about."""
NOT_SCRIPTS: Final = frozenset({"__init__", "run_all", "floor", "procs"})


def discover(directory: pathlib.Path = HERE) -> list[str]:
    """Module names of the benchmark scripts, alphabetical, ``operator_bench`` last."""
    names = []
    for path in sorted(directory.glob("*.py")):
        if path.stem in NOT_SCRIPTS or path.stem.startswith("_"):
            continue
        if 'if __name__ == "__main__"' not in path.read_text():
            continue
        names.append(path.stem)
    names.sort(key=lambda name: (name == LAST, name))
    return names


def run(name: str, extra: list[str]) -> tuple[int, float]:
    print(f"\n=== benchmarks.{name} {' '.join(extra)}".rstrip(), flush=True)
    started = time.monotonic()
    completed = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *extra],
                               cwd=str(ROOT), check=False)
    return completed.returncode, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_all", description=__doc__)
    parser.add_argument("--objects", type=int, help="operator_bench: APIs per scenario")
    parser.add_argument("--rss-10k", action="store_true",
                        help="operator_bench: also the 10,000-API memory scenario")
    parser.add_argument("--outage-seconds", type=float,
                        help="operator_bench: APIM outage of scenario (f), seconds")
    parser.add_argument("--only", default="", help="comma-separated script names to run")
    parser.add_argument("--skip", default="", help="comma-separated script names to skip")
    parser.add_argument("--list", action="store_true", help="print the scripts and exit")
    args = parser.parse_args(argv)

    names = discover()
    only = {n.strip() for n in args.only.split(",") if n.strip()}
    skip = {n.strip() for n in args.skip.split(",") if n.strip()}
    unknown = (only | skip) - set(names)
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))} "
                     f"(known: {', '.join(names)})")
    selected = [n for n in names if (not only or n in only) and n not in skip]
    if args.list:
        print("\n".join(selected))
        return 0
    operator_args: list[str] = []
    if args.objects is not None:
        operator_args += ["--objects", str(args.objects)]
    if args.rss_10k:
        operator_args.append("--rss-10k")
    if args.outage_seconds is not None:
        operator_args += ["--outage-seconds", str(args.outage_seconds)]

    outcomes = []
    for name in selected:
        code, seconds = run(name, operator_args if name == LAST else [])
        outcomes.append((name, code, seconds))

    print("\n=== summary (JSON results in benchmarks/results/)")
    width = max((len(n) for n, _, _ in outcomes), default=0)
    for name, code, seconds in outcomes:
        verdict = {0: "ok"}.get(code, "targets missed" if code == 1 else f"failed ({code})")
        print(f"  {name.ljust(width)}  {seconds:7.1f} s  {verdict}")
    return 0 if all(code == 0 for _, code, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
