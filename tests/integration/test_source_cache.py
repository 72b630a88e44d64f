"""What the operator keeps of Secrets and ConfigMaps (docs/behavior/templating.md, "What is
cached"): metadata and a data hash for all of them, Helm releases not at all, and the data of
the sources it reads only, kept current by the watch. Assertions are on the caches' contents."""

from __future__ import annotations

import base64
import json

from controller.informers.store import DATA_HASH, Store
from controller.keys import ObjectKey
from controller.kube.kinds import API_V4_DEFINITIONS, MANAGEMENT_CONTEXTS
from controller.kube.resources import CONFIG_MAPS, SECRETS
from controller.reconcilers.support.sources import KeepMetadata, SourceData
from tests.integration.context_app_helpers import APIS_V4_PATH, wait_request
from tests.integration.harness import Env, configmap, context, secret, v4_api, wait_for

UNRELATED = "unrelated-value-that-must-not-be-cached"
HELM = "helm-release-payload-that-must-not-be-cached"


def _store(env: Env, kind: object) -> Store:
    return env.manager.informers.informer_for(kind).store  # type: ignore[arg-type]


async def _cached(store: Store, key: ObjectKey) -> bool:
    return key in store


def _source_data(env: Env) -> SourceData:
    shape = _store(env, SECRETS).shape
    assert isinstance(shape, KeepMetadata)
    return shape.data


def _cached_bytes(env: Env) -> bytes:
    """Everything the Secret and ConfigMap caches hold, decoded (as stored, it is
    compressed), as JSON text."""
    return json.dumps([store.get(key) for store in (_store(env, SECRETS), _store(env, CONFIG_MAPS))
                       for key in store.keys_in_scope(None)]).encode()


def _templated_api(name: str, target: str) -> dict[str, object]:
    manifest = v4_api(name)
    endpoint = manifest["spec"]["endpointGroups"][0]["endpoints"][0]
    endpoint["configuration"]["target"] = target
    return manifest


async def test_unrelated_data_is_never_cached_and_read_sources_stay_current(env: Env) -> None:
    await env.create(context("apim", env.apim))
    await env.create(secret("backend", {"url": "https://one.internal"}))
    await env.create(secret("unrelated", {"token": UNRELATED}))
    await env.create(configmap("unrelated-settings", {"value": UNRELATED}))
    helm = secret("sh.helm.release.v1.app.v1", {"release": HELM})
    helm["type"] = "helm.sh/release.v1"
    await env.create(helm)
    await env.create(_templated_api("petstore", "[[ secret `backend/url` ]]"))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.wait_condition(API_V4_DEFINITIONS, "petstore")
    secrets = _store(env, SECRETS)
    await wait_for(lambda: _cached(secrets, ObjectKey(env.namespace, "unrelated")),
                   what="the unrelated Secret in the cache")
    configmaps = _store(env, CONFIG_MAPS)
    await wait_for(lambda: _cached(configmaps, ObjectKey(env.namespace, "unrelated-settings")),
                   what="the unrelated ConfigMap in the cache")

    # Metadata and a data hash for every Secret and ConfigMap; Helm releases not at all.
    assert ObjectKey(env.namespace, "sh.helm.release.v1.app.v1") not in secrets
    unrelated = secrets.get(ObjectKey(env.namespace, "unrelated"))
    assert unrelated is not None
    assert "data" not in unrelated
    assert unrelated[DATA_HASH]
    stored = _cached_bytes(env)
    for value in (UNRELATED, HELM):
        assert value.encode() not in stored
        assert base64.b64encode(value.encode()) not in stored
    # Data is held only for what was read: the template source and the context credentials.
    data = _source_data(env)
    held = {key for _, key in data.held()}
    assert ObjectKey(env.namespace, "backend") in held
    assert not held & {ObjectKey(env.namespace, "unrelated"),
                       ObjectKey(env.namespace, "unrelated-settings"),
                       ObjectKey(env.namespace, "sh.helm.release.v1.app.v1")}

    # An edit of the source re-reconciles its user with the new value, taken from the watch
    # event itself: no extra read of the Secret.
    fetched = data.fetches
    mark = env.apim.requests.mark()
    edited = secret("x", {"url": "https://two.internal"})["data"]
    await env.patch(SECRETS, "backend", {"data": edited})
    put = await wait_request(env, method="PUT", path=APIS_V4_PATH, since=mark)
    assert put.body["endpointGroups"][0]["endpoints"][0]["configuration"]["target"] == (
        "https://two.internal")
    assert data.fetches == fetched


