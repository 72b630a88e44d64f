"""Drift: does APIM's copy of an object still say what the operator last sent?
(docs/behavior/drift.md).

Pure functions, no I/O: the periodic read-back (``framework/readback.py``) and, later, admission
call ``compare(kind, sent, remote)`` with the payload the operator sends for the object now and
the copy APIM answers, and get the paths of the fields that differ.

What counts is decided by ownership, per kind (``OWNERSHIP``, the table in
docs/behavior/drift.md#ownership-per-kind):

* the cluster owns exactly the fields it sends; a field APIM adds (ids, dates, counters,
  defaults it fills in, a console-only setting the operator never sends) is APIM's and never
  drift;
* of the fields sent, a few are APIM's anyway (``apim_owned``): ids APIM assigns or rewrites,
  write-only fields it never echoes, parts the read-back does not carry;
* "missing", ``null``, ``""`` and ``{}`` are the same value; an empty list sent says "none";
* lists of scalars are compared as sets (APIM may reorder tags, categories, methods...); lists of
  objects are matched by their identity field when every item sent has one (``hrid``, then
  ``crossId``, ``name``, ``sourceId``, ``apiHrid``), otherwise position by position (flows and
  steps, whose order matters);
* enum-like words are compared regardless of case (APIM upper-cases the enums it reads).

Paths name fields only (``plans[key-less].security.type``, ``flows[0].request[1]``), never
values: they may go into a condition or an Event, and the value may be a secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

IDENTITY_FIELDS: Final = ("hrid", "crossId", "name", "sourceId", "apiHrid")
"""Fields that identify an item of a list of objects, in order of preference."""

_ENUM: Final = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[_-][A-Za-z0-9]+)*")


@attrs.frozen
class Ownership:
    """Which of the fields the operator sends for one kind are APIM's all the same."""

    apim_owned: tuple[str, ...] = ()
    """Path patterns of sent fields that are never drift: ``[*]`` is any item of a list, ``*``
    anything."""
    summary: str = ""
    """One line for docs/behavior/drift.md: what the cluster owns."""
    _matcher: re.Pattern[str] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        patterns = [
            re.escape(p).replace(r"\[\*\]", r"\[[^\]]*\]").replace(r"\*", ".*")
            for p in self.apim_owned
        ]
        object.__setattr__(self, "_matcher", re.compile("|".join(patterns) or "(?!)"))

    def owns(self, path: str) -> bool:
        return self._matcher.fullmatch(path) is None


OWNERSHIP: Final[Mapping[str, Ownership]] = {
    "ApiV4Definition": Ownership(
        apim_owned=(
            "id", "crossId", "hrid", "contextRef", "notifyMembers",
            # Plan and page ids are APIM's; their hrid is the identity used to match them.
            "plans[*].id", "plans[*].crossId", "pages[*].id", "pages[*].crossId",
            "pages[*].parentId",
        ),
        summary="everything sent: listeners, endpoints, flows, plans (by hrid), pages, "
        "properties, resources, metadata, members, groups, state, lifecycle, visibility",
    ),
    "ApiDefinition": Ownership(
        apim_owned=(
            "id", "crossId", "contextRef", "local", "notifyMembers",
            "plans[*].id", "plans[*].api", "plans[*].crossId",
            # The v1 API entity read back does not carry pages (they have their own resource):
            # pages are not compared for v2 APIs.
            "pages", "pages.*",
            # The v1 entity answers ``definition_context`` from its own view of the API.
            "definition_context", "definition_context.*",
            "consoleNotificationConfiguration", "consoleNotificationConfiguration.*",
        ),
        summary="everything sent: proxy, flows, paths, plans (by crossId), pages, properties, "
        "resources, metadata, members, groups, state, lifecycle, visibility",
    ),
    "Application": Ownership(
        apim_owned=("id", "hrid", "contextRef", "origin"),
        summary="name, description, domain, picture, groups, settings (app type, OAuth client, "
        "TLS certificates), metadata, members, notifyMembers",
    ),
    "Group": Ownership(
        apim_owned=("id", "hrid", "contextRef"),
        summary="name, members and their roles, notifyMembers",
    ),
    "SharedPolicyGroup": Ownership(
        apim_owned=("id", "hrid", "crossId", "contextRef"),
        summary="name, description, prerequisite message, apiType, phase, steps",
    ),
    "Subscription": Ownership(
        # apiHrid is in the URL; apiKeys are write-only (APIM never echoes a key); status and
        # startingAt are APIM's (the operator sends them empty).
        apim_owned=("id", "hrid", "apiHrid", "apiKeys*", "status", "startingAt"),
        summary="application, plan, endingAt, metadata, consumerConfiguration",
    ),
    "Portal": Ownership(
        apim_owned=("id", "hrid"),
        summary="everything sent (the spec without its contextRef)",
    ),
    "PortalListing": Ownership(
        apim_owned=("id", "hrid", "portalHrid"),
        summary="the APIs listed (matched by apiHrid), their location and order",
    ),
    "PortalLink": Ownership(
        apim_owned=("id", "hrid", "portalHrid"),
        summary="name, href, location, order",
    ),
    "Documentation": Ownership(
        apim_owned=("id", "hrid", "portalHrid", "apiHrid"),
        summary="name, type, content, location, order, area",
    ),
    "Dictionary": Ownership(
        apim_owned=("id", "hrid", "contextRef"),
        summary="name, description, type, properties (manual) or provider and trigger "
        "(dynamic), deployed",
    ),
}

DEFAULT_OWNERSHIP: Final = Ownership(apim_owned=("id", "hrid", "crossId", "contextRef"))


def compare(kind: str, sent: Mapping[str, Any], remote: Mapping[str, Any] | None) -> list[str]:
    """The paths of the fields of ``sent`` that APIM's copy ``remote`` does not hold (sorted).

    ``remote`` None means APIM no longer has the object: the answer is ``["<deleted>"]``.
    """
    if remote is None:
        return [DELETED]
    ownership = OWNERSHIP.get(kind, DEFAULT_OWNERSHIP)
    out: list[str] = []
    _compare(sent, remote, "", ownership, out)
    return sorted(set(out))


DELETED: Final = "<deleted>"
"""The one "path" of an object APIM no longer has."""


def summarize(paths: Sequence[str], *, limit: int = 8) -> str:
    """A short, value-free description of ``paths`` for a condition or an Event."""
    if list(paths) == [DELETED]:
        return "the object was deleted in APIM"
    shown = ", ".join(paths[:limit])
    more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
    noun = "field differs" if len(paths) == 1 else "fields differ"
    return f"{len(paths)} {noun} in APIM: {shown}{more}"


# -- the walk ------------------------------------------------------------------------------------


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _join(path: str, field: str) -> str:
    return f"{path}.{field}" if path else field


def _compare(sent: Any, remote: Any, path: str, ownership: Ownership, out: list[str]) -> None:
    if path and not ownership.owns(path):
        return
    if _empty(sent):
        # An empty list sent says "none" (no tags, no groups): APIM holding some is drift. A
        # null, "" or {} says nothing APIM may not fill in (defaults of a configuration map).
        if isinstance(sent, list) and not _empty(remote):
            out.append(path)
        return
    if isinstance(sent, Mapping):
        if not isinstance(remote, Mapping):
            out.append(path)
            return
        for field, value in sent.items():
            _compare(value, remote.get(field), _join(path, str(field)), ownership, out)
        return
    if isinstance(sent, list):
        if not isinstance(remote, list):
            out.append(path)
            return
        _compare_lists(sent, remote, path, ownership, out)
        return
    if not _same_scalar(sent, remote):
        out.append(path)


def _same_scalar(sent: Any, remote: Any) -> bool:
    if sent == remote and type(sent) is type(remote):
        return True
    if isinstance(sent, bool) or isinstance(remote, bool):
        return sent == remote and isinstance(sent, bool) and isinstance(remote, bool)
    if isinstance(sent, (int, float)) and isinstance(remote, (int, float)):
        return float(sent) == float(remote)
    if isinstance(sent, str) and isinstance(remote, str):
        return _ENUM.fullmatch(sent) is not None and sent.upper() == remote.upper()
    return False


def _identity(items: Iterable[Any]) -> str | None:
    """The field every item of ``items`` carries and that tells them apart, if any."""
    objects = list(items)
    if not objects or not all(isinstance(item, Mapping) for item in objects):
        return None
    for field in IDENTITY_FIELDS:
        values = [item.get(field) for item in objects]
        if all(isinstance(value, str) and value for value in values) and len(set(values)) == len(
            values
        ):
            return field
    return None


def _compare_lists(
    sent: list[Any], remote: list[Any], path: str, ownership: Ownership, out: list[str]
) -> None:
    if all(not isinstance(item, (Mapping, list)) for item in sent):
        if all(not isinstance(item, (Mapping, list)) for item in remote):
            if sorted(map(_scalar_key, sent)) != sorted(map(_scalar_key, remote)):
                out.append(path)
            return
        out.append(path)
        return
    identity = _identity(sent)
    if identity is not None:
        by_identity = {
            item.get(identity): item for item in remote if isinstance(item, Mapping)
        }
        for item in sent:
            name = item[identity]
            _compare(item, by_identity.get(name), f"{path}[{name}]", ownership, out)
        return
    if len(sent) != len([item for item in remote if not _empty(item)]):
        out.append(path)
        return
    for index, (mine, theirs) in enumerate(zip(sent, remote, strict=False)):
        _compare(mine, theirs, f"{path}[{index}]", ownership, out)


def _scalar_key(value: Any) -> tuple[str, str]:
    if isinstance(value, str) and _ENUM.fullmatch(value):
        return ("enum", value.upper())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return ("number", repr(float(value)))
    return (type(value).__name__, repr(value))
