"""Status conditions: the exact upstream vocabulary and Kubernetes' transition-time rules.

Owns how a reconcile outcome becomes the ``status.conditions`` list
(docs/behavior/conditions-and-events.md#conditions).
It never writes anything: reconcilers compare the result with the live status and patch only
when it differs, so a converged object costs no write. ``lastTransitionTime`` only moves when a
condition's status changes (apimachinery's ``SetStatusCondition`` rule), which is what makes the
comparison stable across reconciles.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from controller.reconcilers.framework.errors import (
    REASON_RECONCILE_FAILED,
    ReconcileError,
    ResolveRefError,
)

ACCEPTED: Final = "Accepted"
RESOLVED_REFS: Final = "ResolvedRefs"
AUTOMATION_API_MANAGED: Final = "AutomationAPIManaged"
DRIFTED: Final = "Drifted"
"""Ours: whether APIM's copy differs from what the cluster says (docs/behavior/drift.md)."""

MSG_ACCEPTED: Final = "Successfully reconciled"
MSG_RESOLVED_REFS: Final = "All References successfully resolved"

# Conditions that survive the reset at the start of every reconcile: AutomationAPIManaged
# encodes the identity mode of the object in APIM (HRID vs UUID); Drifted is the read-back's,
# which a reconcile only changes when it pushes a drifted object back.
STICKY_TYPES: Final = frozenset({AUTOMATION_API_MANAGED, DRIFTED})

# The CRDs declare the conditions list with maxItems 8.
MAX_CONDITIONS: Final = 8


def utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@attrs.frozen
class Condition:
    """A ``metav1.Condition`` without its transition time (decided when merged)."""

    type: str
    status: str
    reason: str
    message: str
    observed_generation: int | None = None

    def to_dict(self, last_transition_time: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            "lastTransitionTime": last_transition_time,
        }
        if self.observed_generation is not None:
            out["observedGeneration"] = self.observed_generation
        return out


def accepted(generation: int | None) -> Condition:
    return Condition(ACCEPTED, "True", ACCEPTED, MSG_ACCEPTED, generation)


def resolved_refs(generation: int | None) -> Condition:
    return Condition(RESOLVED_REFS, "True", RESOLVED_REFS, MSG_RESOLVED_REFS, generation)


def automation_api_managed(generation: int | None) -> Condition:
    return Condition(AUTOMATION_API_MANAGED, "True", AUTOMATION_API_MANAGED, "", generation)


def success_conditions(
    generation: int | None, *, unresolved: Sequence[Condition] = ()
) -> list[Condition]:
    """Accepted=True, plus ResolvedRefs=True unless a soft reference failure was recorded."""
    if unresolved:
        return [accepted(generation), *unresolved]
    return [accepted(generation), resolved_refs(generation)]


def failure_conditions(error: BaseException, generation: int | None) -> list[Condition]:
    """The two conditions upstream's ``ErrorToCondition`` produces for ``error``, except that
    ``Accepted`` always says what is wrong and what to do (upstream's says only
    ``ReconcileFailed`` for a missing reference)."""
    message = str(error)
    described = error.describe() if isinstance(error, ReconcileError) else message
    if isinstance(error, ResolveRefError):
        return [
            Condition(ACCEPTED, "False", REASON_RECONCILE_FAILED, described, generation),
            Condition(RESOLVED_REFS, "False", RESOLVED_REFS, message, generation),
        ]
    reason = error.reason if isinstance(error, ReconcileError) else REASON_RECONCILE_FAILED
    return [Condition(ACCEPTED, "False", reason, described, generation), resolved_refs(generation)]


def merge_conditions(
    existing: Iterable[Mapping[str, Any]],
    new: Sequence[Condition],
    *,
    now: Callable[[], str] = utc_now,
) -> list[dict[str, Any]]:
    """The conditions list after a reconcile: sticky ones kept, everything else replaced by ``new``.

    A condition whose status did not change keeps its ``lastTransitionTime``.
    """
    previous = {c.get("type"): c for c in existing}
    new_types = {c.type for c in new}
    merged: list[dict[str, Any]] = [
        dict(c) for t, c in previous.items() if t in STICKY_TYPES and t not in new_types
    ]
    for condition in new:
        before = previous.get(condition.type)
        if before is not None and before.get("status") == condition.status:
            transition = str(before.get("lastTransitionTime") or now())
        else:
            transition = now()
        merged.append(condition.to_dict(transition))
    return merged[:MAX_CONDITIONS]


def set_condition(
    existing: Iterable[Mapping[str, Any]],
    condition: Condition,
    *,
    now: Callable[[], str] = utc_now,
) -> list[dict[str, Any]]:
    """``existing`` with ``condition`` set (added, or replaced in place), every other
    condition untouched; ``lastTransitionTime`` moves only when the status changes."""
    out: list[dict[str, Any]] = []
    placed = False
    for before in existing:
        if before.get("type") != condition.type:
            out.append(dict(before))
            continue
        same = before.get("status") == condition.status
        transition = str(before.get("lastTransitionTime") or now()) if same else now()
        out.append(condition.to_dict(transition))
        placed = True
    if not placed:
        out.append(condition.to_dict(now()))
    return out[:MAX_CONDITIONS]


def find(conditions: Iterable[Mapping[str, Any]], type_: str) -> Mapping[str, Any] | None:
    for condition in conditions:
        if condition.get("type") == type_:
            return condition
    return None


def is_true(conditions: Iterable[Mapping[str, Any]], type_: str) -> bool:
    found = find(conditions, type_)
    return found is not None and found.get("status") == "True"
