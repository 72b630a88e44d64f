"""The command line of ``python -m controller`` (issue 17, item 2) and the start-up warnings
about settings that are read but not implemented (item 5)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from controller.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # KUBECONFIG points nowhere: if the operator started, it would fail to connect (exit 2
    # with another message) rather than hang.
    base = {**os.environ, "KUBECONFIG": str(ROOT / "does-not-exist"), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "controller", *args],
        cwd=ROOT, env=base, capture_output=True, text=True, timeout=60, check=False,
    )


def test_help_prints_usage_and_exits_0():
    done = _run("--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: python -m controller")
    assert "--version" in done.stdout
    assert "NAMESPACE" in done.stdout


def test_version_prints_the_version_and_exits_0():
    done = _run("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("python -m controller ")
    assert done.stdout.strip().split()[-1][0].isdigit()


def test_unknown_flag_prints_usage_and_exits_2():
    done = _run("--verbose")
    assert done.returncode == 2
    assert "usage: python -m controller" in done.stderr
    assert "unrecognized arguments: --verbose" in done.stderr


def test_unknown_flag_exits_before_reading_settings():
    with pytest.raises(SystemExit) as exited:
        main(["--nope"])
    assert exited.value.code == 2


def test_invalid_namespace_is_refused_at_start_up():
    done = _run(env={"NAMESPACE": "bad,x y"})
    assert done.returncode == 2
    assert "NAMESPACE" in done.stderr
    assert "'x y' is not one" in done.stderr


def test_unimplemented_settings_are_warned_about_once_each():
    done = _run(env={
        "ENABLE_INGRESS": "true",
        "ENABLE_GATEWAY_API": "true",
        "ENABLE_DRIFT_DETECTION": "true",
        "DRIFT_DETECTION_INTERVAL": "5m",
        "LOGS_FORMAT": "json",
    })
    warnings = [line for line in done.stdout.splitlines() + done.stderr.splitlines()
                if "setting read but not implemented" in line]
    named = [name for name in ("ENABLE_GATEWAY_API", "ENABLE_DRIFT_DETECTION",
                               "DRIFT_DETECTION_INTERVAL")
             if sum(f'"{name}"' in line for line in warnings) == 1]
    assert len(named) == 3, warnings
    # The Ingress controller is implemented: enabling it is not warned about.
    assert not any('"ENABLE_INGRESS"' in line for line in warnings)
    assert all('"level": "WARN"' in line for line in warnings)
