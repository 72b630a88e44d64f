"""What should be true, per kind: one module per kind, each with a ``setup(builder)``.

``KINDS`` is the list the operator runs; ``framework/`` is the runtime every kind runs in and
``support/`` holds what several kinds share. Adding a kind: docs/architecture.md.
"""

from controller.reconcilers import (
    apidefinition,
    apiresource,
    apiv4definition,
    application,
    dictionary,
    documentation,
    group,
    ingress,
    managementcontext,
    notification,
    portal,
    portallink,
    portallisting,
    sharedpolicygroup,
    subscription,
)
from controller.reconcilers.framework.builder import Setup

KINDS: tuple[Setup, ...] = (
    managementcontext.setup,
    apidefinition.setup,
    apiv4definition.setup,
    apiresource.setup,
    application.setup,
    group.setup,
    notification.setup,
    sharedpolicygroup.setup,
    subscription.setup,
    dictionary.setup,
    portal.setup,
    portallisting.setup,
    portallink.setup,
    documentation.setup,
    ingress.setup,
)

__all__ = ["KINDS"]
