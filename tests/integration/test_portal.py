"""Portal, PortalListing, PortalLink and Documentation end to end: upserts under their parents
by HRID, edits, deletes, the delete guards of a Portal and of a listed or documented v4 API,
propagation of a parent's changes, and parents that appear later (docs/behavior/portal.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from controller.kube.kinds import (
    API_V4_DEFINITIONS,
    DOCUMENTATIONS,
    MANAGEMENT_CONTEXTS,
    PORTAL_LINKS,
    PORTAL_LISTINGS,
    PORTALS,
)
from controller.kube.resources import ResourceKind
from controller.kube.rest import KubeApiError
from sim.apim.testing import RunningSimulator, start_simulator
from sim.kubeapi.testing import RunningEmulator
from tests.integration.context_app_helpers import condition
from tests.integration.harness import Env, context, missing_ref, operator_env, v4_api, wait_for

AUTO = "/automation/organizations/DEFAULT/environments/DEFAULT"
PORTAL_HRID = "team-dev-portal"
TOP_NAVBAR = [
    {"path": "/projects/alpha", "displayName": "Alpha"},
    {"path": "/projects/alpha/docs"},
    {"path": "/projects/beta"},
]


@pytest.fixture
async def two_envs() -> AsyncIterator[RunningSimulator]:
    sim = await start_simulator(orgs_envs={"DEFAULT": ["DEFAULT", "OTHER"]})
    try:
        yield sim
    finally:
        await sim.close()


def _object(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    spec = {k: value for k, value in spec.items() if value is not None}  # None: leave it out
    return {
        "apiVersion": "gravitee.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }


def portal(name: str = "dev-portal", *, context_ref: str = "apim", **spec: Any) -> dict[str, Any]:
    body = {"contextRef": {"name": context_ref}, "name": "Developer portal",
            "structure": {"topNavbar": TOP_NAVBAR}}
    return _object("Portal", name, {**body, **spec})


def listing(name: str, *apis: str, portal_ref: str = "dev-portal",
            location: str = "/projects/alpha") -> dict[str, Any]:
    entries = [{"ref": {"name": api}, "location": location, "order": i + 1}
               for i, api in enumerate(apis)]
    return _object("PortalListing", name, {"portalRef": {"name": portal_ref}, "apis": entries})


def link(name: str, *, portal_ref: str = "dev-portal", **spec: Any) -> dict[str, Any]:
    body = {"portalRef": {"name": portal_ref}, "name": "External docs",
            "href": "https://docs.example.com", "location": "/projects/alpha", "order": 2}
    return _object("PortalLink", name, {**body, **spec})


def page(name: str, **spec: Any) -> dict[str, Any]:
    body = {"name": "Getting started", "type": "GRAVITEE_MARKDOWN", "content": "# Hello"}
    return _object("Documentation", name, {**body, **spec})


def puts(env: Env, path: str, *, since: int = 0) -> list[Any]:
    return [r for r in env.apim.requests.find(method="PUT", since=since) if r.path == AUTO + path]


def records(env: Env, kind: str) -> list[Any]:
    return [r for r in env.apim.state.portal_objects.values() if r.kind == kind]


async def accepted_at_generation(env: Env, kind: ResourceKind, name: str) -> dict[str, Any]:
    """The object once ``Accepted=True`` was observed at its current generation."""

    async def probe() -> dict[str, Any] | None:
        obj = await env.get(kind, name)
        found = condition(obj, "Accepted") if obj else None
        generation = obj["metadata"]["generation"] if obj else None
        ok = found and found["status"] == "True" and found.get("observedGeneration") == generation
        return obj if ok else None

    result: dict[str, Any] = await wait_for(probe, what=f"{kind.kind} {name} Accepted")
    return result


async def with_portal(env: Env, **spec: Any) -> dict[str, Any]:
    await env.create(context("apim", env.apim))
    await env.create(portal(**spec))
    await env.wait_condition(PORTALS, "dev-portal")
    obj: dict[str, Any] = await env.get(PORTALS, "dev-portal")
    return obj


async def with_api(env: Env, name: str, **spec: Any) -> None:
    await env.create(v4_api(name, **spec))
    await env.wait_condition(API_V4_DEFINITIONS, name)


# -- Portal ---------------------------------------------------------------------------------


async def test_portal_is_upserted_by_hrid_with_its_top_navbar(env: Env):
    live = await with_portal(env)
    [put] = puts(env, "/portals")
    assert put.query == {"dryRun": "false"}
    assert put.body == {"hrid": PORTAL_HRID, "name": "Developer portal",
                        "structure": {"topNavbar": TOP_NAVBAR}}
    status = live["status"]
    assert (status["organizationId"], status["environmentId"]) == ("DEFAULT", "DEFAULT")
    assert "processingStatus" not in status
    assert (condition(live, "AutomationAPIManaged") or {}).get("status") == "True"
    assert "finalizers.gravitee.io/portals" in live["metadata"]["finalizers"]
    [record] = records(env, "portal")
    assert (record.id, record.hrid) == (status["id"], PORTAL_HRID)
    assert record.spec["structure"]["topNavbar"] == TOP_NAVBAR  # list order kept
    assert {e["source"]["component"] for e in await env.events("dev-portal")} == {
        "portal-controller"
    }


async def test_a_rename_is_upserted_under_the_same_hrid(env: Env):
    first = await with_portal(env)
    await env.patch(PORTALS, "dev-portal", {"spec": {"name": "Renamed portal"}})
    live = await accepted_at_generation(env, PORTALS, "dev-portal")
    assert live["status"]["id"] == first["status"]["id"]
    [record] = records(env, "portal")
    assert record.spec["name"] == "Renamed portal"


async def test_the_deprecated_navigation_works_with_a_warning(env: Env):
    navigation = [{"path": "/projects/alpha", "displayName": "Alpha", "order": 1},
                  {"path": "/archive/2024"}]
    await with_portal(env, structure=None, navigation=navigation)
    [record] = records(env, "portal")
    assert record.spec["navigation"] == navigation

    async def warned() -> list[dict[str, Any]] | None:
        found = [e for e in await env.events("dev-portal") if e["type"] == "Warning"
                 and "spec.navigation is deprecated" in e.get("message", "")]
        return found or None

    await wait_for(warned, what="a Warning Event about the deprecated navigation")


async def test_navigation_and_structure_together_are_refused_before_apim(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(portal(navigation=[{"path": "/a"}]))
    failed = await env.wait_message(
        PORTALS, "dev-portal", "Accepted",
        "navigation and structure cannot be used at the same time",
    )
    assert (failed["status"], failed["reason"]) == ("False", "IllegalStateError")
    assert puts(env, "/portals") == []


async def test_a_portal_without_context_is_refused(env: Env):
    obj = portal()
    del obj["spec"]["contextRef"]
    await env.create(obj)
    failed = await env.wait_message(
        PORTALS, "dev-portal", "Accepted", "a context is required to reconcile a portal"
    )
    assert failed["status"] == "False"
    assert env.apim.requests.find(method="PUT") == []


# -- PortalListing --------------------------------------------------------------------------


async def test_listing_create_update_and_delete(env: Env):
    await with_portal(env)
    await with_api(env, "pets")
    await with_api(env, "stores")
    await env.create(listing("catalog", "stores", "pets"))
    live = await accepted_at_generation(env, PORTAL_LISTINGS, "catalog")
    [put] = puts(env, f"/portals/{PORTAL_HRID}/listings")
    assert put.body == {"hrid": "team-catalog", "apis": [
        {"apiHrid": "team-stores", "location": "/projects/alpha", "order": 1},
        {"apiHrid": "team-pets", "location": "/projects/alpha", "order": 2},
    ]}
    assert (condition(live, "AutomationAPIManaged") or {}).get("status") == "True"
    [record] = records(env, "listing")
    assert (record.id, record.parent_hrid) == (live["status"]["id"], PORTAL_HRID)

    mark = env.apim.requests.mark()
    moved = listing("catalog", "stores", "pets", location="/projects/beta")
    await env.patch(PORTAL_LISTINGS, "catalog", {"spec": moved["spec"]})
    await accepted_at_generation(env, PORTAL_LISTINGS, "catalog")
    assert puts(env, f"/portals/{PORTAL_HRID}/listings", since=mark)
    [record] = records(env, "listing")
    assert [a["location"] for a in record.spec["apis"]] == ["/projects/beta"] * 2

    mark = env.apim.requests.mark()
    await env.delete(PORTAL_LISTINGS, "catalog")
    await env.wait_gone(PORTAL_LISTINGS, "catalog")
    [delete] = env.apim.requests.find(method="DELETE", since=mark)
    assert delete.path == f"{AUTO}/portals/{PORTAL_HRID}/listings/team-catalog"
    assert records(env, "listing") == []


async def test_a_listing_waits_for_its_portal_and_api_to_appear(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(listing("early", "late-api"))
    await env.wait_message(
        PORTAL_LISTINGS, "early", "Accepted",
        missing_ref("portal listing [early] references portal [team/dev-portal] that can't be "
                    "resolved"),
    )
    await env.create(portal())
    await env.wait_message(
        PORTAL_LISTINGS, "early", "Accepted",
        missing_ref("portal listing [early] references API [team/late-api] that can't be "
                    "resolved"),
    )
    assert puts(env, f"/portals/{PORTAL_HRID}/listings") == []
    await env.create(v4_api("late-api"))
    await env.wait_condition(PORTAL_LISTINGS, "early", timeout=15)
    [record] = records(env, "listing")
    assert record.spec["apis"][0]["apiHrid"] == "team-late-api"


async def test_a_listed_api_moving_to_another_context_is_noticed_by_the_listing(env: Env):
    await with_portal(env)
    await env.create(context("elsewhere", env.apim))
    await with_api(env, "pets")
    await env.create(listing("catalog", "pets"))
    await env.wait_condition(PORTAL_LISTINGS, "catalog")

    await env.patch(API_V4_DEFINITIONS, "pets", {"spec": {"contextRef": {"name": "elsewhere"}}})
    refused = await env.wait_message(
        PORTAL_LISTINGS, "catalog", "Accepted",
        "API [pets] belongs to context [team/elsewhere], not to the portal's context "
        "[team/apim]",
    )
    assert refused["reason"] == "IllegalStateError"
    await env.patch(API_V4_DEFINITIONS, "pets", {"spec": {"contextRef": {"name": "apim"}}})
    await env.wait_condition(PORTAL_LISTINGS, "catalog", timeout=15)


async def test_a_listing_of_a_v2_api_is_refused(env: Env):
    await with_portal(env)
    obj = listing("old", "legacy")
    obj["spec"]["apis"][0]["ref"]["kind"] = "ApiDefinition"
    await env.create(obj)
    failed = await env.wait_message(
        PORTAL_LISTINGS, "old", "Accepted",
        "portal listing [old] references API [team/legacy] which is not a v4 API (only "
        "ApiV4Definition can be used)",
    )
    assert failed["reason"] == "IllegalStateError"


async def test_a_link_on_a_portal_without_context_says_so(env: Env):
    obj = portal()
    del obj["spec"]["contextRef"]
    await env.create(obj)
    await env.create(link("docs"))
    failed = await env.wait_message(
        PORTAL_LINKS, "docs", "Accepted",
        "referenced portal [team/dev-portal] has no management context (spec.contextRef)",
    )
    assert failed["reason"] == "IllegalStateError"
    assert env.apim.requests.find(method="PUT") == []


# -- PortalLink -----------------------------------------------------------------------------


async def test_link_create_update_and_delete(env: Env):
    await with_portal(env)
    await env.create(link("docs"))
    live = await accepted_at_generation(env, PORTAL_LINKS, "docs")
    [put] = puts(env, f"/portals/{PORTAL_HRID}/links")
    assert put.body == {"hrid": "team-docs", "name": "External docs",
                        "href": "https://docs.example.com", "location": "/projects/alpha",
                        "order": 2}
    [record] = records(env, "link")
    assert record.id == live["status"]["id"]

    await env.patch(PORTAL_LINKS, "docs", {"spec": {"location": "/projects/beta"}})
    await accepted_at_generation(env, PORTAL_LINKS, "docs")
    [record] = records(env, "link")
    assert record.spec["location"] == "/projects/beta"

    await env.delete(PORTAL_LINKS, "docs")
    await env.wait_gone(PORTAL_LINKS, "docs")
    assert records(env, "link") == []


# -- Documentation --------------------------------------------------------------------------


async def test_portal_pages_top_navbar_and_homepage_then_update_and_delete(env: Env):
    await with_portal(env)
    await env.create(page("guide", portalRef={"name": "dev-portal"}, location="/projects/alpha",
                          order=1, area="TOP_NAVBAR"))
    await env.create(page("home", portalRef={"name": "dev-portal"}, area="HOMEPAGE"))
    await env.wait_condition(DOCUMENTATIONS, "guide")
    await env.wait_condition(DOCUMENTATIONS, "home")
    bodies = {p.body["hrid"]: p.body for p in puts(env, f"/portals/{PORTAL_HRID}/documentations")}
    assert bodies["team-guide"] == {"hrid": "team-guide", "name": "Getting started",
                                    "type": "GRAVITEE_MARKDOWN", "content": "# Hello",
                                    "location": "/projects/alpha", "order": 1,
                                    "area": "TOP_NAVBAR"}
    assert bodies["team-home"]["area"] == "HOMEPAGE"
    assert "location" not in bodies["team-home"]
    assert sorted(r.hrid for r in records(env, "documentation")) == ["team-guide", "team-home"]

    await env.patch(DOCUMENTATIONS, "guide", {"spec": {"location": "/projects/beta",
                                                       "content": "# Hello again"}})
    await accepted_at_generation(env, DOCUMENTATIONS, "guide")
    [guide] = [r for r in records(env, "documentation") if r.hrid == "team-guide"]
    assert (guide.spec["location"], guide.spec["content"]) == ("/projects/beta", "# Hello again")

    for name in ("guide", "home"):
        await env.delete(DOCUMENTATIONS, name)
        await env.wait_gone(DOCUMENTATIONS, name)
    assert records(env, "documentation") == []


async def test_an_api_page_lives_under_the_api_and_waits_for_it(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(page("openapi", type="OPENAPI", content="openapi: 3.0.0",
                          apiRef={"name": "pets"}, location="/docs"))
    await env.wait_message(
        DOCUMENTATIONS, "openapi", "Accepted",
        missing_ref("documentation [openapi] references API [team/pets] that can't be resolved"),
    )
    await env.create(v4_api("pets"))
    live = await env.wait_condition(DOCUMENTATIONS, "openapi", timeout=15)
    assert live["status"] == "True"
    [put] = puts(env, "/apis/team-pets/documentations")
    assert put.body["type"] == "OPENAPI"
    [record] = records(env, "api-documentation")
    assert (record.hrid, record.parent_hrid) == ("team-openapi", "team-pets")

    await env.delete(DOCUMENTATIONS, "openapi")
    await env.wait_gone(DOCUMENTATIONS, "openapi")
    assert env.apim.requests.find(
        method="DELETE", path=f"{AUTO}/apis/team-pets/documentations/team-openapi"
    )
    assert records(env, "api-documentation") == []


@pytest.mark.parametrize("refs", [{}, {"portalRef": {"name": "p"}, "apiRef": {"name": "a"}}],
                         ids=["neither", "both"])
async def test_a_page_needs_exactly_one_parent_in_the_schema(env: Env, refs: dict[str, Any]):
    with pytest.raises(KubeApiError) as refused:
        await env.create(page("orphan", **refs))
    assert refused.value.status == 422


async def test_an_unknown_area_is_refused_by_the_schema(env: Env):
    with pytest.raises(KubeApiError) as refused:
        await env.create(page("odd", portalRef={"name": "dev-portal"}, area="SIDEBAR"))
    assert refused.value.status == 422


# -- delete guards --------------------------------------------------------------------------


async def test_a_portal_waits_for_what_is_placed_on_it_and_names_them(env: Env):
    await with_portal(env)
    await with_api(env, "pets")
    await env.create(listing("catalog", "pets"))
    await env.create(link("docs"))
    await env.create(page("guide", portalRef={"name": "dev-portal"}))
    for kind, name in ((PORTAL_LISTINGS, "catalog"), (PORTAL_LINKS, "docs"),
                       (DOCUMENTATIONS, "guide")):
        await env.wait_condition(kind, name)

    await env.delete(PORTALS, "dev-portal")
    blocked = await env.wait_message(
        PORTALS, "dev-portal", "Accepted",
        "[dev-portal] cannot be deleted because 3 portal objects are relying on this portal: "
        "PortalListing team/catalog, PortalLink team/docs, Documentation team/guide. Delete "
        "them, or remove this portal from them, first",
    )
    assert blocked["status"] == "False"
    assert len(records(env, "portal")) == 1
    assert "DeleteFailed" in await env.event_reasons("dev-portal")

    for kind, name in ((PORTAL_LISTINGS, "catalog"), (PORTAL_LINKS, "docs"),
                       (DOCUMENTATIONS, "guide")):
        await env.delete(kind, name)
    await env.wait_gone(PORTALS, "dev-portal", timeout=15)
    assert env.apim.state.portal_objects == {}


async def test_a_listed_and_documented_api_waits_for_them(env: Env):
    await with_portal(env)
    await with_api(env, "pets")
    await env.create(listing("catalog", "pets"))
    await env.create(page("pets-doc", apiRef={"name": "pets"}))
    await env.wait_condition(PORTAL_LISTINGS, "catalog")
    await env.wait_condition(DOCUMENTATIONS, "pets-doc")

    await env.delete(API_V4_DEFINITIONS, "pets")
    await env.wait_message(
        API_V4_DEFINITIONS, "pets", "Accepted",
        "[pets] cannot be deleted because 2 portal objects are relying on this API: "
        "PortalListing team/catalog, Documentation team/pets-doc. Delete them, or remove this "
        "API from them, first",
    )
    assert env.apim.state.api_by_hrid("team-pets") is not None

    await env.delete(DOCUMENTATIONS, "pets-doc")
    await env.wait_message(
        API_V4_DEFINITIONS, "pets", "Accepted",
        "[pets] cannot be deleted because 1 portal listings are relying on this API: "
        "PortalListing team/catalog. Delete them, or remove this API from them, first",
    )
    # Dropping the API from the listing (rather than deleting it) releases the API too.
    await with_api(env, "stores")
    await env.patch(PORTAL_LISTINGS, "catalog", {"spec": listing("catalog", "stores")["spec"]})
    await env.wait_gone(API_V4_DEFINITIONS, "pets", timeout=15)
    assert env.apim.state.api_by_hrid("team-pets") is None
    [record] = records(env, "listing")
    assert [a["apiHrid"] for a in record.spec["apis"]] == ["team-stores"]


async def test_a_context_waits_for_its_portal(env: Env):
    await with_portal(env)
    await env.delete(MANAGEMENT_CONTEXTS, "apim")

    async def blocked() -> str | None:
        found = await env.condition(MANAGEMENT_CONTEXTS, "apim")
        text = str((found or {}).get("message", ""))
        return text if "Portal team/dev-portal" in text else None

    await wait_for(blocked, what="the context's deletion blocked by the portal")
    await env.delete(PORTALS, "dev-portal")
    await env.wait_gone(MANAGEMENT_CONTEXTS, "apim", timeout=15)
    assert env.apim.state.portal_objects == {}


# -- moving to another parent ---------------------------------------------------------------


async def test_a_listing_pointed_at_another_portal_leaves_the_first_one(env: Env):
    await with_portal(env)
    await env.create(portal("other-portal"))
    await env.wait_condition(PORTALS, "other-portal")
    await with_api(env, "pets")
    await env.create(listing("catalog", "pets"))
    await env.wait_condition(PORTAL_LISTINGS, "catalog")
    [first] = records(env, "listing")
    assert first.parent_hrid == PORTAL_HRID

    await env.patch(PORTAL_LISTINGS, "catalog", {"spec": {"portalRef": {"name": "other-portal"}}})
    live = await accepted_at_generation(env, PORTAL_LISTINGS, "catalog")
    [moved] = records(env, "listing")
    assert moved.parent_hrid == "team-other-portal"
    assert live["metadata"]["annotations"]["gravitee.io/last-parent-ref"] == (
        "team/apim portals/team-other-portal/listings"
    )
    # The first portal no longer holds it, so it can go at once.
    await env.delete(PORTALS, "dev-portal")
    await env.wait_gone(PORTALS, "dev-portal")


async def test_a_page_moved_from_its_portal_to_an_api_leaves_the_portal(env: Env):
    await with_portal(env)
    await with_api(env, "pets")
    await env.create(page("guide", portalRef={"name": "dev-portal"}))
    await env.wait_condition(DOCUMENTATIONS, "guide")
    assert [r.kind for r in records(env, "documentation")] == ["documentation"]

    await env.patch(DOCUMENTATIONS, "guide",
                    {"spec": {"portalRef": None, "apiRef": {"name": "pets"}}})
    await accepted_at_generation(env, DOCUMENTATIONS, "guide")
    assert records(env, "documentation") == []
    [record] = records(env, "api-documentation")
    assert (record.hrid, record.parent_hrid) == ("team-guide", "team-pets")


async def test_a_portal_moved_to_another_environment_takes_what_is_placed_on_it(
    kubeapi: RunningEmulator, two_envs: RunningSimulator
):
    async with operator_env(kubeapi, two_envs) as env:
        await env.create(context("apim", two_envs))
        await env.create(context("second", two_envs, environmentId="OTHER"))
        await env.create(portal())
        await env.create(link("docs"))
        await env.wait_condition(PORTAL_LINKS, "docs")
        state = two_envs.state
        assert sorted((r.env, r.kind) for r in state.portal_objects.values()) == [
            ("DEFAULT", "link"), ("DEFAULT", "portal")]

        await env.patch(PORTALS, "dev-portal", {"spec": {"contextRef": {"name": "second"}}})

        async def moved() -> bool:
            return sorted((r.env, r.kind) for r in state.portal_objects.values()) == [
                ("OTHER", "link"), ("OTHER", "portal")]

        await wait_for(moved, timeout=15, what="the portal and its link in the other env only")
        await accepted_at_generation(env, PORTALS, "dev-portal")
