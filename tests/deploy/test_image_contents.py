"""What `pip install` puts in the operator image, reproduced without Docker.

The operator build stage of deploy/Dockerfile sees only the packaging files and `controller/`.
This test stages exactly that context, builds the package from it with setuptools (offline,
``build_py``, the step that selects packages and package data for the wheel) and imports every
module of the result in an interpreter that cannot see the repository.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.deploy.dockerfile import copy_from, copy_sources, parse
from tests.deploy.rendering import CRD_PLURALS, DEPLOY, REPO

#: Distributions installed in the test venv that the operator image does not contain.
_NOT_IN_THE_IMAGE = {
    "pip", "setuptools", "pkg_resources", "_distutils_hack", "wheel",
    "pytest", "_pytest", "pytest_asyncio", "pytest_timeout",
    "trustme", "jsonpatch", "openapi_core", "mypy", "importlinter", "kubernetes_validate",
}


@pytest.fixture(scope="module")
def built_lib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dockerfile = parse(DEPLOY / "Dockerfile")
    context = tmp_path_factory.mktemp("operator-context")
    for copy in dockerfile.stage("operator-build").all("COPY"):
        assert copy_from(copy) is None
        for source in copy_sources(copy):
            origin = REPO / source
            if origin.is_dir():
                shutil.copytree(origin, context / source,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(origin, context / source)
    build_lib = tmp_path_factory.mktemp("build-lib")
    subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()",
         "--quiet", "build_py", "--build-lib", str(build_lib)],
        cwd=context, check=True, capture_output=True, text=True, timeout=120,
    )
    return build_lib


def test_the_package_holds_the_operator_and_not_the_simulators(built_lib: Path) -> None:
    top_level = {path.name for path in built_lib.iterdir()}
    assert top_level == {"controller"}
    assert (built_lib / "controller" / "__main__.py").is_file()
    assert (built_lib / "controller" / "py.typed").is_file()


def test_the_package_ships_the_crds_for_apply_crds(built_lib: Path) -> None:
    shipped = sorted(p.name for p in (built_lib / "controller" / "crds").glob("*.yaml"))
    if not shipped and not list((REPO / "controller" / "crds").glob("*.yaml")):
        pytest.skip("controller/crds/ is still empty: `make manifests` has not been run yet")
    assert shipped == sorted(f"gravitee.io_{plural}.yaml" for plural in CRD_PLURALS)


def test_every_operator_module_imports_without_the_repository(built_lib: Path,
                                                              tmp_path: Path) -> None:
    site_packages = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()
    absent = sorted(_NOT_IN_THE_IMAGE)
    script = textwrap.dedent(
        f"""
        import importlib, pkgutil, sys
        sys.path[:] = [{str(built_lib)!r}, {site_packages!r}] + [
            p for p in sys.path if p.endswith(".zip") or "lib/python" in p
            and "site-packages" not in p
        ]
        # Not in the image: pip and setuptools are uninstalled, test/sim extras never installed.
        for absent in {absent!r}:
            sys.modules[absent] = None
        import controller
        assert controller.__file__.startswith({str(built_lib)!r}), controller.__file__
        names = [m.name for m in pkgutil.walk_packages(controller.__path__, "controller.")]
        for name in names:
            if name != "controller.__main__":
                importlib.import_module(name)
        importlib.import_module("controller.__main__")
        assert not [m for m in sys.modules if m == "sim" or m.startswith("sim.")]
        try:
            import sim
        except ModuleNotFoundError:
            pass
        else:
            raise AssertionError("sim is importable from the staged image")
        print(len(names))
        """
    )
    # -S: no site processing, so the editable install of the repository is not on the path.
    completed = subprocess.run(
        [sys.executable, "-S", "-c", script],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"},
    )
    assert completed.returncode == 0, completed.stderr
    assert int(completed.stdout.strip()) > 20
