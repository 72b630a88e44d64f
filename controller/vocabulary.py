"""Exact strings users, dashboards and gateways depend on: finalizers, annotations, labels,
event reasons, component names (docs/behavior/conditions-and-events.md,
docs/behavior/local-configmaps.md#layout).

Kept in one place so that a typo cannot split a contract between two modules.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

GROUP: Final = "gravitee.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"

# --- Finalizers ----------------------------------------------------------------------------
FINALIZER_CONTEXT: Final = "finalizers.gravitee.io/managementcontextdeletion"
FINALIZER_CONTEXT_SECRET: Final = "finalizers.gravitee.io/managementcontextSecret"
FINALIZER_API: Final = "finalizers.gravitee.io/apidefinitiondeletion"
FINALIZER_API_TEMPLATE: Final = "finalizers.gravitee.io/apidefinitiontemplate"
FINALIZER_API_RESOURCE: Final = "finalizers.gravitee.io/apiresource"
FINALIZER_APPLICATION: Final = "finalizers.gravitee.io/applicationdeletion"
FINALIZER_SUBSCRIPTION: Final = "finalizers.gravitee.io/subscriptions"
FINALIZER_GROUP: Final = "finalizers.gravitee.io/groups"
FINALIZER_SHARED_POLICY_GROUP: Final = "finalizers.gravitee.io/sharedpolicygroups"
FINALIZER_NOTIFICATION: Final = "finalizers.gravitee.io/notification"
FINALIZER_DICTIONARY: Final = "finalizers.gravitee.io/dictionaries"
FINALIZER_PORTAL: Final = "finalizers.gravitee.io/portals"
FINALIZER_PORTAL_LISTING: Final = "finalizers.gravitee.io/portallistings"
FINALIZER_PORTAL_LINK: Final = "finalizers.gravitee.io/portallinks"
FINALIZER_DOCUMENTATION: Final = "finalizers.gravitee.io/documentations"
FINALIZER_TEMPLATING: Final = "finalizers.gravitee.io/templating"
FINALIZER_INGRESS: Final = "finalizers.gravitee.io/ingress"
FINALIZER_KEYPAIR: Final = "finalizers.gravitee.io/keypair"

# --- Annotations ---------------------------------------------------------------------------
ANNOTATION_LAST_SPEC_HASH: Final = "gravitee.io/last-spec-hash"
ANNOTATION_LAST_SECRET_REF: Final = "gravitee.io/last-secret-ref"
# Ours (not upstream's): the context an API was last synced to, so that moving it to another
# context removes the copy it left in the previous one.
ANNOTATION_LAST_CONTEXT_REF: Final = "gravitee.io/last-context-ref"
# Ours: the context and the parent (portal or API) a portal listing, link or page was last
# synced under, so that pointing it at another parent removes the copy left under the first.
ANNOTATION_LAST_PARENT_REF: Final = "gravitee.io/last-parent-ref"
ANNOTATION_TEMPLATE: Final = "gravitee.io/template"
ANNOTATION_REFERENCES: Final = "gravitee.io/references"
# Ours: report / repair / off, overriding DRIFT_POLICY for one object (docs/behavior/drift.md).
ANNOTATION_DRIFT_POLICY: Final = "gravitee.io/drift-policy"
ANNOTATION_EXTENDS: Final = "gravitee.io/extends"
ANNOTATION_INGRESS_CLASS: Final = "kubernetes.io/ingress.class"
INGRESS_LABEL: Final = "gravitee.io/ingress"
"""Value of ``gravitee.io/extends`` and the description of an Ingress-generated API."""

# --- Labels and keys of the ConfigMaps a gateway loads ---------------------------------------
LABEL_MANAGED_BY: Final = "managed-by"
LABEL_MANAGED_BY_VALUE: Final = "gravitee.io"
LABEL_GIO_TYPE: Final = "gio-type"
# The same value for v2 and v4 APIs: it is what the gateway's Kubernetes sync selects on.
LABEL_GIO_TYPE_API: Final = "apidefinitions.gravitee.io"
CONFIGMAP_KEY_DEFINITION: Final = "definition"
CONFIGMAP_KEY_ORGANIZATION: Final = "organizationId"
CONFIGMAP_KEY_ENVIRONMENT: Final = "environmentId"
CONFIGMAP_KEY_DEFINITION_VERSION: Final = "apiDefinitionVersion"
DEFAULT_ORGANIZATION: Final = "DEFAULT"
DEFAULT_ENVIRONMENT: Final = "DEFAULT"

# --- Events --------------------------------------------------------------------------------
EVENT_UPDATE_STARTED: Final = ("Normal", "UpdateStarted", "Update started")
EVENT_UPDATE_SUCCEEDED: Final = ("Normal", "UpdateSucceeded", "Update succeeded")
EVENT_UPDATE_FAILED: Final = "UpdateFailed"  # Warning, message = error text
EVENT_DELETE_STARTED: Final = ("Normal", "DeleteStarted", "Delete started")
EVENT_DELETE_SUCCEEDED: Final = ("Normal", "DeleteSucceeded", "Delete succeeded")
EVENT_DELETE_FAILED: Final = "DeleteFailed"  # Warning, message = error text
# Ours: drift between APIM and the cluster (docs/behavior/drift.md), one Event per transition.
EVENT_DRIFT_DETECTED: Final = "DriftDetected"  # Warning, message = differing field paths
EVENT_DRIFT_REPAIRED: Final = "DriftRepaired"  # Normal, the cluster's version was pushed back
EVENT_DRIFT_RESOLVED: Final = "DriftResolved"  # Normal, APIM matches again without a repair

# Event-recorder component names, per controller.
COMPONENTS: Final = {
    "managementcontext": "managementcontext-controller",
    "apidefinition": "apidefinitionv2-controller",
    "apiv4definition": "apiv4definition-controller",
    "application": "application-controller",
    "apiresource": "apiresource-controller",
    "subscription": "subscription-controller",
    "group": "group-controller",
    "sharedpolicygroup": "sharedpolicygroups-controller",
    "notification": "notification-controller",
    "dictionary": "dictionary-controller",
    "portal": "portal-controller",
    "portallisting": "portallisting-controller",
    "portallink": "portallink-controller",
    "documentation": "documentation-controller",
    "ingress": "ingress-controller",
}

# --- Conditions (types; reasons and messages live with the runtime) -------------------------
CONDITION_ACCEPTED: Final = "Accepted"

PROCESSING_COMPLETED: Final = "Completed"
PROCESSING_FAILED: Final = "Failed"


def canonical_json(value: Any) -> str:
    """Sorted keys, no insignificant whitespace: equal documents give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def spec_hash(spec: Any) -> str:
    """``gravitee.io/last-spec-hash``: hex SHA-256 of the canonical JSON of a spec.

    Upstream hashes Go's serialisation, which cannot be reproduced byte for byte; one extra
    idempotent reconcile per object after a migration is accepted
    (docs/behavior/conditions-and-events.md#annotations).
    """
    return hashlib.sha256(canonical_json(spec).encode()).hexdigest()
