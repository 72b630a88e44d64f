"""What a new user meets first with ``make demo --manifests DIR`` (issue 17, items 14 and 15).

``first_hour/`` holds a tutorial as people write it: ``.yml`` files, objects without a
namespace, and an ApiDefinition without a plan, which APIM refuses to deploy. The demo must read
it, say why the API is refused and show the one line that fixes it; with the README's line
added, everything is accepted.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from pathlib import Path

import pytest

from examples.demo import PLAN_FIX, load_manifests, manifest_files

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = Path(__file__).resolve().parent / "first_hour"


def _readme_fix(kind: str) -> str:
    """The fix line the README's troubleshooting section shows for ``kind``."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    lines = [line.strip() for line in section.splitlines()
             if line.strip().startswith("plans:") and f"# {kind}" in line]
    assert len(lines) == 1, f"no single fix line for {kind} in the README's troubleshooting"
    return lines[0].split("#", 1)[0].strip()


def test_manifests_read_yml_files_and_default_the_namespace(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n---\n"
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n")
    (tmp_path / "b.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: two\n  namespace: team\n")
    (tmp_path / "c.txt").write_text("not a manifest")
    assert [p.name for p in manifest_files(tmp_path)] == ["a.yml", "b.yaml"]
    objects = load_manifests("http://apim", tmp_path)
    assert [(o["kind"], o["metadata"].get("namespace")) for o in objects] == [
        ("ConfigMap", "default"), ("Namespace", None), ("ConfigMap", "team")]


def test_the_readme_shows_the_fix_the_demo_prints() -> None:
    for kind, fix in PLAN_FIX.items():
        assert _readme_fix(kind) == fix


async def _demo(manifests: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "examples.demo", "--manifests", str(manifests), "--settle", "1",
        cwd=str(ROOT), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), 200)
    text = out.decode()
    kept = re.search(r"^logs kept in (\S+)$", text, re.MULTILINE)
    if kept:
        shutil.rmtree(kept.group(1), ignore_errors=True)
    assert process.returncode is not None
    return process.returncode, text


@pytest.mark.timeout(300)
async def test_tutorial_api_without_plan_gets_the_fix_and_works_with_it(tmp_path: Path) -> None:
    code, text = await _demo(TUTORIAL)
    assert code == 1, text
    # Both .yml files were applied, into the default namespace.
    assert re.search(r"^ok\s+ManagementContext\s+default/tutorial-context\s+True", text,
                     re.MULTILINE), text
    # refused by the admission webhook at apply time
    assert re.search(r"^!!\s+ApiDefinition\s+default/tutorial-api\s+Refused\s+AdmissionWebhook",
                     text, re.MULTILINE), text
    assert "hint: ApiDefinition default/tutorial-api has no plan" in text
    assert f"    {PLAN_FIX['ApiDefinition']}\n" in text

    fixed = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, fixed)
    api = fixed / "20-api.yml"
    api.write_text(api.read_text().replace(
        "\nspec:\n", f"\nspec:\n  {_readme_fix('ApiDefinition')}\n", 1))
    code, text = await _demo(fixed)
    assert code == 0, text
    assert "demo OK: 2 objects accepted, 0 rejected as expected" in text
    assert "hint:" not in text
