"""Code cites documentation that ships with it: never a file outside the repository.

Docstrings and comments in ``controller/`` and ``sim/`` point at ``docs/...md`` sections. A
citation of the shared spec folder (``gko-behavior.md``, ``apim-contract.md``, ``../shared/...``)
would send a reader of a checkout or an installed package to a file they do not have. Every
``docs/...md#anchor`` cited anywhere in the code must also name an existing file and heading.
"""

from __future__ import annotations

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHECKED = ("controller", "sim")
CITING = ("controller", "sim", "benchmarks", "examples", "tests")

# Files the reconcile-framework rewrite (issue 13) replaces; their citations move with the new
# code. Removed once the framework lands: this list must then be empty.
NOT_YET: frozenset[str] = frozenset()
"""Files allowed to cite outside the repository: none since the reconcile framework landed."""

OUTSIDE = re.compile(
    r"gko-behavior\.md|apim-contract\.md|engineering-anchors\.md|gko-scenarios\.md"
    r"|(?<!docs/)architecture\.md|\.\./shared/|spec/README\.md",
)
DOC_LINK = re.compile(r"docs/(behavior/[a-z0-9-]+\.md|README\.md)(?:#([a-z0-9-]+))?")


def _sources(folders: tuple[str, ...]) -> list[pathlib.Path]:
    files: list[pathlib.Path] = []
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in (".py", ".md") and "__pycache__" not in path.parts:
                files.append(path)
    return files


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(doc: pathlib.Path) -> set[str]:
    return {
        _anchor(line.lstrip("#"))
        for line in doc.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }


def outside_citations(path: pathlib.Path) -> list[str]:
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if OUTSIDE.search(line):
            found.append(f"{path.relative_to(ROOT).as_posix()}:{number}: {line.strip()}")
    return found


def test_no_module_cites_a_file_outside_the_repository() -> None:
    found = [
        hit
        for path in _sources(CHECKED)
        if path.relative_to(ROOT).as_posix() not in NOT_YET
        for hit in outside_citations(path)
    ]
    assert found == [], "cite docs/... instead:\n" + "\n".join(found)


def test_the_exclusions_still_exist() -> None:
    assert all((ROOT / name).exists() for name in NOT_YET)


def test_every_cited_docs_section_exists() -> None:
    broken = []
    for path in _sources(CITING):
        if path.resolve() == pathlib.Path(__file__).resolve():
            continue
        for match in DOC_LINK.finditer(path.read_text(encoding="utf-8")):
            doc = ROOT / "docs" / match.group(1)
            anchor = match.group(2)
            if not doc.is_file() or (anchor and anchor not in _anchors(doc)):
                broken.append(f"{path.relative_to(ROOT).as_posix()}: {match.group(0)}")
    assert broken == []


@pytest.mark.parametrize(
    ("line", "cites"),
    [
        ("see gko-behavior.md 3.4", True),
        ("(../shared/spec/apim-contract.md section 2)", True),
        ("see docs/behavior/ids.md#v4-apis", False),
        ("see docs/architecture.md", False),
        ("the spec's architecture.md", True),
    ],
)
def test_the_pattern(line: str, cites: bool) -> None:
    assert bool(OUTSIDE.search(line)) is cites


def test_anchor_rule() -> None:
    assert _anchor(" Errors and retries") == "errors-and-retries"
    assert _anchor(" APIs (v2 and v4)") == "apis-v2-and-v4"
    assert _anchor(" What APIM derives in HRID mode") == "what-apim-derives-in-hrid-mode"
