"""Where the e2e suite runs: a real cluster named by environment variables, or the local stack.

Owns reading the ``E2E_*`` variables into one frozen :class:`Target` and refusing a half-set
cluster target with a message naming what is missing. The suite reaches the cluster only
through a kubeconfig and APIM only through URLs, so the same tests run against k3d
(``deploy/e2e/run.sh`` exports the variables) and against the emulator, the simulator and the
operator started as local subprocesses (nothing exported: ``make e2e-local`` and ``make test``).

``E2E_TARGET=real`` keeps the local simulator and operator processes but puts the real
kube-apiserver of ``make testenv`` in place of the emulator (``tests/e2e/testenv.py``).

A cluster target is opt-in (``E2E_TARGET=cluster``), never inferred from ``KUBECONFIG`` alone:
``make test`` on a laptop whose ``KUBECONFIG`` points at a real cluster must not write to it.
It must never start or stop anything; ``local_stack`` does that.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

import attrs

CLUSTER_VARS: Final = ("KUBECONFIG", "E2E_APIM_URL", "E2E_APIM_CLUSTER_URL", "E2E_METRICS_URL")
"""What a cluster target must export (documented in ``deploy/e2e/run.sh``)."""


class TargetError(RuntimeError):
    """The environment asks for a cluster target but does not say enough about it."""


@attrs.frozen(kw_only=True)
class Target:
    """Everything a test needs to reach the system under test."""

    kubeconfig: str
    """Path of the kubeconfig the tests (and only the tests) use."""
    apim_url: str
    """APIM as the tests reach it (a port-forward on k3d), for read-backs and ``/_sim/``."""
    apim_url_for_operator: str
    """APIM as the operator reaches it: what a ManagementContext's ``baseUrl`` must say."""
    metrics_url: str
    """The operator's Prometheus endpoint base (``/metrics`` is appended)."""
    timeout: float = 30.0
    """Seconds any single wait may take. Defaults to 30; a slow laptop cluster may want more."""
    external: bool = False
    """True for a cluster the suite did not start (k3d); False for the local stack."""


def wanted(environ: Mapping[str, str] | None = None) -> str:
    """``E2E_TARGET``: ``local`` (default), ``cluster`` (k3d, ``make e2e``) or ``real`` (the
    local stack around the test API server of ``make testenv`` instead of the emulator)."""
    env = os.environ if environ is None else environ
    value = env.get("E2E_TARGET", "local").strip().lower()
    if value not in ("local", "cluster", "real"):
        raise TargetError(f"E2E_TARGET must be 'local', 'cluster' or 'real', not {value!r}")
    return value


def wanted_cluster(environ: Mapping[str, str] | None = None) -> bool:
    """True when the environment asks for a cluster target (``E2E_TARGET=cluster``)."""
    return wanted(environ) == "cluster"


def timeout_from(environ: Mapping[str, str] | None = None, *, default: float) -> float:
    """``E2E_TIMEOUT`` in seconds, or ``default``."""
    env = os.environ if environ is None else environ
    raw = env.get("E2E_TIMEOUT", "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise TargetError(f"E2E_TIMEOUT must be a number of seconds, not {raw!r}") from None
    if value <= 0:
        raise TargetError(f"E2E_TIMEOUT must be positive, not {raw!r}")
    return value


def cluster_target(environ: Mapping[str, str] | None = None) -> Target:
    """The cluster the variables name; fails with every missing variable listed."""
    env = os.environ if environ is None else environ
    missing = [name for name in CLUSTER_VARS if not env.get(name, "").strip()]
    if missing:
        raise TargetError(
            "E2E_TARGET=cluster needs " + ", ".join(missing)
            + " (deploy/e2e/run.sh exports them; unset E2E_TARGET to run against the local stack)"
        )
    return Target(
        kubeconfig=env["KUBECONFIG"].split(os.pathsep)[0],
        apim_url=env["E2E_APIM_URL"].rstrip("/"),
        apim_url_for_operator=env["E2E_APIM_CLUSTER_URL"].rstrip("/"),
        metrics_url=env["E2E_METRICS_URL"].rstrip("/"),
        timeout=timeout_from(env, default=90.0),
        external=True,
    )
