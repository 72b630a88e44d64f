"""The reconcile skeleton every kind follows (gko-behavior.md 2), with a fixed write order.

A reconcile reads the object from the informer cache and then writes at most, in this order:
one metadata patch (finalizer and ``gravitee.io/last-spec-hash``, so a deletion can never orphan
a remote record), the remote side (APIM, ConfigMaps, done by the kind's ``apply``/``cleanup``),
the two Events, and one status patch when the status actually changed. A converged object that
is reconciled again therefore costs its remote calls and Events but no metadata or status write.

Kinds plug in through ``apply`` (create/update) and ``cleanup`` (delete); errors are mapped to
conditions and to retry behaviour here (``errors.py``): recoverable ones are raised for a
rate-limited retry, the others become ``TerminalError`` (no retry until the object or one of
its dependencies changes).
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Mapping
from typing import Any, ClassVar, NoReturn

import attrs
from kubernetes_asyncio.client import ApiClient

from controller import jsonfast
from controller.apim import ApimError
from controller.informers.store import Store
from controller.kube.events import NORMAL, WARNING, EventRecorder
from controller.kube.objects import patch_metadata, patch_status
from controller.kube.resources import ResourceKind
from controller.kube.rest import KubeApiError
from controller.logging import get_logger
from controller.reconcile import Result, TerminalError
from controller.reconcilers import conditions as cond
from controller.reconcilers import vocabulary as v
from controller.reconcilers.errors import ControlPlaneError, ReconcileError, is_recoverable
from controller.reconcilers.sources import CachedSources, SourceBookkeeping
from controller.reconcilers.templating import SourceRef, compile_spec

_log = get_logger("reconciler")


@attrs.define
class Attempt:
    """One reconcile of one object: the live object and what the kind computed for its status."""

    obj: dict[str, Any]
    spec: dict[str, Any]
    """The spec with templates resolved (a copy; the live spec is never written back)."""
    sources: frozenset[SourceRef] = frozenset()
    status: dict[str, Any] = attrs.field(factory=dict)
    """Status fields to set (``None`` removes a field); conditions are handled by the skeleton."""
    extra_conditions: list[cond.Condition] = attrs.field(factory=list)
    unresolved: list[cond.Condition] = attrs.field(factory=list)
    """Soft reference failures (``ResolvedRefs=False``) that do not fail the reconcile."""
    events: list[asyncio.Future[None]] = attrs.field(factory=list)
    """Events emitted so far, sent in the background."""

    async def events_sent(self) -> None:
        if self.events:
            await asyncio.gather(*self.events)

    @property
    def namespace(self) -> str:
        return str(self.obj["metadata"].get("namespace") or "")

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

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
class SkeletonDeps:
    api_client: ApiClient
    secrets: Store
    configmaps: Store
    templating: bool = True


def control_plane_error(error: ApimError) -> ControlPlaneError:
    return ControlPlaneError(str(error), status=error.status)


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


class KindReconciler(abc.ABC):
    """Base of the per-kind reconcilers; implements ``controller.reconcile.Reconciler``."""

    controller: ClassVar[str]
    """Controller name (metrics ``controller`` label, logs), e.g. ``apiv4definition``."""
    kind: ClassVar[ResourceKind]
    finalizer: ClassVar[str]
    has_processing_status: ClassVar[bool] = True
    status_while_deleting: ClassVar[bool] = True
    has_status: ClassVar[bool] = True

    def __init__(self, deps: SkeletonDeps, store: Store) -> None:
        self.deps = deps
        self.store = store
        self.api = deps.api_client
        self.sources = CachedSources(deps.secrets, deps.configmaps)
        self.bookkeeping = SourceBookkeeping(deps.api_client, deps.secrets, deps.configmaps)
        self.events = EventRecorder(deps.api_client, v.COMPONENTS[self.controller])

    # -- hooks ------------------------------------------------------------------------------

    @abc.abstractmethod
    async def apply(self, attempt: Attempt) -> None:
        """Make the remote side match ``attempt.spec``; fill ``attempt.status``."""

    async def cleanup(self, attempt: Attempt) -> None:  # noqa: B027 - optional hook
        """Remove the remote side of a deleted object (default: nothing remote)."""

    def skip_update(self, obj: Mapping[str, Any]) -> bool:
        """True when the kind has nothing to do for this object (no finalizer is added)."""
        return False

    # -- the skeleton -----------------------------------------------------------------------

    async def reconcile(self, key: str) -> Result:
        obj = self.store.get(key)
        if obj is None:
            return Result()
        if obj["metadata"].get("deletionTimestamp"):
            return await self._delete(obj)
        if self.skip_update(obj):
            return Result()
        return await self._update(obj)

    async def _update(self, obj: dict[str, Any]) -> Result:
        spec = obj.get("spec") or {}
        obj = await self._ensure_metadata(obj, spec)
        try:
            attempt = self._compile(obj, spec)
        except ReconcileError as error:
            # Upstream compiles templates before the event pair: no Events for these.
            await self._write_status(Attempt(obj, {}), error)
            self._give_up_or_retry(error)
        # Sent in the background while the remote calls run (see _write_status).
        attempt.events.append(self.events.emit(obj, NORMAL, *v.EVENT_UPDATE_STARTED[1:]))
        try:
            if attempt.sources:
                await self.bookkeeping.record(
                    attempt.sources, plural=self.kind.plural, user=attempt.key
                )
            await self.apply(attempt)
        except ApimError as error:
            await self._update_failed(attempt, control_plane_error(error))
        except (ReconcileError, KubeApiError) as error:
            await self._update_failed(attempt, error)
        attempt.events.append(self.events.emit(obj, NORMAL, *v.EVENT_UPDATE_SUCCEEDED[1:]))
        await self._write_status(attempt, None)
        return Result()

    async def _update_failed(self, attempt: Attempt, error: Exception) -> NoReturn:
        attempt.events.append(
            self.events.emit(attempt.obj, WARNING, v.EVENT_UPDATE_FAILED, str(error))
        )
        await self._write_status(attempt, error)
        self._give_up_or_retry(error)

    def _compile(self, obj: dict[str, Any], spec: Mapping[str, Any]) -> Attempt:
        namespace = str(obj["metadata"].get("namespace") or "")
        if not self.deps.templating:
            return Attempt(obj, jsonfast.copy(dict(spec)))
        compiled = compile_spec(dict(spec), namespace=namespace, reader=self.sources)
        return Attempt(obj, compiled.spec, compiled.sources)

    async def _delete(self, obj: dict[str, Any]) -> Result:
        finalizers = list(obj["metadata"].get("finalizers") or [])
        if self.finalizer not in finalizers:
            return Result()
        attempt = Attempt(obj, jsonfast.copy(dict(obj.get("spec") or {})))
        attempt.events.append(self.events.emit(obj, NORMAL, *v.EVENT_DELETE_STARTED[1:]))
        try:
            await self.cleanup(attempt)
            await self.bookkeeping.release_all(
                attempt.namespace, plural=self.kind.plural, user=attempt.key
            )
        except (ApimError, ReconcileError, KubeApiError) as error:
            failure = control_plane_error(error) if isinstance(error, ApimError) else error
            attempt.events.append(
                self.events.emit(obj, WARNING, v.EVENT_DELETE_FAILED, str(failure))
            )
            if self.status_while_deleting:
                await self._write_status(attempt, failure)
            else:
                await attempt.events_sent()
            # A deletion must complete by itself once what blocks it goes away: always retry.
            raise failure from error
        remaining = [f for f in finalizers if f != self.finalizer]
        await attempt.events_sent()
        try:
            await patch_metadata(
                self.api,
                self.kind,
                attempt.namespace,
                attempt.name,
                finalizers=remaining,
                resource_version=str(obj["metadata"].get("resourceVersion") or "") or None,
            )
        except KubeApiError as error:
            if not error.not_found:
                raise
        await self.events.emit(obj, NORMAL, *v.EVENT_DELETE_SUCCEEDED[1:])
        return Result()

    async def _ensure_metadata(self, obj: dict[str, Any], spec: Any) -> dict[str, Any]:
        metadata = obj["metadata"]
        finalizers = list(metadata.get("finalizers") or [])
        annotations = metadata.get("annotations") or {}
        spec_hash = v.spec_hash(spec)
        add_finalizer = self.finalizer not in finalizers
        new_hash = annotations.get(v.ANNOTATION_LAST_SPEC_HASH) != spec_hash
        if not add_finalizer and not new_hash:
            return obj
        patched = await patch_metadata(
            self.api,
            self.kind,
            metadata.get("namespace"),
            metadata["name"],
            finalizers=[*finalizers, self.finalizer] if add_finalizer else None,
            annotations={v.ANNOTATION_LAST_SPEC_HASH: spec_hash} if new_hash else None,
            # Pinned so a finalizer added by someone else meanwhile is never dropped.
            resource_version=str(metadata.get("resourceVersion") or "") if add_finalizer else None,
        )
        return patched

    def desired_status(self, attempt: Attempt, error: Exception | None) -> dict[str, Any]:
        live = attempt.live_status
        desired = {k: value for k, value in live.items()}
        if error is None:
            for field, value in attempt.status.items():
                if value is None:
                    desired.pop(field, None)
                else:
                    desired[field] = value
            new_conditions = [
                *attempt.extra_conditions,
                *cond.success_conditions(attempt.generation, unresolved=attempt.unresolved),
            ]
        else:
            new_conditions = cond.failure_conditions(error, attempt.generation)
        desired["conditions"] = cond.merge_conditions(live.get("conditions") or [], new_conditions)
        if self.has_processing_status:
            desired["processingStatus"] = (
                v.PROCESSING_COMPLETED if error is None else v.PROCESSING_FAILED
            )
        return desired

    async def _write_status(self, attempt: Attempt, error: Exception | None) -> None:
        # Whoever sees this status must also be able to see the Events that led to it.
        await attempt.events_sent()
        if not self.has_status:
            return
        desired = self.desired_status(attempt, error)
        live = attempt.live_status
        patch = merge_patch(live, desired)
        if not patch:
            return
        try:
            await patch_status(self.api, self.kind, attempt.namespace, attempt.name, patch)
        except KubeApiError as error:
            if not error.not_found:
                raise

    def _give_up_or_retry(self, error: Exception) -> NoReturn:
        if is_recoverable(error):
            raise error
        _log.info("aborting reconcile until the object or a dependency changes", error=str(error))
        raise TerminalError(str(error)) from error
