"""Dictionary end to end: MANUAL and DYNAMIC upserts through the Automation API, always by HRID,
edits, the type/block consistency check, deletion (also when the context is gone), a context that
appears later, and upstream's examples (docs/behavior/dictionary.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from controller.kube.kinds import DICTIONARIES, MANAGEMENT_CONTEXTS
from sim.apim.testing import RunningSimulator
from sim.kubeapi.testing import RunningEmulator
from tests.integration.context_app_helpers import condition
from tests.integration.harness import Env, context, missing_ref, operator_env, wait_for

DICT_PATH = "/automation/organizations/DEFAULT/environments/DEFAULT/dictionaries"
FINALIZER = "finalizers.gravitee.io/dictionaries"
EXAMPLES = (
    Path(__file__).resolve().parents[2].parent
    / "shared" / "reference" / "gko" / "examples" / "apim" / "dictionary"
)

DYNAMIC = {
    "provider": {
        "type": "HTTP",
        "url": "https://provider.example/entries",
        "method": "POST",
        "specification": '[{"operation": "default"}]',
        "body": '{"q": 1}',
        "useSystemProxy": False,
        "headers": [{"name": "X-Token", "value": "t"}],
    },
    "trigger": {"rate": 5, "unit": "MINUTES"},
}


def dictionary(name: str, *, context_ref: str | None = "apim", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "type": "MANUAL",
        "deployed": True,
        "manual": {"properties": {"region": "eu"}},
    }
    if context_ref:
        body["contextRef"] = {"name": context_ref}
    body.update(spec)
    body = {k: value for k, value in body.items() if value is not None}  # None: leave it out
    return {
        "apiVersion": "gravitee.io/v1alpha1",
        "kind": "Dictionary",
        "metadata": {"name": name},
        "spec": body,
    }


def puts(env: Env, *, since: int = 0) -> list[Any]:
    return env.apim.requests.find(method="PUT", path_contains=DICT_PATH, since=since)


async def test_manual_dictionary_is_upserted_by_hrid_and_reports_its_status(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(dictionary("regions", description="where we run"))
    accepted = await env.wait_condition(DICTIONARIES, "regions")
    assert accepted["message"] == "Successfully reconciled"
    [put] = puts(env)
    assert put.query == {"dryRun": "false"}
    assert put.body == {
        "hrid": "team-regions",
        "name": "regions",
        "description": "where we run",
        "type": "MANUAL",
        "deployed": True,
        "manual": {"properties": {"region": "eu"}},
    }
    obj = await env.get(DICTIONARIES, "regions")
    assert FINALIZER in obj["metadata"]["finalizers"]
    status = obj["status"]
    assert (status["organizationId"], status["environmentId"]) == ("DEFAULT", "DEFAULT")
    assert "processingStatus" not in status
    assert (condition(obj, "AutomationAPIManaged") or {}).get("status") == "True"
    record = env.apim.state.dictionary(status["id"])
    assert record is not None
    assert record.hrid == "team-regions"
    assert record.spec["manual"] == {"properties": {"region": "eu"}}
    assert {e["source"]["component"] for e in await env.events("regions")} == {
        "dictionary-controller"
    }


async def test_dynamic_dictionary_sends_its_provider_and_trigger(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(
        dictionary("feed", type="DYNAMIC", deployed=False, manual=None, dynamic=DYNAMIC)
    )
    await env.wait_condition(DICTIONARIES, "feed")
    [put] = puts(env)
    assert put.body["type"] == "DYNAMIC"
    assert put.body["deployed"] is False
    assert put.body["dynamic"] == DYNAMIC
    assert "manual" not in put.body
    record = env.apim.state.dictionary((await env.get(DICTIONARIES, "feed"))["status"]["id"])
    assert record is not None
    assert record.spec["dynamic"] == DYNAMIC


async def test_an_edit_is_upserted_again_under_the_same_hrid(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(dictionary("regions"))
    await env.wait_condition(DICTIONARIES, "regions")
    first_id = (await env.get(DICTIONARIES, "regions"))["status"]["id"]
    mark = env.apim.requests.mark()
    await env.patch(
        DICTIONARIES, "regions",
        {"spec": {"deployed": False, "manual": {"properties": {"region": "us", "tier": "2"}}}},
    )
    put = await env.apim.requests.wait_for(
        lambda r: r.method == "PUT" and DICT_PATH in r.path, since=mark
    )
    assert put.body["hrid"] == "team-regions"
    assert put.body["manual"] == {"properties": {"region": "us", "tier": "2"}}

    async def converged() -> dict[str, Any] | None:
        obj = await env.get(DICTIONARIES, "regions")
        accepted = condition(obj, "Accepted") or {}
        done = accepted.get("observedGeneration") == obj["metadata"]["generation"]
        return obj if done and accepted.get("status") == "True" else None

    obj = await wait_for(converged, what="the edit accepted")
    assert obj["status"]["id"] == first_id
    assert len(env.apim.state.dictionaries) == 1
    record = env.apim.state.dictionary(first_id)
    assert record is not None
    assert record.spec["deployed"] is False
    assert record.spec["manual"] == {"properties": {"region": "us", "tier": "2"}}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"dynamic": DYNAMIC},
         "dictionary type is MANUAL but 'dynamic' field is set, use 'manual' instead"),
        ({"manual": None}, "dictionary type is MANUAL but 'manual' field is not set"),
        ({"type": "DYNAMIC"},
         "dictionary type is DYNAMIC but 'manual' field is set, use 'dynamic' instead"),
        ({"type": "DYNAMIC", "manual": None},
         "dictionary type is DYNAMIC but 'dynamic' field is not set"),
    ],
    ids=["manual-with-dynamic", "manual-without-manual", "dynamic-with-manual",
         "dynamic-without-dynamic"],
)
async def test_a_type_that_disagrees_with_its_block_is_refused_before_apim(
    env: Env, spec: dict[str, Any], message: str
):
    await env.create(context("apim", env.apim))
    await env.create(dictionary("bad", **spec))
    failed = await env.wait_message(DICTIONARIES, "bad", "Accepted", message)
    assert (failed["status"], failed["reason"]) == ("False", "IllegalStateError")
    assert puts(env) == []


async def test_delete_removes_the_dictionary_from_apim(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(dictionary("regions"))
    await env.wait_condition(DICTIONARIES, "regions")
    mark = env.apim.requests.mark()
    await env.delete(DICTIONARIES, "regions")
    await env.wait_gone(DICTIONARIES, "regions")
    [delete] = env.apim.requests.find(method="DELETE", since=mark)
    assert delete.path == f"{DICT_PATH}/team-regions"
    assert not env.apim.state.dictionaries


async def test_a_context_that_appears_later_is_picked_up(env: Env):
    await env.create(dictionary("early", context_ref="later"))
    failed = await env.wait_message(
        DICTIONARIES, "early", "Accepted",
        missing_ref(
            "resource [early] references management context [team/later] that doesn't exist "
            "in the cluster"
        ),
    )
    assert failed["status"] == "False"
    assert puts(env) == []
    await env.create(context("later", env.apim))
    await env.wait_condition(DICTIONARIES, "early", timeout=15)
    assert len(env.apim.state.dictionaries) == 1


async def test_delete_completes_with_a_warning_when_the_context_is_gone(env: Env):
    await env.create(context("vanished-ctx", env.apim))
    await env.create(dictionary("orphan", context_ref="vanished-ctx"))
    await env.wait_condition(DICTIONARIES, "orphan")
    # The context's deletion waits for the dictionary; an admin forces it through.
    await env.delete(MANAGEMENT_CONTEXTS, "vanished-ctx")
    await env.patch(MANAGEMENT_CONTEXTS, "vanished-ctx", {"metadata": {"finalizers": None}})
    await env.wait_gone(MANAGEMENT_CONTEXTS, "vanished-ctx")

    await env.delete(DICTIONARIES, "orphan")
    await env.wait_gone(DICTIONARIES, "orphan")

    async def warned() -> list[dict[str, Any]] | None:
        found = [
            e for e in await env.events("orphan")
            if e["type"] == "Warning" and "vanished-ctx" in str(e.get("message", ""))
            and "dictionary [team-orphan] may remain in APIM" in str(e.get("message", ""))
        ]
        return found or None

    await wait_for(warned, what="a Warning Event naming what may remain")


async def test_a_context_cannot_be_deleted_while_a_dictionary_uses_it(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(dictionary("regions"))
    await env.wait_condition(DICTIONARIES, "regions")
    await env.delete(MANAGEMENT_CONTEXTS, "apim")

    async def blocked() -> str | None:
        found = await env.condition(MANAGEMENT_CONTEXTS, "apim")
        text = str((found or {}).get("message", ""))
        return text if "team/regions" in text else None

    message = await wait_for(blocked, what="the context's deletion blocked by the dictionary")
    assert "dictionaries" in message
    await env.delete(DICTIONARIES, "regions")
    await env.wait_gone(MANAGEMENT_CONTEXTS, "apim", timeout=15)
    assert not env.apim.state.dictionaries


# -- upstream's examples ---------------------------------------------------------------------


def _manifest(path: Path) -> dict[str, Any]:
    [doc] = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    return doc


def _examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*.yml")) if EXAMPLES.is_dir() else []


@pytest_asyncio.fixture
async def default_env(kubeapi: RunningEmulator, apim: RunningSimulator) -> AsyncIterator[Env]:
    async with operator_env(kubeapi, apim, namespace="default") as running:
        yield running


@pytest.mark.skipif(not _examples(), reason=f"upstream examples not found at {EXAMPLES}")
@pytest.mark.parametrize("example", _examples(), ids=lambda p: p.stem)
async def test_upstream_example_is_accepted_lands_in_apim_and_is_removed(
    default_env: Env, example: Path
):
    env = default_env
    manifest = _manifest(example)
    await env.create(context(manifest["spec"]["contextRef"]["name"], env.apim))
    await env.create(manifest)
    name = manifest["metadata"]["name"]
    await env.wait_condition(DICTIONARIES, name, namespace="default")
    live = await env.get(DICTIONARIES, name, namespace="default")
    record = env.apim.state.dictionary(live["status"]["id"])
    assert record is not None
    assert record.hrid == f"default-{name}"
    spec = {k: v for k, v in manifest["spec"].items() if k != "contextRef"}
    assert record.spec == spec

    await env.delete(DICTIONARIES, name, namespace="default")
    await env.wait_gone(DICTIONARIES, name, namespace="default")
    assert not env.apim.state.dictionaries
