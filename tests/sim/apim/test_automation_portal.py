"""Automation API next-gen portal objects: portals, listings, documentation, links, API pages."""

from sim.apim import ids

from . import bodies

PORTAL = {"hrid": "default-portal", "name": "Developer portal"}
LISTING = {"hrid": "pets", "apis": [{"apiHrid": "default-my-api", "location": "/pets",
                                    "order": 1}]}
DOC = {"hrid": "welcome", "name": "Welcome", "type": "GRAVITEE_MARKDOWN", "content": "# Hi",
       "location": "/", "order": 0, "area": "HOMEPAGE"}
LINK = {"hrid": "docs", "name": "External docs", "href": "https://docs.example.com",
        "location": "/"}


async def put(http, url, body, **query):
    params = {k: str(v).lower() for k, v in query.items()}
    async with http.put(url, json=body, params=params) as r:
        return r.status, await r.json()


async def test_portal_and_children_ids_round_trip_and_cascade(apim, http):
    a = apim.automation_url()
    await put(http, a + "/apis", bodies.v4_api())
    status, portal = await put(http, a + "/portals", PORTAL)
    assert status == 200
    assert portal["id"] == ids.top_level_id("DEFAULT", "DEFAULT", "default-portal")
    for collection, body in (("listings", LISTING), ("documentations", DOC), ("links", LINK)):
        status, state = await put(http, f"{a}/portals/default-portal/{collection}", body)
        assert status == 200, collection
        assert state["portalHrid"] == "default-portal"
        assert state["id"] == ids.portal_child_id("DEFAULT", "DEFAULT", "default-portal",
                                                  str(body["hrid"]))
        async with http.get(f"{a}/portals/default-portal/{collection}/{body['hrid']}") as r:
            assert r.status == 200
    assert apim.state.counts()["portalObjects"] == 4
    async with http.delete(a + "/portals/default-portal") as r:
        assert r.status == 204
    assert apim.state.portal_objects == {}
    async with http.get(a + "/portals/default-portal") as r:
        assert r.status == 404


async def test_children_of_an_unknown_portal_are_404(apim, http):
    status, error = await put(http, apim.automation_url() + "/portals/nope/links", LINK)
    assert status == 404
    assert error["technicalCode"] == "hrid.notFound"


async def test_api_documentation_needs_the_api_and_goes_with_it(apim, http):
    a = apim.automation_url()
    status, _ = await put(http, a + "/apis/default-my-api/documentations", DOC)
    assert status == 404
    await put(http, a + "/apis", bodies.v4_api())
    status, state = await put(http, a + "/apis/default-my-api/documentations", DOC)
    assert status == 200
    assert state["apiHrid"] == "default-my-api"
    assert state["id"] == ids.api_documentation_id("DEFAULT", "DEFAULT", "default-my-api",
                                                   "welcome")
    async with http.delete(a + "/apis/default-my-api") as r:
        assert r.status == 204
    assert apim.state.portal_objects == {}


async def test_portal_dry_run_stores_nothing(apim, http):
    status, _ = await put(http, apim.automation_url() + "/portals", PORTAL, dryRun=True)
    assert status == 200
    assert apim.state.portal_objects == {}


async def test_a_listing_of_an_unknown_api_is_404_and_stores_nothing(apim, http):
    a = apim.automation_url()
    await put(http, a + "/portals", PORTAL)
    status, error = await put(http, a + "/portals/default-portal/listings", LISTING)
    assert status == 404
    assert error["technicalCode"] == "hrid.notFound"
    assert error["parameters"] == {"hrid": "default-my-api"}
    assert apim.state.counts()["portalObjects"] == 1


async def test_navigation_and_structure_together_are_refused(apim, http):
    both = dict(PORTAL, navigation=[{"path": "/a"}], structure={"topNavbar": [{"path": "/a"}]})
    status, error = await put(http, apim.automation_url() + "/portals", both, dryRun=True)
    assert status == 400
    assert "navigation and structure" in error["message"]
    assert apim.state.portal_objects == {}
