"""The simulator's in-memory APIM database.

Owns the records (APIs, plans, pages, applications, subscriptions, groups, shared policy groups,
dictionaries), the known organizations/environments, users and categories, and the lookups the
handlers and tests need. Everything is keyed by ``(org, env, id)`` with resolved org/env ids.

It knows nothing of HTTP. Tests read it through :class:`SimulatorState`'s query methods; they
should not mutate records directly (use the HTTP API, or the ``add_*`` setup helpers that mirror
APIM's console-side setup calls).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

Key = tuple[str, str, str]

API_STATES = ("STARTED", "STOPPED")


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@attrs.define
class Environment:
    org: str
    id: str
    hrids: list[str]
    name: str


@attrs.define
class PlanRecord:
    org: str
    env: str
    id: str
    cross_id: str | None
    hrid: str | None
    api_id: str
    name: str
    status: str  # STAGING, PUBLISHED, DEPRECATED, CLOSED
    security_type: str | None
    spec: dict[str, Any]
    closed_at: datetime.datetime | None = None


@attrs.define
class PageRecord:
    org: str
    env: str
    id: str
    cross_id: str | None
    hrid: str | None
    api_id: str
    name: str | None
    spec: dict[str, Any]


@attrs.define
class ApiRecord:
    org: str
    env: str
    id: str
    cross_id: str
    hrid: str | None
    definition_version: str  # "V2" (import-crd) or "V4" (Automation API)
    name: str
    version: str | None
    state: str  # STARTED or STOPPED
    lifecycle_state: str | None
    visibility: str | None
    origin: str
    sync_from: str  # MANAGEMENT or KUBERNETES
    spec: dict[str, Any]  # the last accepted import body, without plans and pages
    created_at: datetime.datetime
    updated_at: datetime.datetime
    plan_ids: list[str] = attrs.field(factory=list)
    page_ids: list[str] = attrs.field(factory=list)
    deployed_at: datetime.datetime | None = None
    deployments: int = 0  # how many times an import deployed it
    imports: int = 0  # how many non-dry-run imports touched it
    errors: dict[str, list[str]] = attrs.field(factory=dict)  # from the last import

    @property
    def deployed(self) -> bool:
        return self.deployments > 0


@attrs.define
class ApplicationRecord:
    org: str
    env: str
    id: str
    hrid: str | None
    name: str
    status: str  # ACTIVE or ARCHIVED
    spec: dict[str, Any]
    created_at: datetime.datetime
    updated_at: datetime.datetime
    errors: dict[str, list[str]] = attrs.field(factory=dict)


@attrs.define
class ApiKeyRecord:
    key: str
    expire_at: str | None
    revoked: bool = False


@attrs.define
class SubscriptionRecord:
    org: str
    env: str
    id: str
    hrid: str | None
    api_id: str
    application_id: str
    plan_id: str
    status: str  # ACCEPTED or CLOSED
    spec: dict[str, Any]
    starting_at: datetime.datetime
    ending_at: str | None
    closed_at: datetime.datetime | None = None
    api_keys: list[ApiKeyRecord] = attrs.field(factory=list)


@attrs.define
class GroupRecord:
    org: str
    env: str
    id: str
    hrid: str | None
    name: str
    member_count: int
    spec: dict[str, Any]
    errors: dict[str, list[str]] = attrs.field(factory=dict)


@attrs.define
class SharedPolicyGroupRecord:
    org: str
    env: str
    id: str
    cross_id: str
    hrid: str | None
    name: str
    spec: dict[str, Any]
    errors: dict[str, list[str]] = attrs.field(factory=dict)


@attrs.define
class DictionaryRecord:
    org: str
    env: str
    id: str
    hrid: str
    spec: dict[str, Any]
    errors: dict[str, list[str]] = attrs.field(factory=dict)


@attrs.define
class PortalObjectRecord:
    """A next-gen portal object: a portal, or a listing / documentation / link under a portal,
    or a documentation page under an API (``parent_kind`` says which)."""

    kind: str  # "portal", "listing", "documentation", "link" or "api-documentation"
    org: str
    env: str
    id: str
    hrid: str
    parent_hrid: str | None
    spec: dict[str, Any]
    errors: dict[str, list[str]] = attrs.field(factory=dict)


class SimulatorState:
    """All stored objects, plus the environment/user/category catalogue used for validation."""

    def __init__(
        self, *, orgs_envs: Mapping[str, Iterable[str]], users: Iterable[str] = ("admin",)
    ) -> None:
        self.environments: dict[str, dict[str, Environment]] = {}
        for org, envs in orgs_envs.items():
            self.environments[org] = {
                env: Environment(org=org, id=env, hrids=[env.lower()], name=env) for env in envs
            }
        # Users known per organization, by user name / source id (members are checked against it).
        self.users: dict[str, set[str]] = {org: set(users) for org in self.environments}
        self.categories: dict[tuple[str, str], set[str]] = {}
        self.apis: dict[Key, ApiRecord] = {}
        self.api_ids_by_cross_id: dict[Key, str] = {}
        self.api_ids_by_hrid: dict[Key, str] = {}
        self.plans: dict[Key, PlanRecord] = {}
        self.pages: dict[Key, PageRecord] = {}
        self.applications: dict[Key, ApplicationRecord] = {}
        self.subscriptions: dict[Key, SubscriptionRecord] = {}
        self.groups: dict[Key, GroupRecord] = {}
        self.shared_policy_groups: dict[Key, SharedPolicyGroupRecord] = {}
        self.dictionaries: dict[Key, DictionaryRecord] = {}
        # Next-gen portal objects, keyed by (org, env, kind, id).
        self.portal_objects: dict[tuple[str, str, str, str], PortalObjectRecord] = {}

    # -- org / env -----------------------------------------------------------------------------

    def resolve_env(self, org: str, env: str) -> Environment | None:
        """The environment of ``org`` whose id or one of whose hrids is ``env``."""
        envs = self.environments.get(org)
        if envs is None:
            return None
        found = envs.get(env)
        if found is not None:
            return found
        for candidate in envs.values():
            if env in candidate.hrids:
                return candidate
        return None

    def org_of_env(self, env: str) -> str | None:
        """The organization owning ``env`` (v2 paths without an org segment); DEFAULT first."""
        orgs = sorted(self.environments, key=lambda o: (o != "DEFAULT", o))
        for org in orgs:
            if self.resolve_env(org, env) is not None:
                return org
        return None

    # -- setup helpers (APIM console-side objects GKO only reads) -------------------------------

    def add_category(self, name: str, *, org: str = "DEFAULT", env: str = "DEFAULT") -> None:
        self.categories.setdefault((org, env), set()).add(name)

    def add_user(self, source_id: str, *, org: str = "DEFAULT") -> None:
        self.users.setdefault(org, set()).add(source_id)

    def category_exists(self, org: str, env: str, name: str) -> bool:
        return name in self.categories.get((org, env), ())

    def user_exists(self, org: str, source_id: str) -> bool:
        return source_id in self.users.get(org, ())

    def group_exists(self, org: str, env: str, ref: str) -> bool:
        """A group referenced by name, hrid or id."""
        if (org, env, ref) in self.groups:
            return True
        return any(
            g.org == org and g.env == env and ref in (g.name, g.hrid) for g in self.groups.values()
        )

    # -- read access ---------------------------------------------------------------------------

    def api(self, api_id: str, *, org: str = "DEFAULT", env: str = "DEFAULT") -> ApiRecord | None:
        return self.apis.get((org, env, api_id))

    def api_by_hrid(
        self, hrid: str, *, org: str = "DEFAULT", env: str = "DEFAULT"
    ) -> ApiRecord | None:
        api_id = self.api_ids_by_hrid.get((org, env, hrid))
        return None if api_id is None else self.apis.get((org, env, api_id))

    def api_by_cross_id(
        self, cross_id: str, *, org: str = "DEFAULT", env: str = "DEFAULT"
    ) -> ApiRecord | None:
        api_id = self.api_ids_by_cross_id.get((org, env, cross_id))
        return None if api_id is None else self.apis.get((org, env, api_id))

    def apis_in(self, *, org: str = "DEFAULT", env: str = "DEFAULT") -> list[ApiRecord]:
        return [a for a in self.apis.values() if a.org == org and a.env == env]

    def plan(
        self, plan_id: str, *, org: str = "DEFAULT", env: str = "DEFAULT"
    ) -> PlanRecord | None:
        return self.plans.get((org, env, plan_id))

    def plans_of(self, api: ApiRecord) -> list[PlanRecord]:
        return [self.plans[(api.org, api.env, pid)] for pid in api.plan_ids]

    def pages_of(self, api: ApiRecord) -> list[PageRecord]:
        return [self.pages[(api.org, api.env, pid)] for pid in api.page_ids]

    def application(
        self, app_id: str, *, org: str = "DEFAULT", env: str = "DEFAULT"
    ) -> ApplicationRecord | None:
        return self.applications.get((org, env, app_id))

    def subscription(
        self, sub_id: str, *, org: str = "DEFAULT", env: str = "DEFAULT"
    ) -> SubscriptionRecord | None:
        return self.subscriptions.get((org, env, sub_id))

    def subscriptions_of_api(self, api_id: str, *, org: str, env: str) -> list[SubscriptionRecord]:
        return [
            s
            for s in self.subscriptions.values()
            if s.org == org and s.env == env and s.api_id == api_id
        ]

    def group(
        self, group_id: str, *, org: str = "DEFAULT", env: str = "DEFAULT"
    ) -> GroupRecord | None:
        return self.groups.get((org, env, group_id))

    def shared_policy_group(
        self, spg_id: str, *, org: str = "DEFAULT", env: str = "DEFAULT"
    ) -> SharedPolicyGroupRecord | None:
        return self.shared_policy_groups.get((org, env, spg_id))

    def dictionary(
        self, dict_id: str, *, org: str = "DEFAULT", env: str = "DEFAULT"
    ) -> DictionaryRecord | None:
        return self.dictionaries.get((org, env, dict_id))

    def portal_object(
        self, kind: str, object_id: str, *, org: str = "DEFAULT", env: str = "DEFAULT"
    ) -> PortalObjectRecord | None:
        return self.portal_objects.get((org, env, kind, object_id))

    def counts(self) -> dict[str, int]:
        return {
            "apis": len(self.apis),
            "plans": sum(1 for p in self.plans.values() if p.status != "CLOSED"),
            "pages": len(self.pages),
            "applications": sum(1 for a in self.applications.values() if a.status == "ACTIVE"),
            "subscriptions": sum(1 for s in self.subscriptions.values() if s.status != "CLOSED"),
            "groups": len(self.groups),
            "sharedPolicyGroups": len(self.shared_policy_groups),
            "dictionaries": len(self.dictionaries),
            "portalObjects": len(self.portal_objects),
        }

    # -- mutations used by the handlers --------------------------------------------------------

    def store_api(self, api: ApiRecord) -> None:
        key = (api.org, api.env, api.id)
        previous = self.apis.get(key)
        if previous is not None:
            self.api_ids_by_cross_id.pop((api.org, api.env, previous.cross_id), None)
            if previous.hrid:
                self.api_ids_by_hrid.pop((api.org, api.env, previous.hrid), None)
        self.apis[key] = api
        self.api_ids_by_cross_id[(api.org, api.env, api.cross_id)] = api.id
        if api.hrid:
            self.api_ids_by_hrid[(api.org, api.env, api.hrid)] = api.id

    def close_subscription(self, sub: SubscriptionRecord) -> None:
        if sub.status != "CLOSED":
            sub.status = "CLOSED"
            sub.closed_at = utcnow()
            for key in sub.api_keys:
                key.revoked = True

    def close_plan(self, plan: PlanRecord) -> None:
        """Close a plan and, first, its active subscriptions (APIM's order)."""
        for sub in self.subscriptions.values():
            if sub.plan_id == plan.id and sub.org == plan.org and sub.env == plan.env:
                self.close_subscription(sub)
        if plan.status != "CLOSED":
            plan.status = "CLOSED"
            plan.closed_at = utcnow()

    def delete_api(self, api: ApiRecord) -> None:
        """Remove an API after closing its plans (plan records are kept, CLOSED, for audits)."""
        for plan in self.plans_of(api):
            self.close_plan(plan)
        for page_id in api.page_ids:
            self.pages.pop((api.org, api.env, page_id), None)
        self.apis.pop((api.org, api.env, api.id), None)
        self.api_ids_by_cross_id.pop((api.org, api.env, api.cross_id), None)
        if api.hrid:
            self.api_ids_by_hrid.pop((api.org, api.env, api.hrid), None)
            # APIM cleans up the API's next-gen documentation pages with it.
            for key, obj in list(self.portal_objects.items()):
                if (
                    obj.kind == "api-documentation"
                    and obj.parent_hrid == api.hrid
                    and obj.org == api.org
                    and obj.env == api.env
                ):
                    del self.portal_objects[key]
