"""Dictionary: an APIM dictionary of key/value pairs that gateway expressions read (spec and
status, docs/behavior/dictionary.md).

Must never talk to APIM.
"""

import attrs

from controller.models.base import Opt, prop
from controller.models.common import Condition, Errors, ObjectRef, conditions_prop

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT")
TIME_UNITS = ("MICROSECONDS", "MILLISECONDS", "SECONDS", "MINUTES", "HOURS", "DAYS")


@attrs.frozen(kw_only=True)
class DictionaryProviderHeader:
    """A header the operator's provider request carries."""

    name: str = prop(required=True, doc="Header name.")
    value: str = prop(required=True, doc="Header value.")


@attrs.frozen(kw_only=True)
class DictionaryProvider:
    """Where a DYNAMIC dictionary fetches its entries from."""

    body: Opt[str] = prop(doc="Payload of the provider request.")
    headers: Opt[list[DictionaryProviderHeader]] = prop(doc="Headers of the provider request.")
    method: str = prop(required=True, enum=HTTP_METHODS, doc="HTTP method of the request.")
    specification: str = prop(
        required=True, doc="JOLT transformation turning the response into entries."
    )
    type: str = prop(required=True, enum=("HTTP",), doc="Provider type.")
    url: str = prop(required=True, doc="Provider URL.")
    use_system_proxy: Opt[bool] = prop(doc="Go through the gateway's system proxy.")


@attrs.frozen(kw_only=True)
class DictionaryTrigger:
    """How often a DYNAMIC dictionary polls its provider."""

    rate: int = prop(required=True, format="int64", doc="Interval, in units.")
    unit: str = prop(required=True, enum=TIME_UNITS, doc="Unit of the interval.")


@attrs.frozen(kw_only=True)
class DynamicDictionary:
    """Entries fetched from a provider on a schedule (type DYNAMIC only)."""

    provider: DictionaryProvider = prop(required=True, doc="HTTP provider.")
    trigger: DictionaryTrigger = prop(required=True, doc="Polling schedule.")


@attrs.frozen(kw_only=True)
class ManualDictionary:
    """Entries written in the object (type MANUAL only)."""

    properties: dict[str, str] = prop(required=True, doc="The key/value entries.")


@attrs.frozen(kw_only=True)
class DictionarySpec:
    """Desired APIM dictionary."""

    context_ref: Opt[ObjectRef] = prop(doc="ManagementContext the dictionary lives in.")
    deployed: bool = prop(
        required=True,
        doc="MANUAL: deployed to the gateways; DYNAMIC: the provider is polled.",
    )
    description: Opt[str] = prop(doc="Description.")
    dynamic: Opt[DynamicDictionary] = prop(doc="Provider and schedule (DYNAMIC only).")
    manual: Opt[ManualDictionary] = prop(doc="Static entries (MANUAL only).")
    name: str = prop(required=True, doc="Display name.")
    type: str = prop(required=True, enum=("MANUAL", "DYNAMIC"), doc="How entries are filled.")


@attrs.frozen(kw_only=True)
class DictionaryStatus:
    """Observed state of the dictionary in APIM."""

    conditions: Opt[list[Condition]] = conditions_prop()
    environment_id: Opt[str] = prop(doc="APIM environment.")
    errors: Opt[Errors] = prop(doc="APIM errors and warnings from the last push.")
    id: Opt[str] = prop(doc="APIM id.")
    organization_id: Opt[str] = prop(doc="APIM organization.")
