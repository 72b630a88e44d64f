"""ApiResource: a resource (cache, OAuth2 server, ...) shared by several APIs (spec and status).

Must never inline itself into APIs (the API reconcilers do that).
"""

import attrs

from controller.models.base import Opt, Raw, prop
from controller.models.common import Condition


@attrs.frozen(kw_only=True)
class ApiResourceSpec:
    """A resource APIs can reference instead of declaring it inline."""

    configuration: Opt[Raw] = prop(doc="Resource configuration, specific to its type.")
    enabled: Opt[bool] = prop(default=True, doc="Whether the resource is active.")
    name: Opt[str] = prop(doc="Resource name, used by policies to find it.")
    type: Opt[str] = prop(doc="Resource plugin id, e.g. cache or oauth2-am-resource.")


@attrs.frozen(kw_only=True)
class ApiResourceStatus:
    """Observed state: conditions only (ours; upstream keeps no status, so a blocked deletion
    could only be explained by an Event)."""

    # No default: a field only we have must not change what the API server stores.
    conditions: Opt[list[Condition]] = prop(
        max_items=8,
        list_type="map",
        list_map_keys=("type",),
        doc="Latest observations: why a deletion waits, template problems.",
    )
