"""Static checks of deploy/Dockerfile.

There is no Docker engine on the machine that runs the suite, so the image build itself is not
exercised here; these tests read the Dockerfile and check what the image would contain and how
it would run. ``test_image_contents`` stages the operator build context the same way and builds
the package from it.
"""

from __future__ import annotations

import fnmatch
import subprocess
import sys

import pytest

from controller.config import Settings
from tests.deploy.dockerfile import Dockerfile, copy_from, copy_sources, parse
from tests.deploy.rendering import DEPLOY, REPO

OPERATOR_STAGE = "operator"
SIMULATOR_STAGE = "apim-simulator"
NONROOT = "65532:65532"

#: Exactly what the operator's build stage may see of the repository.
OPERATOR_CONTEXT = {"setup.cfg", "pyproject.toml", "README.md", "controller/"}


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return parse(DEPLOY / "Dockerfile")


def _context_sources(dockerfile: Dockerfile, stage: str) -> set[str]:
    """Every path copied from the build context into ``stage`` and the stages it builds on."""
    sources: set[str] = set()
    for current in dockerfile.lineage(stage):
        for copy in current.all("COPY"):
            if copy_from(copy) is None:
                sources.update(copy_sources(copy))
        assert not current.all("ADD"), "use COPY: ADD fetches URLs and unpacks archives"
    return sources


def test_the_operator_is_the_default_target(dockerfile: Dockerfile) -> None:
    names = [stage.name for stage in dockerfile.stages]
    assert names[-1] == OPERATOR_STAGE
    assert SIMULATOR_STAGE in names
    assert len(set(names)) == len(names)


def test_every_stage_starts_from_the_slim_python_3_11_base(dockerfile: Dockerfile) -> None:
    image = dockerfile.global_args["PYTHON_IMAGE"]
    repository, _, tag = image.partition(":")
    assert repository == "python"
    assert tag.startswith("3.11-slim"), tag
    stage_names = {stage.name for stage in dockerfile.stages}
    for stage in dockerfile.stages:
        assert stage.base in {"${PYTHON_IMAGE}", *stage_names}, stage.name


def test_the_operator_image_never_receives_the_simulators(dockerfile: Dockerfile) -> None:
    sources = _context_sources(dockerfile, OPERATOR_STAGE)
    assert sources == OPERATOR_CONTEXT
    assert not any(source.startswith("sim") for source in sources)
    # And the simulator image does get them.
    assert "sim/" in _context_sources(dockerfile, SIMULATOR_STAGE)


def test_every_copied_path_exists_in_the_repository(dockerfile: Dockerfile) -> None:
    for stage in dockerfile.stages:
        for copy in stage.all("COPY"):
            if copy_from(copy) is None:
                for source in copy_sources(copy):
                    assert (REPO / source).exists(), f"line {copy.line}: {source} is missing"


def test_the_dockerignore_keeps_every_copied_path(dockerfile: Dockerfile) -> None:
    patterns = [
        line.strip()
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for stage in dockerfile.stages:
        for copy in stage.all("COPY"):
            if copy_from(copy) is not None:
                continue
            for source in copy_sources(copy):
                path = source.rstrip("/")
                # Last matching pattern wins, as in .dockerignore.
                excluded = False
                for pattern in patterns:
                    negated = pattern.startswith("!")
                    if fnmatch.fnmatch(path, pattern.removeprefix("!").rstrip("/")):
                        excluded = not negated
                assert not excluded, f"{source} is filtered out of the build context"


@pytest.mark.parametrize("stage", [OPERATOR_STAGE, SIMULATOR_STAGE])
def test_images_run_as_the_numeric_nonroot_user(dockerfile: Dockerfile, stage: str) -> None:
    # Numeric, so the kubelet can verify runAsNonRoot without a passwd lookup.
    user = dockerfile.stage(stage).last("USER")
    assert user is not None
    assert user.arguments == NONROOT


def test_the_runtime_never_writes_bytecode(dockerfile: Dockerfile) -> None:
    base = dockerfile.stage("runtime-base")
    env = " ".join(i.arguments for i in base.all("ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    for stage in (OPERATOR_STAGE, SIMULATOR_STAGE):
        assert dockerfile.stage(stage).base == "runtime-base"
    # Bytecode is compiled at build time and trusted regardless of file times, which COPY
    # --from does not promise to keep.
    for build in ("operator-build", "apim-simulator-build"):
        run = " ".join(i.arguments for i in dockerfile.stage(build).all("RUN"))
        assert "compileall" in run
        assert "--invalidation-mode unchecked-hash" in run


def test_the_operator_entrypoint_and_ports(dockerfile: Dockerfile) -> None:
    stage = dockerfile.stage(OPERATOR_STAGE)
    entrypoint = stage.last("ENTRYPOINT")
    assert entrypoint is not None
    assert entrypoint.exec_form == ["python", "-m", "controller"]
    assert stage.last("CMD") is None
    exposed = {int(port) for i in stage.all("EXPOSE") for port in i.words()}
    defaults = Settings()
    assert exposed == {defaults.metrics_port, defaults.probes_port}
    assert (REPO / "controller" / "__main__.py").is_file()


def test_the_simulator_entrypoint_uses_flags_its_cli_accepts(dockerfile: Dockerfile) -> None:
    stage = dockerfile.stage(SIMULATOR_STAGE)
    entrypoint, command = stage.last("ENTRYPOINT"), stage.last("CMD")
    assert entrypoint is not None
    assert command is not None
    assert entrypoint.exec_form == ["python", "-m", "sim.apim"]
    arguments = command.exec_form
    assert arguments == ["--host", "0.0.0.0", "--port", "8083"]
    help_text = subprocess.run(
        [sys.executable, "-m", "sim.apim", "--help"],
        capture_output=True, text=True, timeout=60, check=True, cwd=REPO,
    ).stdout
    for flag in arguments[::2]:
        assert flag in help_text
    exposed = {int(port) for i in stage.all("EXPOSE") for port in i.words()}
    assert exposed == {8083}


def test_no_healthcheck_and_no_floating_tags(dockerfile: Dockerfile) -> None:
    # Kubernetes probes replace HEALTHCHECK (which the kubelet ignores anyway).
    for stage in dockerfile.stages:
        assert not stage.all("HEALTHCHECK")
    assert not dockerfile.global_args["PYTHON_IMAGE"].endswith(":latest")
