"""The README's troubleshooting section (issue 17, item 19): how to find out why an object is not
Accepted, and whether each upstream setting and kind is supported."""

from __future__ import annotations

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
UPSTREAM_CRDS = ROOT.parent / "shared" / "reference" / "gko" / "crds"


def _troubleshooting() -> str:
    text = (ROOT / "README.md").read_text()
    assert "\n## Troubleshooting\n" in text
    return text.split("\n## Troubleshooting\n", 1)[1].split("\n## ", 1)[0]


def test_it_says_where_to_look() -> None:
    section = _troubleshooting()
    for needle in ("status.conditions", "kubectl get events", "kubectl logs",
                   "controller_runtime_reconcile_errors_total", "make demo MANIFESTS=DIR"):
        assert needle in section, needle


def test_every_setting_the_operator_reads_is_listed() -> None:
    section = _troubleshooting()
    source = (ROOT / "controller" / "config.py").read_text()
    read = set(re.findall(r'env\.\w+\(\s*"([A-Z][A-Z0-9_]+)"', source))
    assert len(read) > 30
    for name in sorted(read):
        prefix = next((p for p in ("HTTP_CLIENT_PROXY_", "WEBHOOK_", "GATEWAY_API_",
                                   "TEMPLATE_404_CONFIG_MAP_") if name.startswith(p)), None)
        assert f"`{name}`" in section or (prefix and f"`{prefix}*`" in section), name


@pytest.mark.skipif(not UPSTREAM_CRDS.is_dir(), reason=f"no upstream CRDs in {UPSTREAM_CRDS}")
def test_every_upstream_kind_is_listed() -> None:
    section = _troubleshooting()
    table = section.split("**Is it supported?**", 1)[1]
    kinds = set()
    for path in UPSTREAM_CRDS.glob("*.yaml"):
        kinds.update(re.findall(r"^    kind: (\w+)$", path.read_text(), re.MULTILINE))
    assert len(kinds) >= 16
    for kind in sorted(kinds):
        assert re.search(rf"^\|[^|\n]*\b{kind}\b[^|\n]*\|", table, re.MULTILINE), kind
