"""Starting and stopping the APIM simulator in-process: the interface tests and other teams use.

Owns :func:`start_simulator` and :class:`RunningSimulator` (URL, CA bundle, request log, faults,
state, outages, and ``close``). It only binds to the host it is given, 127.0.0.1 by default.
"""

from __future__ import annotations

import asyncio
import pathlib
import shutil
import ssl
import tempfile
import time
from collections.abc import Iterable, Mapping

import aiohttp
import attrs
from aiohttp import web

from sim.apim.faults import Faults
from sim.apim.instance import (
    DEFAULT_ORGS_ENVS,
    DEFAULT_USERS,
    Outage,
    Simulator,
    SimulatorOptions,
)
from sim.apim.requestlog import RequestLog
from sim.apim.simulator import build_app
from sim.apim.state import SimulatorState
from sim.apim.tls import make_server_tls


@attrs.define
class RunningSimulator:
    """A simulator listening on ``url``. ``state`` is read access to what APIM stored."""

    url: str
    ca_path: pathlib.Path | None
    requests: RequestLog
    faults: Faults
    simulator: Simulator
    _runner: web.AppRunner = attrs.field(repr=False)
    _tmpdir: pathlib.Path | None = attrs.field(default=None, repr=False)
    _closed: bool = attrs.field(default=False, repr=False)
    _host: str = attrs.field(default="127.0.0.1", repr=False)
    _ssl_context: ssl.SSLContext | None = attrs.field(default=None, repr=False)
    _outage_task: asyncio.Task[None] | None = attrs.field(default=None, repr=False)

    @property
    def state(self) -> SimulatorState:
        return self.simulator.state

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def v1_url(self, org: str = "DEFAULT", env: str = "DEFAULT") -> str:
        """``{V1}``: ``<url>/management/organizations/<org>/environments/<env>``."""
        return f"{self.url}/management/organizations/{org}/environments/{env}"

    def v2_url(self, org: str = "DEFAULT", env: str = "DEFAULT") -> str:
        """``{V2}``: ``<url>/management/v2/organizations/<org>/environments/<env>``."""
        return f"{self.url}/management/v2/organizations/{org}/environments/{env}"

    def automation_url(self, org: str = "DEFAULT", env: str = "DEFAULT") -> str:
        """``{AUTO}``: ``<url>/automation/organizations/<org>/environments/<env>``."""
        return f"{self.url}/automation/organizations/{org}/environments/{env}"

    def client_ssl_context(self) -> ssl.SSLContext | None:
        """A client SSL context trusting the test CA (``None`` over plain HTTP)."""
        if self.ca_path is None:
            return None
        return ssl.create_default_context(cafile=str(self.ca_path))

    async def console(
        self, method: str, kind: str, ref: str, patch: Mapping[str, object] | None = None
    ) -> int:
        """A console user's edit (``PATCH``, a merge patch) or deletion (``DELETE``) of the
        API or application ``ref`` (``kind``: ``apis`` or ``applications``), over HTTP through
        ``/_sim/console`` (``console.py``). Returns the HTTP status."""
        url = f"{self.url}/_sim/console/{kind}/{ref}"
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, url, json=patch, ssl=self.client_ssl_context() or False)
            as response,
        ):
            return response.status

    def reset(self) -> None:
        """Empty database and request log, no faults, original credentials."""
        self.simulator.reset()

    @property
    def listening(self) -> bool:
        """False during an outage (``stop_listening`` until ``resume_listening``)."""
        return bool(self._runner.sites)

    async def stop_listening(self) -> None:
        """An outage as clients see it: the listening socket is closed (new connections are
        refused) and every open connection is cut, requests in flight included. Everything
        APIM stored, the request log, faults and credentials are kept. Idempotent."""
        if not self._runner.sites:
            return
        for site in list(self._runner.sites):
            await site.stop()
        server = self._runner.server
        for connection in server.connections if server is not None else ():
            if connection.transport is not None:
                connection.transport.abort()
        self.simulator.outages.append(Outage(down_at=time.monotonic()))

    async def resume_listening(self) -> None:
        """Listen again on the same address and port, with the state kept. Idempotent."""
        if self._runner.sites or self._closed:
            return
        site = web.TCPSite(self._runner, self._host, self.port, ssl_context=self._ssl_context)
        await site.start()
        if self.simulator.outages and self.simulator.outages[-1].up_at is None:
            self.simulator.outages[-1].up_at = time.monotonic()

    async def outage(self, seconds: float, *, after: float = 0.0) -> None:
        """Wait ``after`` seconds, stop listening for ``seconds``, then listen again."""
        await asyncio.sleep(after)
        await self.stop_listening()
        try:
            await asyncio.sleep(seconds)
        finally:
            await self.resume_listening()

    def start_outage(self, seconds: float, *, after: float = 0.05) -> None:
        """``outage`` in the background (what ``POST /_sim/outage`` calls): ``after`` leaves
        time for the answer to the request that asked for it to leave. An outage already
        running is replaced: listening resumes ``seconds`` from its start."""
        if self._outage_task is not None and not self._outage_task.done():
            self._outage_task.cancel()
        self._outage_task = asyncio.get_running_loop().create_task(
            self.outage(seconds, after=after), name="apim-sim-outage")

    async def __aenter__(self) -> RunningSimulator:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop listening (idempotent); requests in flight get ``shutdown_timeout_s`` to end."""
        if self._closed:
            return
        self._closed = True
        if self._outage_task is not None:
            self._outage_task.cancel()
        await self._runner.cleanup()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None


async def start_simulator(
    *,
    tls: bool = False,
    host: str = "127.0.0.1",
    port: int = 0,
    users: Mapping[str, str] = DEFAULT_USERS,
    tokens: Iterable[str] = (),
    orgs_envs: Mapping[str, Iterable[str]] = DEFAULT_ORGS_ENVS,
    request_log_limit: int = 50_000,
    fault_seed: int | None = None,
    record_responses: bool = False,
    shutdown_timeout_s: float = 0.5,
) -> RunningSimulator:
    """Start a simulator on ``host:port`` (0 = any free port) and return once it listens.

    ``users`` are Basic credentials (name -> password), ``tokens`` accepted bearer tokens,
    ``orgs_envs`` the organizations and their environment ids (each env also answers to its
    lower-cased id as hrid); the other options are :class:`SimulatorOptions`'.
    ``shutdown_timeout_s`` bounds how long ``close`` waits for requests still in flight.
    """
    sim = Simulator(
        SimulatorOptions(
            users=users,
            tokens=tokens,
            orgs_envs=orgs_envs,
            request_log_limit=request_log_limit,
            fault_seed=fault_seed,
            record_responses=record_responses,
        )
    )
    # A short shutdown grace: handlers held by injected latency must not stall test teardown.
    runner = web.AppRunner(
        build_app(sim), access_log=None, handle_signals=False, shutdown_timeout=shutdown_timeout_s
    )
    await runner.setup()
    tmpdir: pathlib.Path | None = None
    ssl_context = None
    ca_path = None
    try:
        if tls:
            tmpdir = pathlib.Path(tempfile.mkdtemp(prefix="apim-sim-"))
            server_tls = make_server_tls(tmpdir)
            ssl_context = server_tls.server_context
            ca_path = server_tls.ca_path
        site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
        await site.start()
        bound_port = runner.addresses[0][1]
    except BaseException:
        await runner.cleanup()
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    scheme = "https" if tls else "http"
    url_host = f"[{host}]" if ":" in host else host
    running = RunningSimulator(
        url=f"{scheme}://{url_host}:{bound_port}",
        ca_path=ca_path,
        requests=sim.requests,
        faults=sim.faults,
        simulator=sim,
        runner=runner,
        tmpdir=tmpdir,
        host=host,
        ssl_context=ssl_context,
    )
    sim.outage_hook = running.start_outage
    return running
