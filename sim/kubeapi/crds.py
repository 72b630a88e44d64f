"""CustomResourceDefinition handling: validating a CRD, turning it into served resource
types and computing the status kube-apiserver reports (Established, NamesAccepted).

Owns the translation from a CRD document to :class:`ResourceType` values. Must never store
objects or touch the registry itself: :mod:`sim.kubeapi.operations` registers the results.
"""

from __future__ import annotations

from typing import Any

from sim.kubeapi.errors import FieldError
from sim.kubeapi.resources import PrinterColumn, ResourceType

JsonObj = dict[str, Any]


def validate_crd(crd: JsonObj) -> list[FieldError]:
    errors: list[FieldError] = []
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return [FieldError("spec", "FieldValueRequired", "Required value")]
    group = spec.get("group")
    names = spec.get("names") or {}
    if not group:
        errors.append(FieldError("spec.group", "FieldValueRequired", "Required value"))
    for field in ("plural", "kind"):
        if not names.get(field):
            errors.append(FieldError(f"spec.names.{field}", "FieldValueRequired", "Required value"))
    scope = spec.get("scope")
    if scope not in ("Namespaced", "Cluster"):
        errors.append(
            FieldError(
                "spec.scope",
                "FieldValueNotSupported",
                f'Unsupported value: "{scope}": supported values: "Cluster", "Namespaced"',
            )
        )
    versions = spec.get("versions") or []
    if not versions:
        errors.append(FieldError("spec.versions", "FieldValueRequired", "Required value"))
    storage = [v for v in versions if v.get("storage")]
    if versions and len(storage) != 1:
        errors.append(
            FieldError(
                "spec.versions",
                "FieldValueInvalid",
                "Invalid value: must have exactly one version marked as storage version",
            )
        )
    name = crd.get("metadata", {}).get("name", "")
    if group and names.get("plural") and name != f"{names['plural']}.{group}":
        errors.append(
            FieldError(
                "metadata.name",
                "FieldValueInvalid",
                f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
            )
        )
    return errors


def _columns(version: JsonObj) -> tuple[PrinterColumn, ...]:
    columns = [
        PrinterColumn(
            name=c["name"],
            type=c.get("type", "string"),
            json_path=c["jsonPath"],
            description=c.get("description", ""),
            priority=int(c.get("priority", 0)),
            format=c.get("format", ""),
        )
        for c in version.get("additionalPrinterColumns") or []
    ]
    if not columns:
        # A CRD without printer columns shows its age, as kube-apiserver does.
        columns = [PrinterColumn(name="Age", type="date", json_path=".metadata.creationTimestamp")]
    return tuple(columns)


def resource_types(crd: JsonObj) -> list[ResourceType]:
    """Served versions of a (valid) CRD, storage version first."""
    spec = crd["spec"]
    names = spec["names"]
    served = [v for v in spec["versions"] if v.get("served", True)]
    served.sort(key=lambda v: not v.get("storage"))
    return [
        ResourceType(
            group=spec["group"],
            version=v["name"],
            plural=names["plural"],
            singular=names.get("singular") or names["kind"].lower(),
            kind=names["kind"],
            namespaced=spec["scope"] == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            tracks_generation=True,
            has_status="status" in (v.get("subresources") or {}),
            custom=True,
            printer_columns=_columns(v),
            schema=(v.get("schema") or {}).get("openAPIV3Schema"),
            allow_unconditional_update=False,
        )
        for v in served
    ]


def crd_status(crd: JsonObj, now: str) -> JsonObj:
    spec = crd["spec"]
    names = spec["names"]
    accepted = {"plural": names["plural"], "kind": names["kind"]}
    for field in ("singular", "shortNames", "listKind", "categories"):
        if names.get(field):
            accepted[field] = names[field]
    accepted.setdefault("singular", names["kind"].lower())
    accepted.setdefault("listKind", f"{names['kind']}List")
    previous = {c.get("type"): c for c in (crd.get("status") or {}).get("conditions") or []}

    def condition(ctype: str, reason: str, message: str) -> JsonObj:
        old = previous.get(ctype)
        since = old.get("lastTransitionTime", now) if old and old.get("status") == "True" else now
        return {
            "type": ctype,
            "status": "True",
            "reason": reason,
            "message": message,
            "lastTransitionTime": since,
        }

    return {
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition(
                "Established", "InitialNamesAccepted", "the initial names have been accepted"
            ),
        ],
        "acceptedNames": accepted,
        "storedVersions": [v["name"] for v in spec["versions"] if v.get("storage")],
    }
