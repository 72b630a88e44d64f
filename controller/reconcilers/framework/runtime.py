"""The reconcile skeleton every kind runs in, with a fixed write order (docs/architecture.md).

A kind's logic (``KindLogic``) only says what the remote side should be: ``apply`` returns an
``Outcome`` (status fields, extra conditions, an optional requeue delay), ``cleanup`` removes the
remote side of a deleted object and returns a ``Cleanup``. Everything else is done here, once
for all kinds:

* one metadata write (finalizer and ``gravitee.io/last-spec-hash``) before anything remote, so a
  deletion can never orphan a remote record; then the remote side; then the two Events; then one
  status write, only when the status actually changed;
* any exception, of any type, becomes ``Accepted=False`` with a reason and a message naming the
  cause, one Warning Event, and a retry with backoff (or none, for errors retrying cannot fix);
* an APIM that does not answer parks the object until it answers again (``recovery.py``);
* status fields derived from the indexes (``derived_status``) are written with every status
  write (``derived.py`` keeps them current in between);
* a deletion whose remote cleanup needs something that no longer exists completes anyway and
  says, in a Warning Event, what may remain remotely;
* for a kind that reads back, a ``ReadBackKey`` runs the kind's ``read_back`` instead of a
  reconcile, compares, and records ``Drifted`` (one Event per transition); a reconcile that
  pushes a drifted object back records that it repaired it (docs/behavior/drift.md).
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import attrs
import structlog
from kubernetes_asyncio.client import ApiClient

from controller import jsonfast, metrics
from controller import vocabulary as v
from controller.config import DriftPolicy
from controller.informers.predicates import converged
from controller.informers.store import Store
from controller.keys import ObjectKey
from controller.kube.events import NORMAL, WARNING, EventRecorder
from controller.kube.objects import patch_status
from controller.kube.rest import KubeApiError
from controller.queue.workqueue import WorkQueue
from controller.reconcile import Result, TerminalError
from controller.reconcilers.framework import conditions as cond
from controller.reconcilers.framework.builder import Primary
from controller.reconcilers.framework.derived import DerivedValues
from controller.reconcilers.framework.errors import (
    ControlPlaneError,
    ReconcileError,
    ResolveRefError,
    classify,
)
from controller.reconcilers.framework.metadata import (
    remove_finalizer,
    stamp,
    write_changed_annotations,
)
from controller.reconcilers.framework.readback import (
    ReadBack,
    ReadBackKey,
    ReadBackScheduler,
    policy_of,
)
from controller.reconcilers.framework.recovery import DependencyHealth
from controller.reconcilers.framework.referrers import Referrers
from controller.reconcilers.support.contexts import ContextResolver
from controller.reconcilers.support.drift import DELETED, compare, summarize
from controller.reconcilers.support.gateway_configmaps import GatewayConfigMaps
from controller.reconcilers.support.sources import CachedSources
from controller.reconcilers.support.templating import SourceRef

__all__ = [
    "Attempt", "Cleanup", "DriftHooks", "KindLogic", "KindRuntime", "Outcome", "ReadBack",
    "RuntimeDeps", "merge_patch",
]

EVENT_LEFTOVERS = "DeleteSucceeded"
"""Reason of the Warning Event of a deletion that completed without its remote cleanup."""

REASON_DRIFT_DETECTED = "DriftDetected"
REASON_DRIFT_REPAIRING = "Repairing"
REASON_DRIFT_REPAIRED = "Repaired"
REASON_IN_SYNC = "InSync"

log = structlog.get_logger().bind(logger="read-back")


@attrs.define
class Attempt:
    """One reconcile of one object, as the kind's logic sees it."""

    key: ObjectKey
    obj: dict[str, Any]
    spec: dict[str, Any]
    """The spec with templates resolved (a copy; the live spec is never written back)."""
    sources: frozenset[SourceRef] = frozenset()
    uses_context: ObjectKey | None = None
    """The ManagementContext whose APIM this attempt talks to (set by the context resolver):
    an unreachable APIM parks the object under it."""

    @property
    def namespace(self) -> str:
        return self.key.namespace

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def generation(self) -> int | None:
        generation = self.obj["metadata"].get("generation")
        return int(generation) if generation is not None else None

    @property
    def live_status(self) -> Mapping[str, Any]:
        status = self.obj.get("status")
        return status if isinstance(status, Mapping) else {}

    @property
    def automation_managed(self) -> bool:
        return cond.is_true(self.live_status.get("conditions") or [], cond.AUTOMATION_API_MANAGED)


@attrs.frozen(kw_only=True)
class Outcome:
    """What a successful ``apply`` asks the runtime to record."""

    status: Mapping[str, Any] = attrs.field(factory=dict)
    """Status fields to set (``None`` removes a field); conditions are the runtime's."""
    conditions: tuple[cond.Condition, ...] = ()
    """Extra conditions (``AutomationAPIManaged``) and soft reference failures
    (``ResolvedRefs=False``, which replace ``ResolvedRefs=True``)."""
    requeue_after: float | None = None
    annotations: Mapping[str, str] = attrs.field(factory=dict)
    """Annotations to record once the remote side is in place (written only if they differ)."""
    warnings: tuple[str, ...] = ()
    """Things the user should know although the reconcile succeeded (one Warning Event each)."""


@attrs.frozen(kw_only=True)
class Cleanup:
    """What a completed ``cleanup`` reports."""

    leftovers: str | None = None
    """What may remain remotely and why, when the remote cleanup could not run."""


@attrs.frozen(kw_only=True)
class RuntimeDeps:
    """What the kinds' logic and the runtime share (built once by ``assemble.py``)."""

    api_client: ApiClient
    stores: Mapping[str, Store]
    """Informer caches by plural (``apiv4definitions``, ``secrets``...)."""
    sources: CachedSources
    resolver: ContextResolver
    gateway_configmaps: GatewayConfigMaps
    referrers: Referrers
    health: DependencyHealth
    templating: bool = True
    claims_in_cluster: bool = False
    """Whether claims (context paths) must be unique cluster-wide rather than per namespace
    (``CHECK_API_CONTEXT_PATH_CONFLICT_IN_CLUSTER``)."""
    namespaces: tuple[str, ...] = ()
    """The namespaces the caches hold (``NAMESPACE``); empty: all of them."""


class KindLogic(abc.ABC):
    """What one kind does; ``setup(builder)`` hands a factory of it to the builder."""

    @abc.abstractmethod
    async def apply(self, attempt: Attempt) -> Outcome:
        """Make the remote side match ``attempt.spec``."""

    async def cleanup(self, attempt: Attempt) -> Cleanup:
        """Remove the remote side of a deleted object (default: nothing remote)."""
        return Cleanup()

    def skip_update(self, obj: Mapping[str, Any]) -> bool:
        """True when the kind has nothing to do for this object (no finalizer is added,
        unless ``finalizer_for`` names another one)."""
        return False

    def finalizer_for(self, obj: Mapping[str, Any]) -> str | None:
        """The finalizer this object carries instead of the kind's (e.g. an Ingress API
        template): it is kept even when ``skip_update`` is True, and its deletion goes through
        ``cleanup`` like any other. None: the kind's finalizer."""
        return None

    def required_status(self) -> Mapping[str, Any]:
        """Status fields the kind's schema requires, with the value written when no reconcile
        has set them yet (e.g. a Group's ``members`` on a first, failed, reconcile)."""
        return {}

    def annotations(self, obj: Mapping[str, Any]) -> Mapping[str, str]:
        """Annotations the kind keeps on its object, written with the finalizer and the spec
        hash in the reconcile's one metadata write (default: none)."""
        return {}

    async def read_back(self, attempt: Attempt) -> ReadBack | None:
        """For a kind that declares ``reads_back()``: the payload ``apply`` would send for
        ``attempt`` now and APIM's copy of the object (None: nothing remote to compare, e.g.
        an API only deployed to a gateway ConfigMap). Must not write anything."""
        raise NotImplementedError(f"{type(self).__name__} declares reads_back() without "
                                  "implementing read_back")


@attrs.frozen(kw_only=True)
class DriftHooks:
    """What a kind that reads back shares with the scheduler (set by ``assemble.py``)."""

    scheduler: ReadBackScheduler
    target: int
    default_policy: DriftPolicy


def merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON merge patch turning ``old`` into ``new``.

    Merge patches merge nested objects, so a key that disappeared from a map (e.g. a plan removed
    from ``status.plans``) must be sent as null or it would survive; lists are replaced whole.
    """
    patch: dict[str, Any] = {}
    for key, value in new.items():
        before = old.get(key)
        if before == value:
            continue
        if isinstance(before, Mapping) and isinstance(value, Mapping):
            patch[key] = merge_patch(before, value)
        else:
            patch[key] = value
    patch.update({key: None for key in old if key not in new})
    return patch


class KindRuntime:
    """Runs one kind's logic for the keys of its queue; implements ``Reconciler``."""

    def __init__(
        self,
        name: str,
        primary: Primary,
        logic: KindLogic,
        deps: RuntimeDeps,
        *,
        events: EventRecorder,
        derived: DerivedValues | None = None,
    ) -> None:
        self.name = name
        self.derived = derived
        """Status fields derived from the indexes, written with every status write."""
        self.primary = primary
        self.logic = logic
        self.deps = deps
        self.store = deps.stores[primary.kind.plural]
        self.events = events
        self.queue: WorkQueue[ObjectKey] | None = None
        """Set once the controller exists: parked objects are re-queued there."""
        self.drift: DriftHooks | None = None
        """Set by the assembly for a kind that reads back."""
        self._repairing: set[ObjectKey] = set()
        """Objects whose repair was queued: the cache may not show Drifted=True yet when the
        repairing reconcile runs."""
        self._pushes: dict[ObjectKey, int] = {}
        """Per object: odd while a reconcile runs, bumped at its start and end, so that a
        read-back that overlapped a reconcile is discarded (it may have read a half-push)."""

    async def reconcile(self, key: ObjectKey) -> Result:
        if isinstance(key, ReadBackKey):
            return await self._read_back(key.object_key)
        if self.queue is not None:
            self.deps.health.retrying(self.queue, key)
        obj = self.store.get(key)
        if obj is None:
            self._forget(key)
            return Result()
        finalizer = self.logic.finalizer_for(obj) or self.primary.finalizer
        if obj["metadata"].get("deletionTimestamp"):
            self._forget(key)
            return await self._delete(key, obj, finalizer)
        if self.logic.skip_update(obj):
            if finalizer != self.primary.finalizer:
                await stamp(self.deps.api_client, self.primary.kind, obj, finalizer=finalizer,
                            annotations={})
            return Result()
        if self.drift is None:
            return await self._update(key, obj)
        self._pushes[key] = self._pushes.get(key, 0) + 1
        try:
            return await self._update(key, obj)
        finally:
            self._pushes[key] = self._pushes.get(key, 0) + 1

    # -- create / update ----------------------------------------------------------------------

    async def _update(self, key: ObjectKey, obj: dict[str, Any]) -> Result:
        spec = obj.get("spec") or {}
        obj = await stamp(
            self.deps.api_client,
            self.primary.kind,
            obj,
            finalizer=self.primary.finalizer,
            annotations={
                v.ANNOTATION_LAST_SPEC_HASH: v.spec_hash(spec),
                **self.logic.annotations(obj),
            },
        )
        attempt = Attempt(key, obj, {})
        pending: list[asyncio.Future[None]] = []
        try:
            attempt = await self._compile(key, obj, spec)
        except ReconcileError as error:
            # Upstream compiles templates before the event pair: only the failure Event.
            await self._failed(attempt, error, pending, reason=v.EVENT_UPDATE_FAILED)
        pending.append(self.events.emit(obj, NORMAL, *v.EVENT_UPDATE_STARTED[1:]))
        try:
            outcome = await self.logic.apply(attempt)
        except Exception as error:
            await self._failed(attempt, classify(error), pending, reason=v.EVENT_UPDATE_FAILED)
        if outcome.annotations:
            attempt.obj = await write_changed_annotations(
                self.deps.api_client, self.primary.kind, attempt.obj, outcome.annotations
            )
        pending += [self.events.emit(obj, WARNING, v.EVENT_UPDATE_SUCCEEDED[1], warning)
                    for warning in outcome.warnings]
        pending.append(self.events.emit(obj, NORMAL, *v.EVENT_UPDATE_SUCCEEDED[1:]))
        repaired = self._repaired(attempt)
        if repaired is not None:
            pending.append(self.events.emit(obj, NORMAL, v.EVENT_DRIFT_REPAIRED,
                                            repaired.message))
            outcome = attrs.evolve(outcome, conditions=(*outcome.conditions, repaired))
        await self._write_status(attempt, pending, self._success_status(attempt, outcome))
        return Result(requeue_after=outcome.requeue_after)

    async def _compile(
        self, key: ObjectKey, obj: dict[str, Any], spec: Mapping[str, Any]
    ) -> Attempt:
        if not self.deps.templating:
            return Attempt(key, obj, jsonfast.copy(dict(spec)))
        compiled = await self.deps.sources.compile(dict(spec), namespace=key.namespace)
        return Attempt(key, obj, compiled.spec, compiled.sources)

    async def _failed(
        self,
        attempt: Attempt,
        error: ReconcileError,
        pending: list[asyncio.Future[None]],
        *,
        reason: str,
    ) -> NoReturn:
        pending.append(self.events.emit(attempt.obj, WARNING, reason, error.describe()))
        if self.primary.has_status and (
            self.primary.status_while_deleting or reason == v.EVENT_UPDATE_FAILED
        ):
            await self._write_status(attempt, pending, self._failure_status(attempt, error))
        else:
            await _sent(pending)
        unreachable = isinstance(error, ControlPlaneError) and error.unreachable
        if unreachable and attempt.uses_context is not None and self.queue is not None:
            self.deps.health.park(attempt.uses_context, self.queue, attempt.key)
        if reason == v.EVENT_DELETE_FAILED or error.recoverable:
            # A deletion must complete by itself once what blocks it goes away: always retry.
            raise error
        raise TerminalError(error.describe(), log_level=error.log_level) from error

    # -- delete -------------------------------------------------------------------------------

    async def _delete(self, key: ObjectKey, obj: dict[str, Any], finalizer: str) -> Result:
        if finalizer not in (obj["metadata"].get("finalizers") or []):
            return Result()
        attempt = Attempt(key, obj, jsonfast.copy(dict(obj.get("spec") or {})))
        pending = [self.events.emit(obj, NORMAL, *v.EVENT_DELETE_STARTED[1:])]
        try:
            cleanup = await self.logic.cleanup(attempt)
        except ResolveRefError as gone:
            # What the remote cleanup needs no longer exists: waiting would be forever.
            cleanup = Cleanup(leftovers=f"the remote copy may remain: {gone}")
        except Exception as error:
            await self._failed(attempt, classify(error), pending, reason=v.EVENT_DELETE_FAILED)
        await _sent(pending)
        await remove_finalizer(self.deps.api_client, self.primary.kind, obj, finalizer)
        if cleanup.leftovers:
            await self.events.emit(
                obj, WARNING, EVENT_LEFTOVERS, f"Delete succeeded; {cleanup.leftovers}"
            )
        else:
            await self.events.emit(obj, NORMAL, *v.EVENT_DELETE_SUCCEEDED[1:])
        return Result()

    # -- read-back ----------------------------------------------------------------------------

    def _reconcile_pending(self, key: ObjectKey) -> bool:
        return self.queue is not None and self.queue.pending(key)

    def _forget(self, key: ObjectKey) -> None:
        self._pushes.pop(key, None)
        self._repairing.discard(key)

    def _repaired(self, attempt: Attempt) -> cond.Condition | None:
        """``Drifted=False`` when this successful reconcile pushed a drifted object back."""
        drifted = cond.find(attempt.live_status.get("conditions") or [], cond.DRIFTED)
        repairing = attempt.key in self._repairing
        self._repairing.discard(attempt.key)
        if not repairing and (drifted is None or drifted.get("status") != "True"):
            return None
        return cond.Condition(
            cond.DRIFTED, "False", REASON_DRIFT_REPAIRED,
            "The cluster's version was pushed back to APIM", attempt.generation,
        )

    # -- admission ------------------------------------------------------------------------------

    def synced(self, obj: Mapping[str, Any]) -> bool:
        """True when APIM holds what the operator sent for ``obj``'s spec: its last reconcile
        finished at this generation (admission compares APIM with it)."""
        return not self.logic.skip_update(obj) and converged(
            obj, processing_status=self.primary.processing_status
        )

    async def read_back_of(self, obj: Mapping[str, Any]) -> ReadBack | None:
        """What the operator would send for ``obj``'s spec now and APIM's copy: the periodic
        read-back's comparison, for an object the admission webhook reviews. Writes nothing."""
        key = ObjectKey.of(obj)
        attempt = await self._compile(key, dict(obj), obj.get("spec") or {})
        return await self.logic.read_back(attempt)

    async def _read_back(self, key: ObjectKey) -> Result:
        """One read-back of ``key``: never raises (a failed read-back is counted and logged;
        the next period tries again), never retried by the queue."""
        assert self.drift is not None
        kind = self.primary.kind.kind
        try:
            result = await self._check(key, self.drift)
            if result is not None:
                metrics.READ_BACKS.labels(kind=kind, result=result).inc()
        except Exception as error:
            metrics.READ_BACKS.labels(kind=kind, result="error").inc()
            log.info("Read-back failed", error=str(error) or type(error).__name__,
                     error_type=type(error).__name__)
        finally:
            self.drift.scheduler.finished(self.drift.target, key)
        return Result()

    async def _check(self, key: ObjectKey, drift: DriftHooks) -> str | None:
        obj = self.store.get(key)
        if obj is None or obj["metadata"].get("deletionTimestamp") or self.logic.skip_update(obj):
            return None
        policy = policy_of(obj, drift.default_policy)
        # Not converged: a reconcile is pending, running or failing; it says more than a diff.
        if policy == "off" or not converged(obj, processing_status=self.primary.processing_status):
            return None
        pushes = self._pushes.get(key, 0)
        if pushes % 2 or key in self._repairing or self._reconcile_pending(key):
            return None
        attempt = await self._compile(key, obj, obj.get("spec") or {})
        read = await self.logic.read_back(attempt)
        if read is None:
            return None
        paths = compare(read.kind, read.sent, read.remote)
        latest = self.store.get(key)
        if (self._pushes.get(key, 0) != pushes or latest is None or self._reconcile_pending(key)
                or latest["metadata"].get("generation") != obj["metadata"].get("generation")):
            # A reconcile pushed meanwhile (what was read may be half of it), or one is due
            # (a dependency changed: what it will send is not drift).
            return None
        await self._record_drift(attempt, paths, policy)
        if not paths:
            return "in_sync"
        return "deleted" if paths == [DELETED] else "drifted"

    async def _record_drift(self, attempt: Attempt, paths: Sequence[str], policy: str) -> None:
        conditions = attempt.live_status.get("conditions") or []
        before = cond.find(conditions, cond.DRIFTED)
        was_drifted = before is not None and before.get("status") == "True"
        obj, kind = attempt.obj, self.primary.kind.kind
        event: asyncio.Future[None] | None = None
        if not paths:
            if not was_drifted:
                return
            condition = cond.Condition(cond.DRIFTED, "False", REASON_IN_SYNC,
                                       "APIM matches the cluster again", attempt.generation)
            event = self.events.emit(obj, NORMAL, v.EVENT_DRIFT_RESOLVED, condition.message)
        else:
            summary = summarize(paths)
            if policy == "repair":
                condition = cond.Condition(
                    cond.DRIFTED, "True", REASON_DRIFT_REPAIRING,
                    f"{summary}; pushing the cluster's version back (drift policy repair)",
                    attempt.generation,
                )
            else:
                condition = cond.Condition(
                    cond.DRIFTED, "True", REASON_DRIFT_DETECTED,
                    f"{summary}; not repaired (drift policy report)", attempt.generation,
                )
            transition = not was_drifted or (before or {}).get("reason") != condition.reason
            if transition:
                metrics.DRIFT_DETECTED.labels(kind=kind).inc()
                event = self.events.emit(obj, WARNING, v.EVENT_DRIFT_DETECTED, condition.message)
        desired = dict(attempt.live_status)
        desired["conditions"] = cond.set_condition(conditions, condition)
        await self._write_status(attempt, [event] if event is not None else [], desired)
        if paths and policy == "repair" and self.queue is not None:
            # A plain reconcile, through the same queue, workers and backoff as any other.
            self._repairing.add(attempt.key)
            self.queue.add(attempt.key)

    # -- status -------------------------------------------------------------------------------

    def _success_status(self, attempt: Attempt, outcome: Outcome) -> dict[str, Any]:
        desired = dict(attempt.live_status)
        for field, value in outcome.status.items():
            if value is None:
                desired.pop(field, None)
            else:
                desired[field] = value
        soft = [c for c in outcome.conditions if c.type == cond.RESOLVED_REFS]
        extra = [c for c in outcome.conditions if c.type != cond.RESOLVED_REFS]
        conditions = [*extra, *cond.success_conditions(attempt.generation, unresolved=soft)]
        return self._with_conditions(desired, conditions, ok=True)

    def _failure_status(self, attempt: Attempt, error: ReconcileError) -> dict[str, Any]:
        conditions = cond.failure_conditions(error, attempt.generation)
        return self._with_conditions(dict(attempt.live_status), conditions, ok=False)

    def _with_conditions(
        self, desired: dict[str, Any], conditions: list[cond.Condition], *, ok: bool
    ) -> dict[str, Any]:
        if not self.primary.conditions:
            # The kind's status has no room for them: the Events and the logs say it.
            return desired
        desired["conditions"] = cond.merge_conditions(desired.get("conditions") or [], conditions)
        for field, value in self.logic.required_status().items():
            desired.setdefault(field, value)
        if self.primary.processing_status:
            desired["processingStatus"] = v.PROCESSING_COMPLETED if ok else v.PROCESSING_FAILED
        return desired

    async def _write_status(
        self, attempt: Attempt, pending: list[asyncio.Future[None]], desired: dict[str, Any]
    ) -> None:
        # Whoever sees this status must also be able to see the Events that led to it.
        await _sent(pending)
        if not self.primary.has_status:
            return
        if self.derived:
            desired.update(self.derived.of(attempt.key))
        patch = merge_patch(attempt.live_status, desired)
        if not patch:
            return
        try:
            await patch_status(
                self.deps.api_client, self.primary.kind, attempt.namespace, attempt.name, patch
            )
        except KubeApiError as error:
            if not error.not_found:
                raise


async def _sent(pending: list[asyncio.Future[None]]) -> None:
    if pending:
        await asyncio.gather(*pending)
