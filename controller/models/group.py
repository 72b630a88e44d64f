"""Group: an APIM user group (spec and status).

Must never talk to APIM.
"""

import attrs

from controller.models.base import Opt, prop
from controller.models.common import Condition, Errors, ObjectRef, conditions_prop


@attrs.frozen(kw_only=True)
class GroupMember:
    """A user of the group and its roles per scope (API, APPLICATION, INTEGRATION)."""

    roles: Opt[dict[str, str]] = prop(default={}, doc="Role name by scope.")
    source: str = prop(required=True, doc="Identity provider of the user.")
    source_id: str = prop(required=True, doc="User id inside the identity provider.")


@attrs.frozen(kw_only=True)
class GroupSpec:
    """Desired APIM group."""

    context_ref: Opt[ObjectRef] = prop(doc="ManagementContext the group lives in.")
    hrid: Opt[str] = prop(doc="Human readable id (filled by the operator).")
    id: Opt[str] = prop(doc="APIM id.")
    members: list[GroupMember] = prop(required=True, doc="Members.")
    name: str = prop(required=True, doc="Group name.")
    notify_members: Opt[bool] = prop(default=True, doc="Notify members when added.")


@attrs.frozen(kw_only=True)
class GroupStatus:
    """Observed state of the group in APIM."""

    conditions: Opt[list[Condition]] = conditions_prop()
    environment_id: Opt[str] = prop(doc="APIM environment.")
    errors: Opt[Errors] = prop(doc="APIM errors and warnings from the last push.")
    id: Opt[str] = prop(doc="APIM id.")
    members: int = prop(required=True, doc="Number of members.")
    organization_id: Opt[str] = prop(doc="APIM organization.")
    processing_status: Opt[str] = prop(doc="Outcome of the last reconcile (legacy).")
