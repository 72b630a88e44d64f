"""Background garbage collection: owner references and namespace contents.

Owns the asynchronous clean-up kube-controller-manager performs: deleting objects whose
owners are all gone, and emptying a terminating namespace (its objects' finalizers are
honoured; the namespace disappears once nothing is left). Must never serve requests; it
works through :class:`sim.kubeapi.operations.Operations` so the usual events are emitted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sim.kubeapi.errors import ApiError
from sim.kubeapi.operations import (
    FOREGROUND_FINALIZER,
    ORPHAN_FINALIZER,
    DeleteOptions,
    Operations,
)

JsonObj = dict[str, Any]
_log = logging.getLogger(__name__)


class GarbageCollector:
    """A single worker task draining a queue of clean-up jobs."""

    def __init__(self) -> None:
        self._ops: Operations | None = None
        self._jobs: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def bind(self, ops: Operations) -> None:
        self._ops = ops

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # Callbacks wired into Operations: they only enqueue, so writes stay synchronous and fast.
    def object_removed(self, obj: JsonObj) -> None:
        uid = obj["metadata"].get("uid")
        if uid:
            self._jobs.put_nowait(("owner", uid))
        # An owner in foreground deletion may be waiting for this dependent.
        for ref in obj["metadata"].get("ownerReferences") or []:
            if ref.get("uid"):
                self._jobs.put_nowait(("foreground", ref["uid"]))

    def foreground_requested(self, owner_uid: str) -> None:
        self._jobs.put_nowait(("foreground", owner_uid))

    def orphan_requested(self, owner_uid: str) -> None:
        self._jobs.put_nowait(("orphan", owner_uid))

    def owner_missing(self, owner_uid: str) -> None:
        if owner_uid:
            self._jobs.put_nowait(("owner", owner_uid))

    def namespace_terminating(self, name: str) -> None:
        self._jobs.put_nowait(("namespace", name))

    def check_orphans(self) -> None:
        self._jobs.put_nowait(("sweep", ""))

    async def _run(self) -> None:
        while True:
            kind, arg = await self._jobs.get()
            try:
                if kind == "owner":
                    self._collect_dependents(arg)
                elif kind == "foreground":
                    self._foreground(arg)
                elif kind == "orphan":
                    self._orphan(arg)
                elif kind == "namespace":
                    self._empty_namespace(arg)
                else:
                    self._sweep()
            except ApiError:
                # A racing client already changed the object; the next job re-evaluates it.
                pass
            except Exception:
                # One bad job must not stop collection for the rest of the emulator's life.
                _log.exception("garbage collection job %s failed", kind)

    def _ops_or_fail(self) -> Operations:
        assert self._ops is not None, "GarbageCollector.bind() was not called"
        return self._ops

    def _collect_dependents(self, owner_uid: str) -> None:
        ops = self._ops_or_fail()
        if ops.owner_exists(owner_uid):
            return
        for key, obj in list(ops.store.all_objects()):
            refs = obj["metadata"].get("ownerReferences") or []
            if any(r.get("uid") == owner_uid for r in refs):
                self._delete_if_orphaned(key, obj)

    def _foreground(self, owner_uid: str) -> None:
        """Delete an owner's dependents, then release the owner's foreground finalizer."""
        ops = self._ops_or_fail()
        found = ops.locate(owner_uid)
        if found is None:
            return
        rt, owner = found
        if FOREGROUND_FINALIZER not in (owner["metadata"].get("finalizers") or ()):
            return
        remaining = 0
        for key, obj in list(ops.store.all_objects()):
            refs = obj["metadata"].get("ownerReferences") or []
            if not any(r.get("uid") == owner_uid for r in refs):
                continue
            remaining += 1
            meta = obj["metadata"]
            dependent_types = ops.registry.versions_of(key)
            if dependent_types and not meta.get("deletionTimestamp"):
                ops.delete(
                    dependent_types[0],
                    meta.get("namespace", ""),
                    meta["name"],
                    DeleteOptions(propagation_policy="Foreground"),
                )
        if remaining == 0:
            ops.drop_finalizer(rt, owner, FOREGROUND_FINALIZER)

    def _orphan(self, owner_uid: str) -> None:
        """Strip the owner's references from its dependents, then release its orphan finalizer."""
        ops = self._ops_or_fail()
        found = ops.locate(owner_uid)
        if found is None:
            return
        rt, owner = found
        if ORPHAN_FINALIZER not in (owner["metadata"].get("finalizers") or ()):
            return
        ops.orphan_dependents(owner_uid)
        ops.drop_finalizer(rt, owner, ORPHAN_FINALIZER)

    def _sweep(self) -> None:
        ops = self._ops_or_fail()
        for key, obj in list(ops.store.all_objects()):
            if obj["metadata"].get("ownerReferences"):
                self._delete_if_orphaned(key, obj)

    def _delete_if_orphaned(self, key: tuple[str, str], obj: JsonObj) -> None:
        ops = self._ops_or_fail()
        refs = obj["metadata"].get("ownerReferences") or []
        if any(ops.owner_exists(r.get("uid", "")) for r in refs):
            return
        rts = ops.registry.versions_of(key)
        if not rts or obj["metadata"].get("deletionTimestamp"):
            return
        meta = obj["metadata"]
        ops.delete(rts[0], meta.get("namespace", ""), meta["name"], DeleteOptions())

    def _empty_namespace(self, name: str) -> None:
        ops = self._ops_or_fail()
        for rt, obj in ops.namespace_contents(name):
            if not obj["metadata"].get("deletionTimestamp"):
                with contextlib.suppress(ApiError):
                    ops.delete(rt, name, obj["metadata"]["name"], DeleteOptions())
        ops.finish_namespace(name)
