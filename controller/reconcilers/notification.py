"""Notification: console notification settings the API kinds read
(docs/behavior/notification.md).

Nothing is sent to APIM: the reconcile validates the object and the Groups it names
(``ResolvedRefs=False``/``GroupNotFound`` for a missing one, still Accepted), and the APIs that
reference it put its settings in their own import bodies. A notification still referenced by an
API cannot be deleted: the deletion waits, names the APIs, and completes by itself.
"""

from __future__ import annotations

from controller import vocabulary as v
from controller.kube.kinds import API_DEFINITIONS, GROUPS, NOTIFICATIONS
from controller.models.notification import NotificationSpec
from controller.reconcilers.framework.builder import Builder
from controller.reconcilers.framework.errors import ReconcileError
from controller.reconcilers.framework.referrers import ReferrerGroup
from controller.reconcilers.framework.runtime import (
    Attempt,
    Cleanup,
    KindLogic,
    Outcome,
    RuntimeDeps,
)
from controller.reconcilers.support.admission import enforce
from controller.reconcilers.support.groups import group_names, group_not_found
from controller.reconcilers.support.references import notification_group_refs


def setup(builder: Builder) -> None:
    (
        builder.reconciles(NOTIFICATIONS, finalizer=v.FINALIZER_NOTIFICATION,
                           processing_status=False)
        .references(GROUPS, refs=notification_group_refs)
        .deletion_waits_for_referrers()
        .admits(NotificationSpec)
        .complete(Notification)
    )


def still_used_message(holders: ReferrerGroup) -> str:
    """Upstream's wording, one message per API kind (the v2 one first)."""
    label = "APIs" if holders.kind == API_DEFINITIONS else "V4 APIs"
    names = " ".join(str(key) for key in sorted(holders.keys))
    return (
        f"notification is referenced by {label}: [{names}] and will remain until those are "
        "removed"
    )


class Notification(KindLogic):
    def __init__(self, deps: RuntimeDeps) -> None:
        self.deps = deps
        self.groups = deps.stores[GROUPS.plural]

    async def apply(self, attempt: Attempt) -> Outcome:
        enforce(attempt.spec, NotificationSpec, lambda _: [])
        console = attempt.spec.get("console") or {}
        _, missing = group_names(self.groups, console.get("groupRefs"), attempt.namespace)
        if not missing:
            return Outcome()
        # Upstream overwrites the condition per missing group (the last wins), with a double
        # space in this kind's message.
        unresolved = group_not_found(missing[-1], attempt.generation, spacing="  ")
        return Outcome(conditions=(unresolved,))

    async def cleanup(self, attempt: Attempt) -> Cleanup:
        holders = sorted(
            self.deps.referrers.of(NOTIFICATIONS, attempt.key),
            key=lambda group: group.kind != API_DEFINITIONS,
        )
        if holders:
            raise ReconcileError(still_used_message(holders[0]))
        return Cleanup()


