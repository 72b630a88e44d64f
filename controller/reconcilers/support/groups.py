"""What the API kinds take from Group and Notification objects: group names and the console
notification settings (docs/behavior/group.md, docs/behavior/notification.md).

Both are read from the informer caches at reconcile time. Upstream sends a Group's ``spec.name``
(not its APIM id) wherever an API names a group, so that is what is resolved here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from controller.informers.store import Store
from controller.keys import ObjectKey
from controller.reconcilers.framework import conditions as cond
from controller.reconcilers.framework.errors import ReconcileError

REASON_GROUP_NOT_FOUND = "GroupNotFound"


def group_names(groups: Store, refs: Any, namespace: str) -> tuple[list[str], list[ObjectKey]]:
    """Names of the Group objects ``refs`` name, and the keys of the missing ones."""
    names: list[str] = []
    missing: list[ObjectKey] = []
    for ref in refs or []:
        key = ObjectKey.from_ref(ref, namespace)
        if key is None:
            continue
        group = groups.get(key)
        name = ((group or {}).get("spec") or {}).get("name")
        if group is None or not name:
            missing.append(key)
        elif name not in names:
            names.append(str(name))
    return names, missing


def group_not_found(
    key: ObjectKey, generation: int | None, *, spacing: str = " "
) -> cond.Condition:
    """Upstream's soft failure for a missing Group (the Notification kind's message has a
    double space, kept for compatibility)."""
    return cond.Condition(
        cond.RESOLVED_REFS,
        "False",
        REASON_GROUP_NOT_FOUND,
        f"Group {key} could not{spacing}be found",
        generation,
    )


def resolve_group_refs(
    groups: Store, spec: dict[str, Any], namespace: str, generation: int | None
) -> tuple[cond.Condition, ...]:
    """``groupRefs`` add their Group's name to ``groups``; a missing Group is a soft failure:
    ResolvedRefs=False, still Accepted."""
    if not spec.get("groupRefs"):
        return ()
    names, missing = group_names(groups, spec["groupRefs"], namespace)
    current = list(spec.get("groups") or [])
    spec["groups"] = current + [name for name in names if name not in current]
    if not missing:
        return ()
    # One condition per type: upstream overwrites it per missing group, the last wins.
    return (group_not_found(missing[-1], generation),)


@attrs.frozen
class ConsoleSettings:
    events: list[str]
    groups: list[str]


def console_notification(
    notifications: Store, groups: Store, spec: Mapping[str, Any], namespace: str
) -> ConsoleSettings | None:
    """The first console API Notification an API references (upstream keeps one per API);
    a referenced Notification that does not exist fails the reconcile (retried, and the
    Notification appearing re-triggers it)."""
    found: ConsoleSettings | None = None
    for ref in spec.get("notificationsRefs") or []:
        key = ObjectKey.from_ref(ref, namespace)
        if key is None:
            continue
        notification = notifications.get(key)
        if notification is None:
            raise ReconcileError(f'notifications.gravitee.io "{key.name}" not found')
        target = notification.get("spec") or {}
        if found is not None or (target.get("eventType") or "api") != "api":
            continue
        if (target.get("target") or "console") != "console":
            continue
        console = target.get("console") or {}
        names, _ = group_names(groups, console.get("groupRefs"), key.namespace)
        listed = list(console.get("groups") or [])
        found = ConsoleSettings(
            events=list(console.get("apiEvents") or []),
            groups=listed + [name for name in names if name not in listed],
        )
    return found
