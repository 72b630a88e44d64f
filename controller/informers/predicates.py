"""Which informer events are worth a reconcile (docs/behavior/references.md#propagation).

Owns the spec-hash gating that makes a restart over converged objects free: the start-up list
enqueues an object only when it is not converged (hash annotation differs from its spec, or its
``Accepted`` condition is not True for the current generation). Later, only spec changes and
deletions trigger; our own status and metadata writes never do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from controller import vocabulary as v
from controller.informers.events import Event, EventType
from controller.informers.store import data_hash

EventFilter = Callable[[Event], bool]


def _metadata(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return (obj or {}).get("metadata") or {}


def hash_current(obj: Mapping[str, Any]) -> bool:
    """Whether the spec-hash annotation matches the spec: reconciled since its last edit."""
    annotations = _metadata(obj).get("annotations") or {}
    return bool(annotations.get(v.ANNOTATION_LAST_SPEC_HASH) == v.spec_hash(obj.get("spec") or {}))


def converged(
    obj: Mapping[str, Any], *, processing_status: bool, hashed: bool | None = None
) -> bool:
    """Reconciled at its current spec and generation, and Accepted. ``hashed``: what
    ``hash_current(obj)`` gave, when the caller knows it already."""
    metadata = _metadata(obj)
    if not (hash_current(obj) if hashed is None else hashed):
        return False
    status = obj.get("status") or {}
    if processing_status and status.get("processingStatus") != v.PROCESSING_COMPLETED:
        return False
    accepted = next(
        (c for c in status.get("conditions") or [] if c.get("type") == v.CONDITION_ACCEPTED), None
    )
    if accepted is None or accepted.get("status") != "True":
        return False
    # A crash between the metadata write (hash) and the status write leaves the hash current
    # and the status behind: only a condition observed at this very generation proves the
    # last reconcile finished.
    generation = metadata.get("generation")
    return generation is None or accepted.get("observedGeneration") == generation


def _hash_current(event: Event) -> bool:
    """``hash_current(event.new)``, computed once per event whatever the number of handlers."""
    known = event.memo.get("hash_current")
    if known is None:
        known = event.memo["hash_current"] = hash_current(event.new or {})
    return bool(known)


def spec_changed(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> bool:
    if old is None or new is None:
        return True
    old_generation, new_generation = (
        _metadata(old).get("generation"),
        _metadata(new).get("generation"),
    )
    if old_generation is not None and new_generation is not None:
        return bool(old_generation != new_generation)
    return v.spec_hash(old.get("spec") or {}) != v.spec_hash(new.get("spec") or {})


def data_changed(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> bool:
    """Whether a Secret's or ConfigMap's content differs, whether the versions compared carry
    their data or only its hash (``store.without_data``)."""
    if old is None or new is None:
        return True
    return source_data_hash(old) != source_data_hash(new)


def primary(*, strategy: str, processing_status: bool) -> EventFilter:
    """Events of a controller's own kind."""

    def when(event: Event) -> bool:
        if event.type is EventType.DELETED:
            return False
        new = event.new or {}
        if _metadata(new).get("deletionTimestamp"):
            return True
        if event.type is EventType.ADDED:
            if event.initial and strategy != "always":
                return not converged(new, processing_status=processing_status,
                                     hashed=_hash_current(event))
            return True
        return spec_changed(event.old, event.new)

    return when


def dependency_changed(*, reconciled: bool = True) -> EventFilter:
    """Events of a kind others depend on (contexts, resources, groups...): new, changed spec,
    or, for kinds the operator reconciles, unconverged at start-up (edited while it was down).
    Kinds it does not reconcile carry no hash, so their start-up list triggers nothing."""

    def when(event: Event) -> bool:
        if event.type is EventType.DELETED:
            return False
        if event.type is EventType.ADDED:
            if not event.initial:
                return True
            return reconciled and not converged(event.new or {}, processing_status=False,
                                                hashed=_hash_current(event))
        return spec_changed(event.old, event.new)

    return when


def dependency_or_status_changed(*fields: str) -> EventFilter:
    """``dependency_changed()``, plus a change of one of the status ``fields`` (e.g. the APIM
    id a dependant needs, which only exists once the dependency was reconciled)."""
    changed = dependency_changed()

    def when(event: Event) -> bool:
        if changed(event):
            return True
        if event.type is not EventType.MODIFIED or event.old is None or event.new is None:
            return False
        before = event.old.get("status") or {}
        after = event.new.get("status") or {}
        return any(before.get(field) != after.get(field) for field in fields)

    return when


def source_data_hash(obj: Mapping[str, Any]) -> str:
    """Hash of a Secret's or ConfigMap's content, kept in its ``gravitee.io/last-spec-hash``
    annotation by the operator once it reads the object (upstream does the same for Secrets).
    Objects cached without their data carry it already (``store.without_data``)."""
    return data_hash(obj)


def source_stale(obj: Mapping[str, Any]) -> bool:
    """A source the operator read before whose content changed since (e.g. while it was down).
    Sources it never read carry no hash and are never stale."""
    recorded = (_metadata(obj).get("annotations") or {}).get(v.ANNOTATION_LAST_SPEC_HASH)
    return recorded is not None and recorded != source_data_hash(obj)


def source_changed(event: Event) -> bool:
    """Secret/ConfigMap events: a source appearing after start-up, its data changing, or, at
    start-up, a source whose data changed since its users last read it. Unchanged sources
    listed at start-up never trigger (upstream reconciled every Secret at start, #10284)."""
    if event.type is EventType.ADDED:
        return not event.initial or source_stale(event.new or {})
    if event.type is EventType.DELETED:
        return False
    return data_changed(event.old, event.new)



def edited_by_hand(obj: Mapping[str, Any]) -> bool:
    """An object the operator writes (a gateway ConfigMap) whose data no longer carries the hash
    the operator stamped on it: someone else changed it. Never stamped counts as edited."""
    recorded = (_metadata(obj).get("annotations") or {}).get(v.ANNOTATION_LAST_SPEC_HASH)
    return recorded != source_data_hash(obj)


def owned_changed(event: Event) -> bool:
    """Events of an object the operator owns that call for its owner to restore it: deleted,
    or its data edited (also while the operator was down). The operator's own writes stamp the
    data hash in the same write, so they never trigger."""
    if event.type is EventType.DELETED:
        return True
    if event.type is EventType.ADDED and not event.initial:
        return False
    return edited_by_hand(event.new or {})


def being_deleted(obj: Mapping[str, Any] | None) -> bool:
    return bool(_metadata(obj).get("deletionTimestamp"))
