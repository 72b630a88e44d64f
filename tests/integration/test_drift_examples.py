"""No false drift: every upstream example the operator pushes to APIM, freshly reconciled, is read
back several times and never reported as drifted (issue 20 acceptance; the normalisation in
docs/behavior/drift.md must hold for all of them).

One operator (drift policy ``report``, a short interval) serves every example, each in its own
namespace. The larger "1,000 objects over three periods" check is in ``make bench``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import pytest_asyncio

from controller.apim.ids import hrid
from controller.kube.rest import KubeApiError, request_json
from sim.apim.testing import start_simulator
from sim.kubeapi.testing import start_emulator
from tests.integration.api_v2_helpers import (
    EXAMPLES,
    create_notification,
    load_manifests,
    with_namespace,
)
from tests.integration.harness import KINDS, Env, context, operator_env, v4_api, wait_for
from tests.integration.test_drift import drift_settings

CHECKS = 3
"""Read-backs each object must have had (that many periods) before it is judged."""

PUSHED_KINDS = {
    "ApiDefinition": EXAMPLES / "api_definition" / "v2",
    "ApiV4Definition": EXAMPLES / "api_definition" / "v4",
    "Application": EXAMPLES / "application",
    "Group": EXAMPLES / "group",
    "SharedPolicyGroup": EXAMPLES / "shared_policy_groups",
    "Dictionary": EXAMPLES / "dictionary",
}
"""Kinds whose examples stand alone; the portal kinds are applied together below."""
READ_BACK_COLLECTION = {
    "ApiV4Definition": "apis",
    "Application": "applications",
    "Group": "groups",
    "SharedPolicyGroup": "shared-policy-groups",
    "Dictionary": "dictionaries",
}


def _examples() -> list[Any]:
    """Every example file holding one of the kinds pushed to APIM."""
    out = []
    for kind, directory in PUSHED_KINDS.items():
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.yml")):
            if any(doc.get("kind") == kind for doc in load_manifests(path)):
                out.append(pytest.param(kind, path, id=f"{kind}-{path.stem}"))
    if not out:
        return [pytest.param(None, None, marks=pytest.mark.skip(reason=f"{EXAMPLES} is absent"))]
    return out


def _named(folder: str, name: str) -> dict[str, Any] | None:
    for path in sorted((EXAMPLES / folder).glob("*.yml")):
        for doc in load_manifests(path):
            if (doc.get("metadata") or {}).get("name") == name:
                return doc
    return None


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def drift_operator(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    kube = await start_emulator(kubeconfig_path=tmp_path_factory.mktemp("drift-ex") / "kc")
    apim = await start_simulator()
    try:
        async with operator_env(kube, apim, settings=drift_settings("report")) as env:
            yield env
    finally:
        await apim.close()
        await kube.close()


async def _create(env: Env, obj: dict[str, Any], namespace: str) -> None:
    with contextlib.suppress(KubeApiError):
        await request_json(env.api, "POST", "/api/v1/namespaces",
                           body={"metadata": {"name": namespace}})
    with contextlib.suppress(KubeApiError):  # shared by several examples: created once
        await env.create(with_namespace(obj, namespace))


def _sources(directory: Path) -> list[dict[str, Any]]:
    """The Secrets and ConfigMaps the examples of ``directory`` read."""
    return [doc for path in sorted(directory.glob("*.yml")) for doc in load_manifests(path)
            if doc.get("kind") in ("Secret", "ConfigMap")]


async def _prerequisites(env: Env, directory: Path, docs: list[dict[str, Any]]) -> None:
    ns = env.namespace
    for namespace in {ns, "default"}:
        await _create(env, context("dev-ctx", env.apim), namespace)
    for doc in _sources(directory):
        await _create(env, doc, (doc.get("metadata") or {}).get("namespace") or ns)
    for doc in docs:
        spec = doc.get("spec") or {}
        for entry in spec.get("resources") or []:
            target = entry.get("ref") if isinstance(entry, dict) else None
            if target:
                resource = _named("api_resource", target["name"])
                assert resource is not None, f"no upstream ApiResource example {target['name']}"
                await _create(env, resource, target.get("namespace") or ns)
        for target in spec.get("notificationsRefs") or []:
            notification = _named("notification", target["name"])
            assert notification is not None
            with contextlib.suppress(KubeApiError):
                await create_notification(env, notification)


async def _apply_example(env: Env, kind: str, path: Path) -> list[tuple[str, str, str]]:
    """Create one example in ``env``'s namespace; (kind, name, read-back path suffix) of each
    object it pushes to APIM, once accepted."""
    namespace = env.namespace
    docs = [doc for doc in load_manifests(path) if doc.get("kind") == kind]
    await _prerequisites(env, path.parent, docs)
    for doc in docs:
        await _create(env, doc, namespace)
    resource = KINDS[kind]
    pushed = []
    for doc in docs:
        name = doc["metadata"]["name"]
        await env.wait_condition(resource, name, timeout=30)
        live = await env.get(resource, name)
        if not (live["spec"].get("contextRef") or {}).get("name"):
            continue  # only deployed to a gateway ConfigMap: nothing in APIM to read back
        if kind == "ApiDefinition":
            suffix = f"/apis/{live['status']['id']}"
        else:
            suffix = f"/{READ_BACK_COLLECTION[kind]}/{hrid(namespace, name)}"
        pushed.append((kind, name, suffix))
    return pushed


PORTAL_DIR = EXAMPLES / "portal"


async def _apply_portal_examples(env: Env, portal_file: str) -> list[tuple[str, str, str]]:
    """A portal example with every listing, link and page example on it (and on a stand-in
    v4 API the listing and the API page name, as in test_upstream_examples.py)."""
    namespace = env.namespace
    await _create(env, context("dev-ctx", env.apim), namespace)
    await _create(env, v4_api("api-v4-with-context", context_ref="dev-ctx"), namespace)
    docs = [d for d in load_manifests(PORTAL_DIR / portal_file)]
    docs += [d for p in sorted(PORTAL_DIR.glob("*.yml")) for d in load_manifests(p)
             if d.get("kind") != "Portal"]
    for doc in docs:
        await _create(env, doc, namespace)
    pushed = []
    for doc in docs:
        kind, name = doc["kind"], doc["metadata"]["name"]
        await env.wait_condition(KINDS[kind], name, timeout=30)
        pushed.append((kind, name, f"/{hrid(namespace, name)}"))
    return pushed


@pytest.mark.asyncio(loop_scope="module")
async def test_freshly_reconciled_examples_never_drift(drift_operator: Env):
    examples = _examples()
    if examples[0].values[0] is None:
        pytest.skip(f"{EXAMPLES} is absent")
    envs = []
    for param in examples:
        kind, path = param.values
        namespace = f"d-{param.id}".lower().replace("_", "-")[:63].rstrip("-")
        envs.append((attrs.evolve(drift_operator, namespace=namespace), kind, path))
    pushed = [(env, entry) for env, kind, path in envs
              for entry in await _apply_example(env, kind, path)]
    assert len(pushed) >= 50
    if PORTAL_DIR.is_dir():
        for portal_file in ("portal.yml", "portal-structure.yml"):
            portal_env = attrs.evolve(drift_operator,
                                      namespace=f"d-{portal_file.removesuffix('.yml')}")
            pushed += [(portal_env, entry)
                       for entry in await _apply_portal_examples(portal_env, portal_file)]
    mark = drift_operator.apim.requests.mark()

    async def checked() -> bool:
        gets = [e.path for e in drift_operator.apim.requests.find(method="GET", since=mark)]
        return all(sum(1 for p in gets if p.endswith(suffix)) >= CHECKS
                   for _, (_, _, suffix) in pushed)

    await wait_for(checked, timeout=60, what=f"{CHECKS} read-backs of every example")
    drifted = []
    for env, (kind, name, _) in pushed:
        live = await env.get(KINDS[kind], name)
        conditions = (live.get("status") or {}).get("conditions") or []
        if any(c["type"] == "Drifted" for c in conditions) or (
            "DriftDetected" in await env.event_reasons(name)
        ):
            drifted.append(f"{env.namespace}/{name}: {conditions}")
    assert drifted == []
