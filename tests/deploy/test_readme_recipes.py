"""The kustomizations shown in manifests/README.md render and validate as shown."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.deploy.rendering import (
    MANIFESTS,
    OPERATOR_NAMESPACE,
    SERVICE_ACCOUNT,
    operator_container,
    pick,
    render,
    requires_kubectl,
)

pytestmark = [pytest.mark.kubectl, requires_kubectl]

kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="kubernetes-validate is not installed (pip install it)"
)

_RECIPE = re.compile(r"```yaml\n# ([\w-]+)/kustomization\.yaml\n(.*?)```", re.DOTALL)


def _recipes() -> dict[str, str]:
    text = (MANIFESTS / "README.md").read_text(encoding="utf-8")
    return {match.group(1): match.group(2) for match in _RECIPE.finditer(text)}


def _materialise(tmp_path: Path, name: str) -> Path:
    directory = tmp_path / name
    directory.mkdir()
    relative = os.path.relpath(MANIFESTS, directory)
    text = _recipes()[name].replace("../manifests/", f"{relative}/")
    (directory / "kustomization.yaml").write_text(text, encoding="utf-8")
    return directory


def test_the_readme_shows_both_recipes() -> None:
    assert set(_recipes()) == {"my-install", "watch-team-a", "webhooks-team-x"}


def test_the_custom_overlay_recipe(tmp_path: Path) -> None:
    objects = render(_materialise(tmp_path, "my-install"))
    for obj in objects:
        if obj["kind"] != "ServiceMonitor":
            kubernetes_validate.validate(obj, "1.32", strict=True)
    config = pick(objects, "ConfigMap", "gko-config")["data"]
    assert config["NAMESPACE"] == "team-a,team-b"
    assert config["MAX_CONCURRENT_RECONCILES"] == "4"
    assert config["ENABLE_METRICS"] == "true"  # merged, not replaced
    assert pick(objects, "ServiceMonitor", "gko-metrics-monitor")["metadata"]["namespace"] == (
        OPERATOR_NAMESPACE
    )
    image = operator_container(objects)["image"]
    assert image == "registry.example.com/gravitee-operator-py:0.1.0"


def test_the_watch_another_namespace_recipe(tmp_path: Path) -> None:
    objects = render(_materialise(tmp_path, "watch-team-a"))
    role = pick(objects, "Role", "gko-manager")
    binding = pick(objects, "RoleBinding", "gko-manager")
    assert role["metadata"]["namespace"] == "team-a"
    assert binding["metadata"]["namespace"] == "team-a"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": OPERATOR_NAMESPACE}
    ]
    for obj in objects:
        kubernetes_validate.validate(obj, "1.32", strict=True)


def test_the_webhooks_in_another_namespace_recipe(tmp_path: Path) -> None:
    objects = render(_materialise(tmp_path, "webhooks-team-x"))
    config = pick(objects, "ConfigMap", "gko-config")["data"]
    assert config["WEBHOOK_VALIDATING_CONFIGURATION_NAME"] == (
        "gko-validating-webhook-configurations-team-x")
    validating = pick(objects, "ValidatingWebhookConfiguration",
                      "gko-validating-webhook-configurations-team-x")
    assert {hook["clientConfig"]["service"]["namespace"] for hook in validating["webhooks"]} == {
        "team-x"}
    pick(objects, "MutatingWebhookConfiguration", "gko-mutating-webhook-configurations-team-x")
    assert pick(objects, "Secret", "gko-webhook-cert")["metadata"]["namespace"] == "team-x"
    for obj in objects:
        kubernetes_validate.validate(obj, "1.32", strict=True)
