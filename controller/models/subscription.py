"""Subscription: an Application subscribed to a plan of an API (spec and status).

Must never resolve the API or the application.
"""

import attrs

from controller.models.base import Opt, Raw, prop
from controller.models.common import Condition, ObjectRef, conditions_prop


@attrs.frozen(kw_only=True)
class ApiKey:
    """An API key given to the subscription."""

    expire_at: Opt[str] = prop(format="date-time", doc="Expiry (RFC 3339).")
    key: str = prop(required=True, min_length=32, max_length=256, secret=True, doc="Key value.")


@attrs.frozen(kw_only=True)
class ConsumerConfiguration:
    """Where messages of a push plan are delivered."""

    channel: Opt[str] = prop(doc="Channel.")
    entrypoint_configuration: Opt[Raw] = prop(doc="Entrypoint configuration.")
    entrypoint_id: str = prop(required=True, doc="Entrypoint id, e.g. webhook.")


@attrs.frozen(kw_only=True)
class SubscriptionSpec:
    """Desired subscription."""

    api: ObjectRef = prop(required=True, doc="ApiDefinition or ApiV4Definition (default kind).")
    api_keys: Opt[list[ApiKey]] = prop(doc="API keys (API_KEY plans only).")
    application: ObjectRef = prop(required=True, doc="Subscribing Application.")
    consumer_configuration: Opt[ConsumerConfiguration] = prop(doc="Push plan delivery.")
    ending_at: Opt[str] = prop(format="date-time", doc="End of the subscription (RFC 3339).")
    metadata: Opt[dict[str, str]] = prop(doc="Subscription metadata.")
    plan: str = prop(required=True, doc="Plan key (v4) or plan name (v2).")


@attrs.frozen(kw_only=True)
class SubscriptionStatus:
    """Observed state of the subscription in APIM."""

    conditions: Opt[list[Condition]] = conditions_prop()
    ending_at: Opt[str] = prop(doc="End of the subscription.")
    id: Opt[str] = prop(doc="APIM id.")
    processing_status: Opt[str] = prop(doc="Outcome of the last reconcile (legacy).")
    started_at: Opt[str] = prop(doc="Start of the subscription.")
