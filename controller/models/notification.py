"""Notification: console notification settings that APIs refer to (spec and status).

Must never look up the groups it names.
"""

import attrs

from controller.models.base import Opt, prop
from controller.models.common import Condition, ObjectRef

API_EVENTS = (
    "APIKEY_EXPIRED", "APIKEY_RENEWED", "APIKEY_REVOKED", "SUBSCRIPTION_NEW",
    "SUBSCRIPTION_ACCEPTED", "SUBSCRIPTION_CLOSED", "SUBSCRIPTION_PAUSED", "SUBSCRIPTION_RESUMED",
    "SUBSCRIPTION_REJECTED", "SUBSCRIPTION_TRANSFERRED", "SUBSCRIPTION_FAILED",
    "NEW_SUPPORT_TICKET", "API_STARTED", "API_STOPPED", "API_UPDATED", "API_DEPLOYED",
    "NEW_RATING", "NEW_RATING_ANSWER", "MESSAGE", "ASK_FOR_REVIEW", "REVIEW_OK",
    "REQUEST_FOR_CHANGES", "API_DEPRECATED", "NEW_SPEC_GENERATED",
)  # fmt: skip


@attrs.frozen(kw_only=True)
class ConsoleSettings:
    """Who is notified in the console, on which API events."""

    api_events: Opt[list[str]] = prop(items_enum=API_EVENTS, doc="Notified API events.")
    group_refs: Opt[list[ObjectRef]] = prop(doc="Group objects notified.")
    groups: Opt[list[str]] = prop(doc="APIM group names notified.")


@attrs.frozen(kw_only=True)
class NotificationSpec:
    """Desired notification settings."""

    console: Opt[ConsoleSettings] = prop(default={}, doc="Console notification settings.")
    event_type: Opt[str] = prop(required=True, default="api", enum=("api",), doc="Event source.")
    target: Opt[str] = prop(required=True, default="console", enum=("console",), doc="Channel.")


@attrs.frozen(kw_only=True)
class NotificationStatus:
    """Observed state of the notification."""

    conditions: Opt[list[Condition]] = prop(required=True, default=[], doc="Latest observations.")
