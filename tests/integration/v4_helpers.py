"""Helpers shared by the ApiV4Definition, cross-cutting and multi-cluster integration tests.

Owns what those tests need on top of ``harness.py``: waiting until the operator has nothing left
to do (the positive signal before any "nothing happened" assertion), an independent computation
of the spec hash and of upstream's deterministic ids, and small readers for finalizers,
annotations, conditions and ConfigMaps. It never starts or changes anything by itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import structlog
import xxhash
import yaml
from kubernetes_asyncio.client import ApiClient

from controller.config import LogLevel, LogSettings
from controller.kube.client import connect
from controller.kube.objects import patch_status
from controller.kube.resources import CONFIG_MAPS
from controller.kube.rest import KubeApiError, request_json
from controller.logging import configure_logging
from sim.apim.requestlog import LoggedRequest
from sim.kubeapi.testing import RunningEmulator
from tests.integration.harness import CRDS, Env, kind_of, wait_for

EXAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "gko" / "examples"
V4_EXAMPLES = EXAMPLES / "apim" / "api_definition" / "v4"
RESOURCE_EXAMPLES = EXAMPLES / "apim" / "api_resource"


def expected_spec_hash(spec: Any) -> str:
    """sha256 of the canonical JSON (sorted keys, compact) of a spec, computed independently."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def upstream_uuid(*parts: str) -> str:
    """Upstream's deterministic UUID: XXH3-128 of the concatenated parts, big-endian digest."""
    return str(uuid.UUID(bytes=xxhash.xxh3_128_digest("".join(parts).encode())))


def finalizers_of(obj: dict[str, Any]) -> list[str]:
    return list(obj["metadata"].get("finalizers") or [])


def annotations_of(obj: dict[str, Any]) -> dict[str, str]:
    return dict(obj["metadata"].get("annotations") or {})


def conditions_by_type(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}


async def get_configmap(env: Env, name: str, namespace: str | None = None) -> Any:
    return await env.get(CONFIG_MAPS, name, namespace)


async def wait_configmap(env: Env, name: str, *, timeout: float = 10.0) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        found: dict[str, Any] | None = await get_configmap(env, name)
        return found

    return await wait_for(probe, timeout=timeout, what=f"ConfigMap {name}")


async def wait_events(
    env: Env, name: str, reasons: Iterable[str], *, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Events of ``name`` once every reason in ``reasons`` was recorded at least once."""
    wanted = set(reasons)

    async def probe() -> list[dict[str, Any]] | None:
        events = await env.events(name)
        return events if wanted <= {e["reason"] for e in events} else None

    return await wait_for(probe, timeout=timeout, what=f"events {sorted(wanted)} on {name}")


def automation_puts(env: Env, *, since: int = 0) -> list[LoggedRequest]:
    """Every v4 API upsert the simulator received (dry runs included)."""
    return [
        r
        for r in env.apim.requests.find(method="PUT", since=since)
        if r.path.startswith("/automation/") and r.path.endswith("/apis")
    ]


def upserts_of(env: Env, api_hrid_or_id: str, *, since: int = 0) -> list[LoggedRequest]:
    return [
        r for r in automation_puts(env, since=since) if (r.body or {}).get("hrid") == api_hrid_or_id
    ]


def load_yaml(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


async def seed(
    kube: RunningEmulator,
    obj: dict[str, Any],
    *,
    namespace: str,
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create ``obj`` (and its status) while no operator runs: what an older operator left.

    Registers the CRDs and the namespace first, as ``operator_env`` would.
    """
    await kube.apply_crd_files(CRDS)
    api = await connect(kubeconfig=str(kube.kubeconfig))
    try:
        try:
            await request_json(
                api, "POST", "/api/v1/namespaces", body={"metadata": {"name": namespace}}
            )
        except KubeApiError as error:
            if error.status != 409:
                raise
        kind = kind_of(obj)
        body = {**obj, "metadata": {**obj["metadata"], "namespace": namespace}}
        created: dict[str, Any] = await request_json(
            api, "POST", kind.collection_path(namespace), body=body
        )
        if status is not None:
            created = await patch_status(api, kind, namespace, obj["metadata"]["name"], status)
        return created
    finally:
        await api.close()


@contextlib.contextmanager
def captured_logs(*, level: LogLevel = "debug") -> Iterator[io.StringIO]:
    """Operator logs as JSON lines into a buffer for the duration; the previous config returns.

    Also keeps failing reconciles cheap: the default console renderer pretty-prints tracebacks,
    which costs about a second per logged error.
    """
    saved = structlog.get_config()
    buffer = io.StringIO()
    configure_logging(LogSettings(level=level), stream=buffer)
    try:
        yield buffer
    finally:
        structlog.configure(**saved)


def object_versions(kube: RunningEmulator) -> dict[tuple[Any, str, str], str]:
    """Every stored object's resourceVersion, CRDs aside (the harness re-applies those).

    Equal snapshots mean nobody created, changed or deleted anything in between.
    """
    return {
        (key, str(obj["metadata"].get("namespace") or ""), str(obj["metadata"]["name"])): str(
            obj["metadata"]["resourceVersion"]
        )
        for key, obj in kube.emulator.store.all_objects()
        if obj.get("kind") != "CustomResourceDefinition"
    }


@contextlib.asynccontextmanager
async def kube_client(kube: RunningEmulator) -> AsyncIterator[ApiClient]:
    """A client of the emulator for writes made while no operator runs."""
    api = await connect(kubeconfig=str(kube.kubeconfig))
    try:
        yield api
    finally:
        await api.close()


def last_upsert(env: Env, api_hrid_or_id: str, *, since: int = 0) -> LoggedRequest:
    """The latest upsert of one API; an informer race may legitimately cause two."""
    found = upserts_of(env, api_hrid_or_id, since=since)
    assert found, f"no upsert of {api_hrid_or_id} since #{since}"
    return found[-1]
