"""The controller loop: N workers turning queued keys into reconcile calls.

Owns (controller-runtime v0.24.1 ``internal/controller`` semantics): the worker tasks, the
per-reconcile log context (``controller``, ``namespace``, ``name``, ``reconcileID``), timing,
the outcome rules, the controller metrics, and start/stop:

* exception -> re-queued rate-limited (failure count kept), counted as ``error``;
* ``TerminalError`` -> not re-queued, counted as ``error`` and as a terminal error;
* a programming error (see ``PANIC_TYPES``) -> like an exception, and counted as a panic;
* ``Result(requeue_after=s)``, ``s > 0`` -> ``forget`` + ``add_after(s)``, ``requeue_after``;
* ``Result()`` -> ``forget``, ``success``.

Re-queues keep the priority the key was handed out with. ``done`` is always called; no
exception ever ends a worker (only cancellation, ``KeyboardInterrupt`` and ``SystemExit``).

Must never: read Kubernetes or APIM itself, decide anything about a kind, or start workers
before the caches are ready -- the manager passes ``wait_ready`` for that.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import structlog

from controller import metrics
from controller.keys import ObjectKey
from controller.queue.clock import Clock, RealClock
from controller.queue.ratelimiters import RateLimiter
from controller.queue.workqueue import WorkQueue, WorkQueueOptions
from controller.reconcile import LOG_LEVEL_ATTRIBUTE, Reconciler, Result, TerminalError

__all__ = ["PANIC_TYPES", "Controller", "ControllerOptions", "WaitReady"]

#: Exceptions that signal a bug in the reconciler rather than a failure of the outside world --
#: the Python counterpart of a Go panic (nil dereference, bad index, wrong type ...). They are
#: handled like any error, and also counted in ``controller_runtime_reconcile_panics_total``.
PANIC_TYPES: tuple[type[BaseException], ...] = (
    AttributeError,
    TypeError,
    NameError,
    LookupError,
    AssertionError,
    ArithmeticError,
    RecursionError,
    NotImplementedError,
)

#: Something to await before the workers start: an awaitable, or a callable returning one.
WaitReady = Callable[[], Awaitable[object]] | Awaitable[object]


@attrs.frozen(kw_only=True)
class ControllerOptions:
    """How a ``Controller`` runs. Every field has a working default."""

    #: Worker tasks, i.e. keys reconciled at the same time (never the same key twice).
    #: Defaults to 4.
    max_concurrent_reconciles: int = attrs.field(default=4)
    #: Source of time for timings and deadlines. Defaults to ``RealClock()``.
    clock: Clock | None = None
    #: structlog logger. Defaults to structlog's, bound with ``logger="controller"``.
    logger: Any = None
    #: Limiter for the queue the controller builds when none is given. Defaults to the per-key
    #: exponential limiter (5 ms .. 1000 s).
    rate_limiter: RateLimiter | None = None
    #: Seconds ``start`` waits for ``wait_ready`` before giving up. Defaults to 120.
    cache_sync_timeout: float = 120.0
    #: Exception types counted as panics. Defaults to ``PANIC_TYPES``.
    panic_types: tuple[type[BaseException], ...] = PANIC_TYPES

    @max_concurrent_reconciles.validator
    def _check_workers(self, _attribute: object, value: int) -> None:
        if value < 1:
            raise ValueError("max_concurrent_reconciles must be at least 1")


class Controller:
    """Runs one reconciler over one queue with a fixed number of workers.

    ``name`` must be unique in the process: it labels metrics and logs, and is the queue name.
    When ``queue`` is omitted the controller builds one publishing the workqueue metrics; a
    queue passed in should use the same clock as ``options.clock``.
    """

    def __init__(
        self,
        name: str,
        reconciler: Reconciler,
        *,
        queue: WorkQueue[ObjectKey] | None = None,
        options: ControllerOptions | None = None,
        on_ready: Callable[[], None] | None = None,
    ) -> None:
        """``on_ready`` (optional) runs once the caches are ready, before the workers start:
        checks that need every cache complete (e.g. owned objects deleted while the operator
        was down) enqueue from there."""
        if not name:
            raise ValueError("a controller needs a name")
        self._options = options if options is not None else ControllerOptions()
        self._name = name
        self._reconciler = reconciler
        self._on_ready = on_ready
        self._clock: Clock = self._options.clock if self._options.clock is not None else RealClock()
        self._queue: WorkQueue[ObjectKey] = (
            queue
            if queue is not None
            else WorkQueue(
                WorkQueueOptions(
                    name=name,
                    clock=self._clock,
                    rate_limiter=self._options.rate_limiter,
                    metrics_provider=metrics.WORKQUEUE_METRICS_PROVIDER,
                )
            )
        )
        self._log = (
            self._options.logger
            if self._options.logger is not None
            else structlog.get_logger().bind(logger="controller")
        )
        self._workers: list[asyncio.Task[None]] = []
        self._started = False
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()

        self._total = {
            result: metrics.RECONCILE_TOTAL.labels(name, result)
            for result in metrics.RECONCILE_RESULTS
        }
        self._errors = metrics.RECONCILE_ERRORS.labels(name)
        self._terminal_errors = metrics.TERMINAL_RECONCILE_ERRORS.labels(name)
        self._panics = metrics.RECONCILE_PANICS.labels(name)
        self._time = metrics.RECONCILE_TIME.labels(name)
        self._active = metrics.ACTIVE_WORKERS.labels(name)

    @property
    def name(self) -> str:
        return self._name

    @property
    def queue(self) -> WorkQueue[ObjectKey]:
        """The controller's queue: event handlers ``add`` keys here."""
        return self._queue

    @property
    def started(self) -> bool:
        """True once the workers run (``start`` returned)."""
        return bool(self._workers)

    # ------------------------------------------------------------------ lifecycle

    async def start(self, wait_ready: WaitReady | None = None) -> None:
        """Wait for ``wait_ready`` (bounded by ``cache_sync_timeout``), then start the workers.

        Returns once the workers run. Raises ``TimeoutError`` if readiness does not come in
        time or ``wait_ready`` yields ``False``, and whatever ``wait_ready`` raises; no worker is
        started in any of these cases.
        """
        if self._started:
            raise RuntimeError(f"controller {self._name!r} was already started")
        self._started = True
        metrics.init_controller_metrics(
            self._name, max_concurrent_reconciles=self._options.max_concurrent_reconciles
        )
        self._log.info(
            "Starting Controller",
            controller=self._name,
            worker_count=self._options.max_concurrent_reconciles,
        )
        if wait_ready is not None:
            try:
                await self._wait_ready(wait_ready)
            except BaseException:
                self._stopped.set()  # nothing will ever run: wait_stopped() must not hang
                raise
        if self._stopping.is_set():
            self._stopped.set()
            return
        if self._on_ready is not None:
            self._on_ready()
        for index in range(self._options.max_concurrent_reconciles):
            self._workers.append(
                asyncio.create_task(self._worker(), name=f"{self._name}-worker-{index}")
            )

    async def run(self, wait_ready: WaitReady | None = None) -> None:
        """``start``, then wait until the controller is stopped."""
        await self.start(wait_ready)
        await self.wait_stopped()

    async def wait_stopped(self) -> None:
        """Wait until ``stop`` has finished (or every worker has exited)."""
        if self._workers:
            await asyncio.gather(*self._workers, return_exceptions=True)
        else:
            await self._stopped.wait()

    async def stop(self, *, timeout: float = 30.0) -> None:
        """Stop taking keys, give in-flight reconciles ``timeout`` seconds, then cancel them."""
        self._stopping.set()
        await self._queue.shutdown()
        if not self._workers:
            self._stopped.set()
            return
        pending = {task for task in self._workers if not task.done()}
        if pending:
            deadline = asyncio.create_task(self._clock.sleep(timeout))
            try:
                while pending and not deadline.done():
                    _, pending = await asyncio.wait(
                        {*pending, deadline}, return_when=asyncio.FIRST_COMPLETED
                    )
                    pending.discard(deadline)
            finally:
                deadline.cancel()
            if pending:
                self._log.warning(
                    "Graceful stop timed out, cancelling in-flight reconciles",
                    controller=self._name,
                    in_flight=len(pending),
                )
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
        self._stopped.set()
        self._log.info("All workers finished", controller=self._name)

    async def _wait_ready(self, wait_ready: WaitReady) -> None:
        awaitable = wait_ready() if callable(wait_ready) else wait_ready
        ready = asyncio.ensure_future(awaitable)
        deadline = asyncio.create_task(self._clock.sleep(self._options.cache_sync_timeout))
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            done, _ = await asyncio.wait(
                {ready, deadline, stopping}, return_when=asyncio.FIRST_COMPLETED
            )
        except asyncio.CancelledError:
            ready.cancel()
            raise
        finally:
            deadline.cancel()
            stopping.cancel()
        if ready not in done:
            ready.cancel()
            await asyncio.gather(ready, return_exceptions=True)
            if self._stopping.is_set():
                return  # stopped while waiting: start() returns without workers
            raise TimeoutError(
                f"timed out waiting for caches to sync for controller {self._name!r}"
            )
        if ready.result() is False:
            # Readiness helpers with their own timeout report it as False.
            raise TimeoutError(f"caches did not sync for controller {self._name!r}")

    # ------------------------------------------------------------------ workers

    async def _worker(self) -> None:
        while True:
            got = await self._queue.get_with_priority()
            if got is None:
                return
            key, priority = got
            self._active.inc()
            try:
                await self._reconcile_handler(key, priority)
            except Exception:
                # The handler's own bookkeeping failed (a broken log renderer, say): keep the
                # worker, and retry the key rather than lose it.
                self._queue.add_rate_limited(key, priority=priority)
                with contextlib.suppress(Exception):
                    self._log.error("Worker error", exc_info=True)
            finally:
                self._active.dec()
                self._queue.done(key)

    async def _reconcile_handler(self, key: ObjectKey, priority: int) -> None:
        with structlog.contextvars.bound_contextvars(
            controller=self._name,
            namespace=key.namespace,
            name=key.name,
            reconcileID=str(uuid.uuid4()),
        ):
            started = self._clock.now()
            try:
                result = await self._reconciler.reconcile(key)
                if not isinstance(result, Result):
                    raise TypeError(
                        f"reconcile returned {type(result).__name__}, expected Result"
                    )
            except TerminalError as error:
                self._observe(started)
                self._terminal_errors.inc()
                self._count_error()
                # Like controller-runtime: the error's text, no stack trace (these are
                # expected outcomes such as a bad spec, not bugs).
                self._log_outcome(error, terminal=True)
                return
            except (KeyboardInterrupt, SystemExit):
                raise
            except asyncio.CancelledError as error:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # we are being stopped: not the reconciler's failure
                # A cancellation that escaped from inside the reconciler is just a failure.
                self._observe(started)
                self._fail(key, priority, error)
                return
            except BaseException as error:
                self._observe(started)
                panic = isinstance(error, self._options.panic_types) or not isinstance(
                    error, Exception
                )
                if panic:
                    self._panics.inc()
                self._fail(key, priority, error, panic=panic)
                return
            self._observe(started)

            if result.requeue_after is not None and result.requeue_after > 0:
                self._queue.forget(key)
                self._queue.add_after(key, result.requeue_after, priority=priority)
                self._total["requeue_after"].inc()
                self._log.debug("Reconcile done, requeueing", requeue_after=result.requeue_after)
                return
            self._queue.forget(key)
            self._total["success"].inc()
            self._log.debug("Reconcile successful")

    def _observe(self, started: float) -> None:
        self._time.observe(max(0.0, self._clock.now() - started))

    def _count_error(self) -> None:
        self._errors.inc()
        self._total["error"].inc()

    def _fail(
        self, key: ObjectKey, priority: int, error: BaseException, *, panic: bool = False
    ) -> None:
        max_backoff = getattr(error, "max_backoff", None)
        self._queue.add_rate_limited(
            key,
            priority=priority,
            max_delay=max_backoff if isinstance(max_backoff, (int, float)) else None,
        )
        self._count_error()
        if panic:
            self._log.error("Observed a panic in reconciler", exc_info=error, panic=True)
        else:
            self._log_outcome(error, terminal=False)

    def _log_outcome(self, error: BaseException, *, terminal: bool) -> None:
        """The one line of a failed reconcile, at the level the error asks for."""
        level = getattr(error, LOG_LEVEL_ATTRIBUTE, "error")
        log = {"info": self._log.info, "warning": self._log.warning}.get(level, self._log.error)
        cause = error.__cause__ if terminal and error.__cause__ is not None else error
        log(
            "Reconciler error", error=str(error) or type(error).__name__,
            error_type=type(cause).__name__, terminal=terminal,
        )

    def __repr__(self) -> str:
        return (
            f"Controller(name={self._name!r}, "
            f"workers={self._options.max_concurrent_reconciles}, queue={self._queue!r})"
        )
