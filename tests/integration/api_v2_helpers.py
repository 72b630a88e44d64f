"""Helpers for the ApiDefinition (v2) and ApiResource integration tests.

Owns what those tests need beyond ``harness.py``: upstream's id formulas recomputed from scratch
(so a test proves parity instead of reusing the operator's code), a wait for "the operator has
nothing left to do", readers for the request log and the local-mode ConfigMaps, and the loader
for upstream example manifests. It never changes anything in the operator.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import structlog
import xxhash
import yaml

from controller.config import LogSettings
from controller.kube.resources import CONFIG_MAPS
from controller.kube.rest import request_json
from controller.logging import configure_logging
from controller.loop import Controller
from sim.apim.requestlog import LoggedRequest
from sim.apim.state import ApiRecord, PlanRecord
from tests.integration.harness import Env, v2_api, wait_for

EXAMPLES = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "reference"
    / "gko"
    / "examples"
    / "apim"
)
V2_EXAMPLES = EXAMPLES / "api_definition" / "v2"
RESOURCE_EXAMPLES = EXAMPLES / "api_resource"

IMPORT_CRD = "/apis/import-crd"


def xxh_uuid(*parts: str) -> str:
    """Upstream ``uuid.FromStrings`` (docs/behavior/ids.md), computed independently here."""
    return str(uuid.UUID(bytes=xxhash.xxh3_128_digest("".join(parts).encode())))


def controller(env: Env, name: str) -> Controller:
    for candidate in env.manager.controllers:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def imports(env: Env, *, since: int = 0) -> list[LoggedRequest]:
    """Real (non dry-run) ``PUT {V1}/apis/import-crd`` calls."""
    return [
        r
        for r in env.apim.requests.find(method="PUT", path_contains=IMPORT_CRD, since=since)
        if r.query.get("dryRun") != "true"
    ]


def automation_api_puts(env: Env, *, since: int = 0) -> list[LoggedRequest]:
    return [
        r
        for r in env.apim.requests.find(method="PUT", path_prefix="/automation/", since=since)
        if r.path.endswith("/apis") and r.query.get("dryRun") != "true"
    ]


async def configmap(env: Env, name: str, namespace: str | None = None) -> Any:
    """The ConfigMap as the API server has it, or None."""
    return await env.get(CONFIG_MAPS, name, namespace)


async def wait_configmap(
    env: Env, name: str, *, namespace: str | None = None, timeout: float = 10.0
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        found: dict[str, Any] | None = await configmap(env, name, namespace)
        return found

    return await wait_for(probe, timeout=timeout, what=f"ConfigMap {name}")


def definition_of(configmap_obj: dict[str, Any]) -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(configmap_obj["data"]["definition"])
    return definition


async def apim_delete_api(env: Env, api_id: str) -> None:
    """Delete an API in APIM behind the operator's back, as a console user would."""
    url = f"{env.apim.v1_url()}/apis/{api_id}"
    headers = {"Authorization": "Basic " + base64.b64encode(b"admin:admin").decode()}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.delete(url, params={"closePlans": "true"}) as response,
    ):
        assert response.status == 204, await response.text()


def load_manifests(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if isinstance(doc, dict)]


def with_namespace(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    obj = json.loads(json.dumps(obj))
    obj.setdefault("metadata", {})["namespace"] = namespace
    return obj


def event_messages(events: list[dict[str, Any]], reason: str) -> list[str]:
    return [str(e.get("message")) for e in events if e.get("reason") == reason]


def v2(name: str, **kwargs: Any) -> dict[str, Any]:
    """``harness.v2_api`` with what the CRD requires of every plan (a ``description``), also
    for plans a test passes in, so tests can focus on the fields they are about."""
    manifest = v2_api(name, **kwargs)
    for plan in manifest["spec"].get("plans") or []:
        plan.setdefault("description", f"{plan.get('name', 'plan')} plan")
    return manifest


@contextlib.contextmanager
def production_logging() -> Iterator[io.StringIO]:
    """The operator's own log configuration (JSON lines, into a buffer) for the duration.

    Without it structlog's development default pretty-prints every logged traceback, which
    blocks the event loop for about two seconds per failed reconcile and would make every
    retry test slow. The previous configuration is restored afterwards.
    """
    saved = structlog.get_config()
    buffer = io.StringIO()
    configure_logging(LogSettings(level="debug"), stream=buffer)
    try:
        yield buffer
    finally:
        structlog.configure(**saved)


GROUPS_PATH = "/apis/gravitee.io/v1alpha1/namespaces/{namespace}/groups"
NOTIFICATIONS_PATH = "/apis/gravitee.io/v1alpha1/namespaces/{namespace}/notifications"


async def create_group(env: Env, name: str, group_name: str) -> None:
    """A Group object (the harness has no builder for the kind) named ``group_name`` in APIM."""
    body = {
        "apiVersion": "gravitee.io/v1alpha1",
        "kind": "Group",
        "metadata": {"name": name, "namespace": env.namespace},
        "spec": {"name": group_name, "members": []},
    }
    await request_json(env.api, "POST", GROUPS_PATH.format(namespace=env.namespace), body=body)


async def create_notification(env: Env, manifest: dict[str, Any]) -> None:
    body = with_namespace(manifest, env.namespace)
    await request_json(
        env.api, "POST", NOTIFICATIONS_PATH.format(namespace=env.namespace), body=body
    )


def stored_api(
    env: Env, *, api_id: str | None = None, cross_id: str | None = None, hrid: str | None = None
) -> ApiRecord:
    """The API APIM holds under one of these keys; fails the test when there is none."""
    state = env.apim.state
    if api_id is not None:
        record = state.api(api_id)
    elif cross_id is not None:
        record = state.api_by_cross_id(cross_id)
    else:
        assert hrid is not None
        record = state.api_by_hrid(hrid)
    assert record is not None, f"APIM has no API {api_id or cross_id or hrid}"
    return record


def stored_plan(env: Env, plan_id: str) -> PlanRecord:
    record = env.apim.state.plan(plan_id)
    assert record is not None, f"APIM has no plan {plan_id}"
    return record
