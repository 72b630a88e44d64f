"""The Automation API (``/automation/organizations/{org}/environments/{env}/...``): routes.

Owns which handler answers which Automation path; the handlers live in ``automation_apis``
(v4 APIs), ``automation_consumers`` (applications, subscriptions) and ``automation_catalog``
(groups, shared policy groups, dictionaries) and ``automation_portal`` (next-gen portal objects).
"""

from __future__ import annotations

from aiohttp import web

from sim.apim import automation_portal
from sim.apim.automation_apis import delete_api, get_api, put_api
from sim.apim.automation_catalog import (
    delete_dictionary,
    delete_group,
    delete_shared_policy_group,
    get_dictionary,
    get_group,
    get_shared_policy_group,
    put_dictionary,
    put_group,
    put_shared_policy_group,
)
from sim.apim.automation_common import AUTO
from sim.apim.automation_consumers import (
    delete_application,
    delete_subscription,
    get_application,
    get_subscription,
    put_application,
    put_subscription,
)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_put(AUTO + "/apis", put_api)
    r.add_get(AUTO + "/apis/{hrid}", get_api)
    r.add_delete(AUTO + "/apis/{hrid}", delete_api)
    r.add_put(AUTO + "/apis/{api}/subscriptions", put_subscription)
    r.add_get(AUTO + "/apis/{api}/subscriptions/{hrid}", get_subscription)
    r.add_delete(AUTO + "/apis/{api}/subscriptions/{hrid}", delete_subscription)
    r.add_put(AUTO + "/applications", put_application)
    r.add_get(AUTO + "/applications/{hrid}", get_application)
    r.add_delete(AUTO + "/applications/{hrid}", delete_application)
    r.add_put(AUTO + "/groups", put_group)
    r.add_get(AUTO + "/groups/{hrid}", get_group)
    r.add_delete(AUTO + "/groups/{hrid}", delete_group)
    r.add_put(AUTO + "/shared-policy-groups", put_shared_policy_group)
    r.add_get(AUTO + "/shared-policy-groups/{hrid}", get_shared_policy_group)
    r.add_delete(AUTO + "/shared-policy-groups/{hrid}", delete_shared_policy_group)
    r.add_put(AUTO + "/dictionaries", put_dictionary)
    r.add_get(AUTO + "/dictionaries/{hrid}", get_dictionary)
    r.add_delete(AUTO + "/dictionaries/{hrid}", delete_dictionary)
    automation_portal.add_routes(app, AUTO)
