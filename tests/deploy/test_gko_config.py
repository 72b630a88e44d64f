"""ConfigMap `gko-config`: every key is an env var the operator reads, with a value it accepts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from controller.config import Settings
from tests.deploy.rendering import OVERLAYS, pick, render_overlay, requires_kubectl

pytestmark = [pytest.mark.kubectl, requires_kubectl]


class _RecordingEnviron(Mapping[str, str]):
    """An environment that remembers which variables were looked up."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.given = dict(values)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return self.given[key]

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.read.add(key)
        return self.given.get(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return key in self.given

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("Settings.from_env must look variables up by name")

    def __len__(self) -> int:
        return len(self.given)


def _environment(overlay: str) -> dict[str, str]:
    objects = render_overlay(overlay)
    data: dict[str, str] = pick(objects, "ConfigMap", "gko-config")["data"]
    # What the kubelet adds next to envFrom (the Deployment's own env entries).
    return {**data, "POD_NAMESPACE": "gravitee-operator"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_key_is_a_variable_the_operator_reads(overlay: str) -> None:
    environ = _RecordingEnviron(_environment(overlay))
    Settings.from_env(environ)
    unread = set(environ.given) - environ.read
    assert not unread, f"gko-config keys the operator ignores (typo?): {sorted(unread)}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_values_start_the_operator_as_intended(overlay: str) -> None:
    settings = Settings.from_env(_environment(overlay))
    assert settings.enable_metrics is True
    assert settings.metrics_port == 8080
    assert settings.probes_port == 8081
    assert settings.secure_metrics is False
    assert settings.pod_namespace == "gravitee-operator"
    assert settings.apply_crds is False
    assert settings.webhook.enabled is False
    assert settings.logs.format == "json"
    assert settings.enable_leader_election is (overlay == "ha")
    expected_scope = ("gravitee-operator",) if overlay == "namespaced" else ()
    assert settings.namespaces == expected_scope


def test_the_recorder_notices_an_unknown_key() -> None:
    environ = _RecordingEnviron({**_environment("cluster"), "ENABLE_LEADER_ELECTON": "true"})
    Settings.from_env(environ)
    assert set(environ.given) - environ.read == {"ENABLE_LEADER_ELECTON"}
