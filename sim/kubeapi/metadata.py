"""Validation of user-settable object metadata: label keys and values, annotation keys and
size, finalizer names, as kube-apiserver validates them on every write.

Owns the naming rules and their messages. Must never change objects: it only reports
field errors for :mod:`sim.kubeapi.operations` to turn into 422 Invalid.
"""

from __future__ import annotations

import re
from typing import Any

from sim.kubeapi.errors import FieldError

JsonObj = dict[str, Any]

_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# Total bytes of keys plus values kube-apiserver accepts in one object's annotations.
ANNOTATIONS_LIMIT = 256 * 1024
_STANDARD_FINALIZERS = ("kubernetes", "orphan", "foregroundDeletion")
_NAME_RULE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character"
)
_VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character"
)


def _qualified_name_errors(value: str) -> list[str]:
    """kube's IsQualifiedName: ``[prefix/]name`` with a DNS-subdomain prefix."""
    parts = value.split("/")
    if len(parts) > 2:
        return [_NAME_RULE + " with an optional DNS subdomain prefix and '/'"]
    name = parts[-1]
    problems = []
    if not name:
        problems.append("name part must be non-empty")
    elif len(name.encode()) > 63:
        problems.append("name part must be no more than 63 bytes")
    elif not _NAME_PART.match(name):
        problems.append(_NAME_RULE)
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            problems.append("prefix part must be non-empty")
        elif len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix):
            problems.append(
                "prefix part a lowercase RFC 1123 subdomain must consist of lower "
                "case alphanumeric characters, '-' or '.'"
            )
    return problems


def validate(meta: JsonObj, *, custom: bool = False) -> list[FieldError]:
    """Field errors of the metadata. ``custom``: a custom resource, whose unqualified finalizer
    names are only warned about (:func:`finalizer_warnings`), where built-in kinds reject them."""
    errors: list[FieldError] = []
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict):
        return [
            FieldError("metadata.labels", "FieldValueTypeInvalid", "Invalid value: must be a map")
        ]
    for key, value in labels.items():
        for problem in _qualified_name_errors(str(key)):
            errors.append(
                FieldError(
                    "metadata.labels", "FieldValueInvalid", f'Invalid value: "{key}": {problem}'
                )
            )
        text = "" if value is None else str(value)
        # Kubernetes 1.36 counts and words the limit in bytes (validate/content.MaxLenError).
        if len(text.encode()) > 63:
            errors.append(
                FieldError(
                    "metadata.labels",
                    "FieldValueInvalid",
                    f'Invalid value: "{text}": must be no more than 63 bytes',
                )
            )
        elif not _LABEL_VALUE.match(text):
            errors.append(
                FieldError(
                    "metadata.labels",
                    "FieldValueInvalid",
                    f'Invalid value: "{text}": {_VALUE_RULE}',
                )
            )
    annotations = meta.get("annotations") or {}
    total = 0
    for key, value in annotations.items():
        total += len(str(key)) + len(str(value))
        for problem in _qualified_name_errors(str(key).lower()):
            errors.append(
                FieldError(
                    "metadata.annotations",
                    "FieldValueInvalid",
                    f'Invalid value: "{key}": {problem}',
                )
            )
    if total > ANNOTATIONS_LIMIT:
        errors.append(
            FieldError(
                "metadata.annotations",
                "FieldValueTooLong",
                f"Too long: must have at most {ANNOTATIONS_LIMIT} bytes",
            )
        )
    for index, finalizer in enumerate(meta.get("finalizers") or []):
        path = f"metadata.finalizers[{index}]"
        problems = _qualified_name_errors(str(finalizer))
        if problems:
            errors.extend(
                FieldError(path, "FieldValueInvalid", f'Invalid value: "{finalizer}": {p}')
                for p in problems
            )
        elif "/" not in str(finalizer) and finalizer not in _STANDARD_FINALIZERS and not custom:
            errors.append(
                FieldError(
                    path,
                    "FieldValueInvalid",
                    f'Invalid value: "{finalizer}": name is neither a standard '
                    f"finalizer name nor is it fully qualified",
                )
            )
    return errors


def finalizer_warnings(meta: JsonObj, old: JsonObj | None = None) -> tuple[str, ...]:
    """The warnings kube-apiserver gives for a custom resource's finalizer names that are
    neither standard nor domain-qualified (it accepts them, unlike built-in kinds): one per
    distinct name the write adds (all of them on create, ``old`` being the stored metadata),
    in sorted order."""
    added = set(map(str, meta.get("finalizers") or ()))
    if old is not None:
        added -= set(map(str, old.get("finalizers") or ()))
    warnings = []
    for name in sorted(added):
        if "/" in name or name in _STANDARD_FINALIZERS or _qualified_name_errors(name):
            continue
        detail = " including a path (/)" if "." in name else ""
        warnings.append(
            f'metadata.finalizers: "{name}": prefer a domain-qualified finalizer name{detail} '
            "to avoid accidental conflicts with other finalizer writers"
        )
    return tuple(warnings)
