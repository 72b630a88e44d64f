"""The process lifecycle: informers, leader election, controllers, probes, metrics, shutdown.

``Manager`` owns the order in which things start and stop:

1. the probe server (``/healthz`` at once; ``/readyz`` 200 only once every informer has synced)
   and, when ``ENABLE_METRICS``, the metrics server; then, when ``APPLY_CRDS``, the embedded
   CRDs are server-side applied;
2. the shared informers (started whether or not this replica leads, so a standby is warm and
   ready, like controller-runtime's caches);
3. leader election when ``ENABLE_LEADER_ELECTION`` (controllers run only on the leader);
4. the registered controllers, whose workers start once the caches are synced (bounded by the
   cache sync timeout, 2 min by default).

Graceful stop (``SIGTERM``/``SIGINT`` or ``request_stop()``): the queues stop handing out keys,
in-flight reconciles get ``shutdown_timeout`` seconds to finish, informers stop, the Lease is
released so a standby takes over at once, servers close; ``run()`` returns 0. Losing the Lease
is fatal (``run()`` returns 1) because another replica may already be reconciling. Cancelling
the task running ``run()`` is treated as a crash: everything stops, the Lease is *not* released.

It must never know what a controller reconciles: controllers are built elsewhere (see
``controller.wiring``) and registered here.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, Final

import attrs
from kubernetes_asyncio.client import ApiClient

from controller.config import Settings, operator_namespace
from controller.health import MetricsServer, ProbeServer, Server, metrics_server
from controller.heap import release_free_memory
from controller.informers.factory import SharedInformers
from controller.informers.reflector import ReflectorOptions
from controller.kube.crds import EMBEDDED_CRD_DIR, apply_crds, load_crds
from controller.leader import LeaderElectionOptions, LeaderElector, LeadershipLostError
from controller.logging import ensure_logging_configured, get_logger
from controller.loop import Controller

_log = get_logger("manager")

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1


@attrs.frozen(kw_only=True)
class ManagerOptions:
    bind_host: str = "0.0.0.0"
    """Address the probe and metrics servers listen on. Defaults to all interfaces (pod)."""
    shutdown_timeout: float = 25.0
    """Seconds in-flight reconciles get to finish on graceful stop. Defaults to 25, under the
    Deployment's 30 s termination grace period so the Lease is still released in time."""
    cache_sync_timeout: float = 120.0
    """Seconds controllers wait for the caches before giving up. Defaults to 120."""
    lease_duration: float = 15.0
    """Leader election: lease duration in seconds. Defaults to 15."""
    renew_deadline: float = 10.0
    """Leader election: renew deadline in seconds. Defaults to 10."""
    retry_period: float = 2.0
    """Leader election: retry period in seconds. Defaults to 2."""
    identity: str | None = None
    """Leader election identity. Defaults to ``hostname_uuid``."""
    handle_signals: bool = True
    """Install SIGTERM/SIGINT handlers in ``run()``. Off when several managers share a
    process (tests)."""
    reflector: ReflectorOptions = attrs.field(factory=ReflectorOptions)
    crd_directory: Path = EMBEDDED_CRD_DIR
    """Where the CRDs applied at start when ``APPLY_CRDS=true`` are read from."""


class Manager:
    """Runs the registered controllers against one API server, for one process."""

    def __init__(
        self,
        settings: Settings,
        api_client: ApiClient,
        *,
        options: ManagerOptions | None = None,
    ) -> None:
        ensure_logging_configured(settings.logs)
        self.settings = settings
        self.api_client = api_client
        self.options = options or ManagerOptions()
        self.informers = SharedInformers(
            api_client, namespaces=settings.namespaces, reflector_options=self.options.reflector
        )
        self.probes = ProbeServer(host=self.options.bind_host, port=settings.probes_port)
        self.probes.add_readiness_check("informers-synced", self._caches_synced)
        self.metrics: MetricsServer | None = (
            metrics_server(settings, api_client, host=self.options.bind_host)
            if settings.enable_metrics
            else None
        )
        self.elector: LeaderElector | None = None
        self._controllers: list[Controller] = []
        self._servers: list[Server] = []
        self._stop_requested = asyncio.Event()
        self._servers_started = asyncio.Event()
        self._controllers_started = asyncio.Event()
        self._informers_started = False

    # ------------------------------------------------------------------ wiring

    def register(self, controller: Controller) -> None:
        """Add a controller; its workers start after sync (and leadership). Before ``run``."""
        if any(existing.name == controller.name for existing in self._controllers):
            raise ValueError(f"a controller named {controller.name!r} is already registered")
        self._controllers.append(controller)

    def add_server(self, server: Server) -> None:
        """A server started with the probes, on every replica (leader or not), and stopped
        last (e.g. the admission webhooks, answered from the shared caches). Before ``run``."""
        self._servers.append(server)

    @property
    def controllers(self) -> list[Controller]:
        return list(self._controllers)

    # ------------------------------------------------------------------ state

    @property
    def probe_port(self) -> int:
        return self.probes.port

    @property
    def metrics_port(self) -> int | None:
        return self.metrics.port if self.metrics is not None else None

    @property
    def is_leader(self) -> bool:
        return self.elector.is_leader if self.elector is not None else True

    async def wait_serving(self) -> None:
        """Wait until the probe (and metrics) servers listen."""
        await self._servers_started.wait()

    async def wait_controllers_started(self) -> None:
        """Wait until this replica runs its controllers (i.e. leads and caches synced)."""
        await self._controllers_started.wait()

    def _caches_synced(self) -> bool:
        return self._informers_started and self.informers.all_synced

    def request_stop(self) -> None:
        """Ask ``run()`` for a graceful stop (what SIGTERM does)."""
        self._stop_requested.set()

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> int:
        """Run until stopped; returns the process exit code."""
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        if self.options.handle_signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self._on_signal, signum)
                installed.append(signum)
        hold_task: asyncio.Task[None] | None = None
        graceful = False
        try:
            await self._start_servers()
            if self.settings.apply_crds:
                # Before the informers, so that watching the operator's kinds finds them.
                await apply_crds(self.api_client, load_crds(self.options.crd_directory))
            self.informers.start()
            self._informers_started = True
            if self.settings.enable_leader_election:
                self.elector = self._build_elector()
                if not await self._until_stop_or(self.elector.acquire()):
                    graceful = True
                    return EXIT_OK
                hold_task = asyncio.create_task(self.elector.hold(), name="leader-election")
            start = asyncio.gather(*(
                controller.start(self.informers.wait_for_sync)
                for controller in self._controllers
            ))
            if not await self._until_stop_or(start, hold_task):
                graceful = True
                return self._exit_code(hold_task)
            self._controllers_started.set()
            # The start-up lists are applied: what they decoded is free, give it back.
            release_free_memory()
            _log.info("controllers started", controllers=[c.name for c in self._controllers])
            await self._until_stop_or(None, hold_task)
            graceful = True
            return self._exit_code(hold_task)
        except LeadershipLostError as exc:
            _log.error("leader election lost", error=str(exc))
            return EXIT_FAILURE
        except TimeoutError as exc:
            _log.error("caches did not sync in time", error=str(exc))
            graceful = True
            return EXIT_FAILURE
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)
            await asyncio.shield(self._shutdown(hold_task, graceful=graceful))

    def _on_signal(self, signum: signal.Signals) -> None:
        _log.info("received signal, stopping", signal=signum.name)
        self.request_stop()

    def _build_elector(self) -> LeaderElector:
        options = self.options
        election = LeaderElectionOptions(
            namespace=operator_namespace(self.settings),
            name=self.settings.leader_election_id,
            lease_duration=options.lease_duration,
            renew_deadline=options.renew_deadline,
            retry_period=options.retry_period,
            **({"identity": options.identity} if options.identity else {}),
        )
        return LeaderElector(self.api_client, election)

    async def _start_servers(self) -> None:
        await self.probes.start()
        if self.metrics is not None:
            await self.metrics.start()
        for server in self._servers:
            await server.start()
        self._servers_started.set()
        _log.info("serving probes", port=self.probes.port,
                  metrics_port=self.metrics.port if self.metrics else None)

    async def _until_stop_or(
        self,
        awaitable: Awaitable[Any] | None,
        hold_task: asyncio.Task[None] | None = None,
    ) -> bool:
        """Wait for ``awaitable`` (True), a stop request (False) or the loss of the Lease
        (raises ``LeadershipLostError``)."""
        stop = asyncio.ensure_future(self._stop_requested.wait())
        waiters: set[asyncio.Future[Any]] = {stop}
        work: asyncio.Future[Any] | None = None
        if awaitable is not None:
            work = asyncio.ensure_future(awaitable)
            waiters.add(work)
        if hold_task is not None:
            waiters.add(hold_task)
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if hold_task is not None and hold_task.done() and not hold_task.cancelled():
            if work is not None and not work.done():
                work.cancel()
            hold_task.result()  # raises LeadershipLostError
        if work is not None and work.done():
            work.result()
            return True
        if work is not None:
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await work
        return False

    def _exit_code(self, hold_task: asyncio.Task[None] | None) -> int:
        failed = (
            hold_task is not None
            and hold_task.done()
            and not hold_task.cancelled()
            and hold_task.exception() is not None
        )
        return EXIT_FAILURE if failed else EXIT_OK

    async def _shutdown(self, hold_task: asyncio.Task[None] | None, *, graceful: bool) -> None:
        timeout = self.options.shutdown_timeout if graceful else 0.0
        _log.info("shutting down", graceful=graceful)
        # Stop intake and let in-flight reconciles finish while we still hold the Lease.
        await asyncio.gather(
            *(controller.stop(timeout=timeout) for controller in self._controllers),
            return_exceptions=True,
        )
        await self.informers.stop()
        if hold_task is not None:
            hold_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, LeadershipLostError):
                await hold_task
        if graceful and self.elector is not None:
            await self.elector.release()
        for server in self._servers:
            await server.stop()
        if self.metrics is not None:
            await self.metrics.stop()
        await self.probes.stop()
        _log.info("stopped")
