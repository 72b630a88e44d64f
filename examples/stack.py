"""The three processes of a local run: Kubernetes API emulator, APIM simulator, operator.

Owns spawning them on free loopback ports, discovering their URLs, waiting until each one is
usable, and stopping them so that nothing outlives the caller: every child runs in its own
session (a Ctrl-C in the terminal reaches only the driver, which stops the children in order),
starts through ``examples.orphan_guard`` (the kernel SIGTERMs it if the driver dies, even by
SIGKILL), and is killed with its whole process group when it does not exit in time.

Shared by ``make demo`` and ``make bench``. It must never import the operator or the simulators
(they run as separate processes, as in production) and never bind anything but 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pathlib
import signal
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import BinaryIO

import aiohttp
import attrs

ROOT = pathlib.Path(__file__).resolve().parents[1]
CRDS_DIR = ROOT / "manifests" / "crds"
LOOPBACK = "127.0.0.1"


class StackError(RuntimeError):
    """A process did not start, exited early, or did not become ready in time."""


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago (the child binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@attrs.define
class ManagedProcess:
    """One child process, its log file, and how to stop it."""

    name: str
    process: asyncio.subprocess.Process
    log_path: pathlib.Path
    _log_handle: BinaryIO = attrs.field(repr=False, alias="log_handle")

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines the process wrote (stdout and stderr merged)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    async def first_line(self, *, prefix: str, timeout: float) -> str:
        """The first line of output starting with ``prefix``, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError):
                for line in self.log_path.read_text(errors="replace").splitlines():
                    if line.startswith(prefix):
                        return line.strip()
            if self.process.returncode is not None:
                raise StackError(
                    f"{self.name} exited with {self.process.returncode} before printing "
                    f"{prefix!r}:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise StackError(f"{self.name} printed no line starting with {prefix!r} "
                                 f"within {timeout:.0f} s:\n{self.log_tail()}")
            await asyncio.sleep(0.05)

    async def stop(self, *, grace: float = 10.0) -> int | None:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL the process group."""
        try:
            if self.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    self.process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(self.process.wait(), grace)
                except TimeoutError:
                    self.kill()
                    await self.process.wait()
            return self.process.returncode
        finally:
            self._close_log()

    def kill(self) -> None:
        """SIGKILL the child's whole process group (it is the leader of its own session)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def _close_log(self) -> None:
        self._log_handle.close()


def _open_log(log_dir: pathlib.Path, name: str) -> tuple[pathlib.Path, BinaryIO]:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    return log_path, log_path.open("wb")


async def spawn(
    name: str,
    argv: Sequence[str],
    *,
    log_dir: pathlib.Path,
    env: Mapping[str, str] | None = None,
) -> ManagedProcess:
    """Start ``argv`` from the project root with output to ``log_dir/<name>.log``."""
    log_path, handle = _open_log(log_dir, name)
    try:
        # The guard binds the child to this process (SIGTERM if we die, even by SIGKILL) and
        # then execs the real command, so the pid below is the command's own.
        guarded = [sys.executable, "-m", "examples.orphan_guard", str(os.getpid()), *argv]
        process = await asyncio.create_subprocess_exec(
            *guarded,
            cwd=str(ROOT),
            env={**os.environ, **(env or {})},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=handle,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except BaseException:
        handle.close()
        raise
    return ManagedProcess(name=name, process=process, log_path=log_path, log_handle=handle)


async def wait_http_ok(
    url: str, *, timeout: float, process: ManagedProcess | None = None
) -> None:
    """Poll ``url`` until it answers 200, failing early if ``process`` exits."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while True:
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
                    last = f"HTTP {response.status}: {(await response.text())[:200]}"
            except (aiohttp.ClientError, TimeoutError) as error:
                last = repr(error)
            if process is not None and process.returncode is not None:
                raise StackError(f"{process.name} exited with {process.returncode}:\n"
                                 f"{process.log_tail()}")
            if time.monotonic() > deadline:
                tail = f"\n{process.log_tail()}" if process is not None else ""
                raise StackError(f"{url} not ready within {timeout:.0f} s ({last}){tail}")
            await asyncio.sleep(0.1)


@attrs.frozen(kw_only=True)
class OperatorOptions:
    """How the operator process is configured (the env vars it reads)."""

    max_concurrent_reconciles: int = 4
    """``MAX_CONCURRENT_RECONCILES``. Defaults to 4 (the operator's default)."""
    logs_format: str = "json"
    """``LOGS_FORMAT``: ``json`` (default) or ``console``."""
    logs_level: str = "info"
    """``LOGS_LEVEL``. Defaults to info, the production default."""
    extra_env: Mapping[str, str] = attrs.field(factory=dict)
    """Any other environment variables, e.g. ``{"NAMESPACE": "bench"}``."""
    ready_timeout: float = 120.0
    """Seconds to wait for ``/readyz`` (caches synced). Defaults to 120."""
    interpreter_args: tuple[str, ...] = ()
    """Put between the interpreter and ``-m examples.run_operator``, e.g.
    ``("-m", "cProfile", "-o", "operator.pstats")`` to profile. Defaults to none."""


@attrs.define
class RunningOperator:
    """An operator process and where its probes and metrics listen."""

    process: ManagedProcess
    probes_url: str
    metrics_url: str
    spawned_at: float
    """``time.monotonic()`` just before the process was spawned."""


@attrs.frozen(kw_only=True)
class StackOptions:
    """What to start and where to keep the logs."""

    work_dir: pathlib.Path
    """Kubeconfig and one log file per process are written here."""
    crds_dir: pathlib.Path = CRDS_DIR
    """CRDs the emulator serves from its start. Defaults to ``manifests/crds``."""
    watch_history: int = 1000
    """Emulator events kept for watch resumption. Raise it for bulk benchmarks."""
    start_timeout: float = 60.0
    """Seconds each simulator gets to print its URL. Defaults to 60."""
    emulator_interpreter_args: tuple[str, ...] = ()
    """Put between the interpreter and ``-m sim.kubeapi``, e.g. ``("-m", "cProfile", "-o",
    "kubeapi.pstats")`` to profile the emulator. Defaults to none."""
    kubeconfig: pathlib.Path | None = None
    """A running API server to use instead of starting the emulator (its CRDs installed by the
    caller), e.g. the test API server of ``make testenv``. Defaults to none: the emulator."""
    operator_kubeconfig: pathlib.Path | None = None
    """The operator's own credentials, when they differ from ``kubeconfig``'s. Defaults to the
    stack's kubeconfig."""


class Stack:
    """Emulator + APIM simulator (+ operator on demand), stopped together on exit.

    Use as ``async with Stack(options) as stack:``; ``start_operator``/``stop_operator`` may be
    called several times (restarts). On exit the operator stops first, then the simulators.
    """

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.kubeconfig = options.kubeconfig or options.work_dir / "kubeconfig"
        self.kube_url = ""
        self.apim_url = ""
        self.emulator: ManagedProcess | None = None
        self.apim: ManagedProcess | None = None
        self.operator: RunningOperator | None = None
        self._operator_runs = 0

    async def __aenter__(self) -> Stack:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Start the emulator (with the CRDs), unless a kubeconfig names a running API server,
        and the simulator concurrently."""
        work = self.options.work_dir
        if self.options.kubeconfig is None:
            self.emulator = await spawn(
                "kubeapi",
                [sys.executable, *self.options.emulator_interpreter_args, "-m", "sim.kubeapi",
                 "--host", LOOPBACK, "--port", "0",
                 "--kubeconfig", str(self.kubeconfig), "--crds", str(self.options.crds_dir),
                 "--history", str(self.options.watch_history)],
                log_dir=work,
            )
        self.apim = await spawn(
            "apim", [sys.executable, "-m", "sim.apim", "--host", LOOPBACK, "--port", "0"],
            log_dir=work,
        )
        timeout = self.options.start_timeout
        self.apim_url = await self.apim.first_line(prefix="http", timeout=timeout)
        waits = [wait_http_ok(f"{self.apim_url}/_sim/health", timeout=timeout, process=self.apim)]
        if self.emulator is not None:
            self.kube_url = await self.emulator.first_line(prefix="http", timeout=timeout)
            waits.append(
                wait_http_ok(f"{self.kube_url}/readyz", timeout=timeout, process=self.emulator))
        await asyncio.gather(*waits)

    async def start_operator(self, options: OperatorOptions | None = None) -> RunningOperator:
        """Spawn ``python -m examples.run_operator`` and wait until ``/readyz`` answers 200."""
        if self.operator is not None:
            raise StackError("an operator is already running; stop it first")
        opts = options or OperatorOptions()
        probes, metrics = free_port(), free_port()
        env = {
            "KUBECONFIG": str(self.options.operator_kubeconfig or self.kubeconfig),
            "ENABLE_METRICS": "true",
            "METRICS_PORT": str(metrics),
            "PROBES_PORT": str(probes),
            "MAX_CONCURRENT_RECONCILES": str(opts.max_concurrent_reconciles),
            "LOGS_FORMAT": opts.logs_format,
            "LOGS_LEVEL": opts.logs_level,
            **opts.extra_env,
        }
        self._operator_runs += 1
        name = "operator" if self._operator_runs == 1 else f"operator-{self._operator_runs}"
        spawned_at = time.monotonic()
        process = await spawn(
            name, [sys.executable, *opts.interpreter_args, "-m", "examples.run_operator"],
            log_dir=self.options.work_dir, env=env)
        running = RunningOperator(
            process=process,
            probes_url=f"http://{LOOPBACK}:{probes}",
            metrics_url=f"http://{LOOPBACK}:{metrics}",
            spawned_at=spawned_at,
        )
        self.operator = running
        await wait_http_ok(f"{running.probes_url}/readyz", timeout=opts.ready_timeout,
                           process=process)
        return running

    async def stop_operator(self, *, grace: float = 30.0) -> int | None:
        """Stop the operator (SIGTERM, graceful); returns its exit code."""
        running, self.operator = self.operator, None
        if running is None:
            return None
        return await running.process.stop(grace=grace)

    def processes(self) -> list[ManagedProcess]:
        found = [self.operator.process] if self.operator is not None else []
        return found + [p for p in (self.apim, self.emulator) if p is not None]

    async def close(self) -> None:
        """Stop everything, operator first; never raises for a process that is already gone."""
        # Shielded so that a second Ctrl-C during teardown cannot leave a child behind.
        await asyncio.shield(self._close())

    async def _close(self) -> None:
        await self.stop_operator()
        await asyncio.gather(*(p.stop(grace=5.0) for p in (self.apim, self.emulator)
                               if p is not None))

    def kill_all(self) -> None:
        """Last resort, synchronous: SIGKILL every child still running."""
        for process in self.processes():
            if process.returncode is None:
                process.kill()
