"""Acceptance on the Kubernetes API emulator: our generated CRDs accept every upstream example
through ``kubectl apply``, store upstream's defaults, round-trip through our models, and reject
invalid manifests with a 422 naming the field."""

import asyncio
import copy
import json
import shutil
from pathlib import Path

import aiohttp
import pytest
import yaml

from controller.models.convert import unstructure
from controller.models.crdgen import PACKAGE_CRD_DIR
from controller.models.defaulting import apply_defaults, prune
from controller.models.kinds import KINDS, kind_info
from controller.models.resources import parse_resource
from tests.controller.models.upstream import example_documents, is_valid_upstream, upstream_schema

pytestmark = pytest.mark.kubectl

KUBECTL = shutil.which("kubectl")
REPO = Path(__file__).resolve().parents[3]
NAMESPACE = "default"


async def kubectl(kubeapi, tmp_path, *args, stdin=None):
    if KUBECTL is None:
        pytest.skip("kubectl is not installed")
    process = await asyncio.create_subprocess_exec(
        KUBECTL,
        "--kubeconfig",
        str(kubeapi.kubeconfig),
        "--cache-dir",
        str(tmp_path / "kubectl-cache"),
        *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(
        process.communicate(stdin.encode() if stdin is not None else None), 90
    )
    return process.returncode, out.decode(), err.decode()


def renamed_examples():
    """Valid upstream examples, each given a unique name (several share one upstream)."""
    out = []
    for index, (example, doc) in enumerate(example_documents()):
        if not is_valid_upstream(example):
            continue
        doc = copy.deepcopy(doc)
        doc["metadata"] = {"name": f"example-{index}", "namespace": NAMESPACE}
        out.append((example, doc))
    return out


async def test_every_upstream_example_is_accepted_defaulted_and_round_trips(kubeapi, tmp_path):
    await kubeapi.apply_crd_files(REPO / "manifests" / "crds")
    examples = renamed_examples()
    manifest = tmp_path / "examples.yaml"
    manifest.write_text(yaml.safe_dump_all([doc for _, doc in examples]), encoding="utf-8")
    code, _, err = await kubectl(kubeapi, tmp_path, "apply", "-f", str(manifest))
    assert code == 0, err
    plurals = ",".join(f"{info.plural}.gravitee.io" for info in KINDS)
    code, out, err = await kubectl(kubeapi, tmp_path, "get", plurals, "-n", NAMESPACE, "-o", "json")
    assert code == 0, err
    stored = {(o["kind"], o["metadata"]["name"]): o for o in json.loads(out)["items"]}
    assert len(stored) == len(examples)
    for example, doc in examples:
        obj = stored[(doc["kind"], doc["metadata"]["name"])]
        schema = upstream_schema(kind_info(doc["kind"]))
        expected = apply_defaults(prune(doc, schema), schema)
        assert obj["spec"] == expected["spec"], example
        assert unstructure(parse_resource(obj)) == obj, example


def test_packaged_crds_are_the_manifests():
    for path in (REPO / "manifests" / "crds").glob("*.yaml"):
        assert (PACKAGE_CRD_DIR / path.name).read_text() == path.read_text()


def v4_manifest(object_name, spec_changes):
    spec = {
        "name": object_name,
        "version": "1.0",
        "type": "PROXY",
        "listeners": [{"type": "HTTP", "paths": [{"path": f"/{object_name}"}]}],
        "endpointGroups": [
            {"name": "g", "endpoints": [{"type": "http-proxy", "inheritConfiguration": False}]}
        ],
        "plans": {"free": {"name": "free", "security": {"type": "KEY_LESS"}}},
    }
    spec.update(spec_changes)
    for key in [k for k, v in spec.items() if v is None]:
        del spec[key]
    return {
        "apiVersion": "gravitee.io/v1alpha1",
        "kind": "ApiV4Definition",
        "metadata": {"name": object_name, "namespace": NAMESPACE},
        "spec": spec,
    }


INVALID = [
    ("wrong-enum", {"state": "RUNNING"}, "spec.state"),
    ("wrong-type", {"version": 1}, "spec.version"),
    ("missing-required", {"name": None}, "spec.name"),
    ("no-listener", {"listeners": []}, "spec.listeners"),
    (
        "nested-enum",
        {"plans": {"p": {"name": "p", "validation": "SOMETIMES"}}},
        "spec.plans.p.validation",
    ),
]


@pytest.mark.parametrize(("name", "changes", "field"), INVALID, ids=[i[0] for i in INVALID])
async def test_invalid_manifest_is_rejected_with_422_naming_the_field(
    kubeapi, tmp_path, name, changes, field
):
    await kubeapi.apply_crd_files(REPO / "manifests" / "crds")
    body = v4_manifest(name, changes)
    url = f"{kubeapi.url}/apis/gravitee.io/v1alpha1/namespaces/{NAMESPACE}/apiv4definitions"
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        status = response.status
        payload = await response.json()
    assert status == 422, payload
    assert payload["reason"] == "Invalid"
    causes = [c.get("field", "") for c in payload.get("details", {}).get("causes", [])]
    assert any(c == field or c.startswith(field) for c in causes), causes
    code, _, err = await kubectl(kubeapi, tmp_path, "apply", "-f", "-", stdin=json.dumps(body))
    assert code != 0
    assert field in err


async def test_upstream_example_without_plan_is_rejected_like_upstream(kubeapi, tmp_path):
    await kubeapi.apply_crd_files(REPO / "manifests" / "crds")
    (doc,) = [d for i, d in example_documents() if not is_valid_upstream(i)]
    code, _, err = await kubectl(
        kubeapi, tmp_path, "apply", "-n", NAMESPACE, "-f", "-", stdin=json.dumps(doc)
    )
    assert code != 0
    assert "spec.plan" in err


async def test_short_names_and_printer_columns_through_kubectl(kubeapi, tmp_path):
    await kubeapi.apply_crd_files(REPO / "manifests" / "crds")
    body = v4_manifest("columns", {"state": "STOPPED", "version": "2.1"})
    code, _, err = await kubectl(kubeapi, tmp_path, "apply", "-f", "-", stdin=json.dumps(body))
    assert code == 0, err
    code, out, err = await kubectl(kubeapi, tmp_path, "get", "graviteev4apis", "-n", NAMESPACE)
    assert code == 0, err
    header, row = out.splitlines()[:2]
    assert header.split()[:5] == ["NAME", "STATE", "LIFECYCLE", "STATE", "VERSION"]
    assert row.split()[:4] == ["columns", "STOPPED", "UNPUBLISHED", "2.1"]
    # Ours, after upstream's: the outcome and the age (issue 17, item 13).
    assert header.split()[5:] == ["ACCEPTED", "REASON", "AGE"]


async def test_printer_columns_show_the_outcome(kubeapi, tmp_path):
    await kubeapi.apply_crd_files(REPO / "manifests" / "crds")
    body = v4_manifest("outcome", {"state": "STOPPED", "version": "2.1"})
    code, _, err = await kubectl(kubeapi, tmp_path, "apply", "-f", "-", stdin=json.dumps(body))
    assert code == 0, err
    status = {"status": {"conditions": [{
        "type": "Accepted", "status": "False", "reason": "IllegalStateError", "message": "m",
        "lastTransitionTime": "2024-01-01T00:00:00Z",
    }]}}
    code, _, err = await kubectl(
        kubeapi, tmp_path, "patch", "apiv4definitions.gravitee.io", "outcome", "-n", NAMESPACE,
        "--subresource=status", "--type=merge", "-p", json.dumps(status),
    )
    assert code == 0, err
    code, out, err = await kubectl(kubeapi, tmp_path, "get", "graviteev4apis", "outcome",
                                   "-n", NAMESPACE)
    assert code == 0, err
    row = out.splitlines()[1].split()
    assert row[:1] + row[4:6] == ["outcome", "False", "IllegalStateError"]
