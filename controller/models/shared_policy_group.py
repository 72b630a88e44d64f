"""SharedPolicyGroup: a reusable chain of policy steps for v4 flows (spec and status).

Must never talk to APIM.
"""

import attrs

from controller.models.base import Opt, Raw, prop
from controller.models.common import Condition, Errors, ObjectRef, conditions_prop


@attrs.frozen(kw_only=True)
class SharedPolicyGroupStep:
    """One policy of the group."""

    condition: Opt[str] = prop(doc="EL condition to run the step.")
    configuration: Opt[Raw] = prop(doc="Policy configuration.")
    description: Opt[str] = prop(doc="Step description.")
    enabled: Opt[bool] = prop(required=True, default=True, doc="Whether the step runs.")
    name: Opt[str] = prop(doc="Step name.")
    policy: Opt[str] = prop(doc="Policy plugin id.")


@attrs.frozen(kw_only=True)
class SharedPolicyGroupSpec:
    """Desired shared policy group."""

    api_type: str = prop(required=True, enum=("MESSAGE", "PROXY"), doc="API type it applies to.")
    context_ref: ObjectRef = prop(required=True, doc="ManagementContext it lives in.")
    cross_id: Opt[str] = prop(doc="Id shared by every environment.")
    description: Opt[str] = prop(doc="Description.")
    hrid: Opt[str] = prop(doc="Human readable id (filled by the operator).")
    name: str = prop(required=True, doc="Name.")
    phase: str = prop(
        required=True, enum=("REQUEST", "RESPONSE", "PUBLISH", "SUBSCRIBE"), doc="Flow phase."
    )
    prerequisite_message: Opt[str] = prop(doc="Shown when the group is used.")
    steps: Opt[list[SharedPolicyGroupStep]] = prop(doc="Policy steps.")


@attrs.frozen(kw_only=True)
class SharedPolicyGroupStatus:
    """Observed state of the group in APIM."""

    conditions: Opt[list[Condition]] = conditions_prop()
    cross_id: Opt[str] = prop(doc="Cross-environment id.")
    environment_id: Opt[str] = prop(doc="APIM environment.")
    errors: Opt[Errors] = prop(doc="APIM errors and warnings from the last push.")
    id: Opt[str] = prop(doc="APIM id.")
    organization_id: Opt[str] = prop(doc="APIM organization.")
    processing_status: Opt[str] = prop(doc="Outcome of the last reconcile (legacy).")
