"""What should be true, per kind: one module per kind, each with a ``setup(builder)``.

``KINDS`` is the list the operator runs; ``framework/`` is the runtime every kind runs in and
``support/`` holds what several kinds share. Adding a kind: docs/architecture.md.
"""

from controller import vocabulary as v
from controller.kube.kinds import SHARED_POLICY_GROUPS, SUBSCRIPTIONS
from controller.reconcilers import (
    apidefinition,
    apiresource,
    apiv4definition,
    application,
    managementcontext,
)
from controller.reconcilers.framework.builder import Setup
from controller.reconcilers.framework.unreconciled import not_reconciled_yet

KINDS: tuple[Setup, ...] = (
    managementcontext.setup,
    apidefinition.setup,
    apiv4definition.setup,
    apiresource.setup,
    application.setup,
    # Until their reconcilers land (issue 15): Accepted=False, "not reconciled yet".
    not_reconciled_yet("subscription", SUBSCRIPTIONS, finalizer=v.FINALIZER_SUBSCRIPTION),
    not_reconciled_yet(
        "sharedpolicygroup", SHARED_POLICY_GROUPS, finalizer=v.FINALIZER_SHARED_POLICY_GROUP
    ),
)

__all__ = ["KINDS"]
