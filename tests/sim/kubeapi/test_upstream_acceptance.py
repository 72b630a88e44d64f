"""Acceptance: every upstream GKO CRD applies; every upstream example then applies, reads back
with its schema defaults filled in, lists and deletes, all through kubectl."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
import yaml

from tests.sim.kubeapi.conftest import KUBECTL, Target

pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed"),
]
REFERENCE = pathlib.Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "gko"
CRDS = REFERENCE / "crds"
EXAMPLES = REFERENCE / "examples"
# Upstream examples that violate upstream's own CRD schema: kube-apiserver rejects them, so
# the emulator must too (kind, original name) -> expected message fragment.
KNOWN_INVALID = {("Subscription", "echo-subscription-metadata"): "spec.plan: Required value"}


def _examples() -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str]]]:
    """Example documents renamed per file (several files reuse names), and the invalid ones."""
    docs: list[dict[str, Any]] = []
    invalid: list[tuple[dict[str, Any], str]] = []
    files = sorted(p for p in EXAMPLES.rglob("*") if p.suffix in (".yml", ".yaml"))
    for index, path in enumerate(files):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind"):
                original = doc["metadata"]["name"]
                doc["metadata"]["name"] = f"{original}-e{index}"
                doc["metadata"].pop("namespace", None)
                expected_error = KNOWN_INVALID.get((doc["kind"], original))
                if expected_error:
                    invalid.append((doc, expected_error))
                else:
                    docs.append(doc)
    return docs, invalid


def _schemas() -> dict[str, dict[str, Any]]:
    schemas = {}
    for path in CRDS.glob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        storage = next(v for v in crd["spec"]["versions"] if v.get("storage"))
        schemas[crd["spec"]["names"]["kind"]] = storage["schema"]["openAPIV3Schema"]
    return schemas


def missing_defaults(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Paths where the schema declares a default but the object lacks the field."""
    missing: list[str] = []
    if isinstance(value, dict):
        for name, sub in (schema.get("properties") or {}).items():
            child = f"{path}.{name}"
            if name not in value:
                if "default" in sub:
                    missing.append(child)
            else:
                missing.extend(missing_defaults(value[name], sub, child))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            missing.extend(missing_defaults(item, schema["items"], f"{path}[{i}]"))
    return missing


@pytest.mark.skipif(not CRDS.is_dir(), reason="upstream reference data is not available")
async def test_upstream_crds_and_examples(target: Target):
    result = await target.kubectl("apply", "--server-side", "-f", str(CRDS))
    assert result.stdout.count("serverside-applied") == len(list(CRDS.glob("*.yaml")))
    await target.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(CRDS))

    docs, invalid = _examples()
    for doc, expected_error in invalid:
        rejected = await target.kubectl(
            "apply", "-n", target.namespace, "-f", "-", stdin=yaml.safe_dump(doc), check=False
        )
        assert rejected.returncode != 0
        assert expected_error in rejected.stderr
    stream = yaml.safe_dump_all(docs)
    applied = json.loads(
        (
            await target.kubectl(
                "apply", "-n", target.namespace, "-f", "-", "-o", "json", stdin=stream
            )
        ).stdout
    )
    items = applied["items"] if applied.get("kind") == "List" else [applied]
    assert len(items) == len(docs)

    schemas = _schemas()
    custom = [i for i in items if i["kind"] in schemas]
    assert len(custom) == sum(1 for d in docs if d["kind"] in schemas)
    for item in custom:
        assert item["metadata"]["generation"] == 1
        assert missing_defaults(item, schemas[item["kind"]]) == [], item["metadata"]["name"]

    # A default the operator relies on (docs/behavior/kinds.md): v4 APIs start STARTED.
    v4 = next(
        i
        for i in custom
        if i["kind"] == "ApiV4Definition"
        and "state"
        not in next(d for d in docs if d["metadata"]["name"] == i["metadata"]["name"])["spec"]
    )
    assert v4["spec"]["state"] == "STARTED"

    kinds = sorted({d["kind"].lower() for d in docs})
    listed = json.loads(
        (await target.kubectl("get", ",".join(kinds), "-n", target.namespace, "-o", "json")).stdout
    )
    names = {(i["kind"], i["metadata"]["name"]) for i in listed["items"]}
    assert names >= {(d["kind"], d["metadata"]["name"]) for d in docs}

    await target.kubectl("delete", "-n", target.namespace, "-f", "-", "--wait=false", stdin=stream)
    listed = json.loads(
        (await target.kubectl("get", ",".join(kinds), "-n", target.namespace, "-o", "json")).stdout
    )
    leftover = {(i["kind"], i["metadata"]["name"]) for i in listed["items"]}
    assert leftover.isdisjoint({(d["kind"], d["metadata"]["name"]) for d in docs})
