"""Helpers of the chart tests: the helm binary `make helm` builds, and rendering the chart.

Owns: finding helm (``HELM`` from the Makefile, else ``build/tools/bin/helm``), ``helm lint`` and
``helm template`` of ``deploy/helm/gko`` with values files and ``--set`` pairs. Must never talk
to a cluster.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.rendering import DEPLOY, OPERATOR_NAMESPACE, REPO, Manifest

CHART = DEPLOY / "helm" / "gko"
EXAMPLES = DEPLOY / "helm" / "examples"
HELM = Path(os.environ.get("HELM") or REPO / "build" / "tools" / "bin" / "helm")

requires_helm = pytest.mark.skipif(
    not HELM.is_file(), reason=f"{HELM} is missing: `make helm` builds it (make test does)"
)


def run_helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HELM), *args], capture_output=True, text=True, timeout=120, check=False,
        # helm must not pick up the developer's repositories, plugins or kube context.
        env={**os.environ, "HELM_CACHE_HOME": "/nonexistent", "HELM_CONFIG_HOME": "/nonexistent",
             "HELM_DATA_HOME": "/nonexistent", "KUBECONFIG": "/dev/null"},
    )


def _value_args(values: tuple[str, ...], sets: tuple[tuple[str, str], ...]) -> list[str]:
    args: list[str] = []
    for name in values:
        args += ["--values", str(EXAMPLES / name)]
    for key, value in sets:
        args += ["--set", f"{key}={value}"]
    return args


@functools.cache
def _template_text(values: tuple[str, ...], sets: tuple[tuple[str, str], ...],
                   namespace: str) -> str:
    completed = run_helm("template", "gko", str(CHART), "--namespace", namespace,
                         *_value_args(values, sets))
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def template(*values: str, namespace: str = OPERATOR_NAMESPACE, **sets: object) -> list[Manifest]:
    """The objects ``helm template`` renders with the example values files ``values`` (names in
    deploy/helm/examples) and ``--set`` pairs (``manager__metrics__secured=False`` sets
    ``manager.metrics.secured=false``). A private copy, rendered once per argument set."""
    pairs = tuple(sorted((key.replace("__", "."), str(value).lower() if isinstance(value, bool)
                          else str(value)) for key, value in sets.items()))
    text = _template_text(tuple(values), pairs, namespace)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def template_error(*values: str, **sets: object) -> str:
    """The error ``helm template`` fails with (fails the test when it renders)."""
    pairs = tuple((key.replace("__", "."), str(value).lower() if isinstance(value, bool)
                   else str(value)) for key, value in sets.items())
    completed = run_helm("template", "gko", str(CHART), "--namespace", OPERATOR_NAMESPACE,
                         *_value_args(tuple(values), pairs))
    assert completed.returncode != 0, "expected helm template to fail"
    return completed.stderr


def lint(*values: str) -> subprocess.CompletedProcess[str]:
    return run_helm("lint", "--strict", str(CHART), "--namespace", OPERATOR_NAMESPACE,
                    *_value_args(tuple(values), ()))


def example_files() -> list[str]:
    return sorted(path.name for path in EXAMPLES.glob("*.yaml"))
