"""A kind whose reconciler has not landed yet: its objects say so instead of being ignored.

Temporary, and meant to be removed whole: ``not_reconciled_yet`` builds a ``setup`` whose logic
sends nothing anywhere and fails every object with ``Accepted=False``, reason ``NotReconciled``,
a message naming what is missing, and one Warning Event (docs/behavior/kinds.md). The kind's real
module replaces the entry in ``controller/reconcilers/__init__.py``.
"""

from __future__ import annotations

from typing import Final

from controller.kube.resources import ResourceKind
from controller.reconcilers.framework.builder import Builder, Setup
from controller.reconcilers.framework.errors import ReconcileError
from controller.reconcilers.framework.runtime import Attempt, KindLogic, Outcome, RuntimeDeps

REASON_NOT_RECONCILED: Final = "NotReconciled"


class NotReconciledError(ReconcileError):
    reason = REASON_NOT_RECONCILED

    @property
    def recoverable(self) -> bool:
        return False  # nothing changes until a newer operator runs

    @property
    def log_level(self) -> str:
        return "warning"


def not_reconciled_yet(name: str, kind: ResourceKind, *, finalizer: str) -> Setup:
    """The ``setup`` of controller ``name`` for ``kind``, whose objects are not reconciled."""
    message = (
        f"{kind.kind} objects are not reconciled by this version of the operator yet: nothing "
        "is sent to APIM. Create it in APIM directly for now; the object is reconciled once an "
        "operator version supporting it runs"
    )

    class NotReconciled(KindLogic):
        def __init__(self, deps: RuntimeDeps) -> None:
            self.deps = deps

        async def apply(self, attempt: Attempt) -> Outcome:
            raise NotReconciledError(message)

    def setup(builder: Builder) -> None:
        builder.reconciles(kind, finalizer=finalizer).complete(NotReconciled)

    setup.controller_name = name  # type: ignore[attr-defined]
    return setup
