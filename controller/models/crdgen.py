"""Generates the CustomResourceDefinitions from the models (``make manifests``).

``python -m controller.models.crdgen DIR [DIR...]`` writes ``gravitee.io_<plural>.yaml`` for every
kind in ``kinds.KINDS`` into each DIR and into ``controller/crds/`` (shipped with the package for
``APPLY_CRDS``). ``--check`` compares instead of writing and exits 1 on any difference.
Output is deterministic: sorted keys, fixed width, no timestamps.

Must never read upstream CRDs or copy schema text: everything comes from the models.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from controller.models.kinds import KINDS, KindInfo
from controller.models.resources import GROUP, VERSION
from controller.models.schema import schema_of

__all__ = ["PACKAGE_CRD_DIR", "build_crd", "crd_file_name", "generated_files", "main", "render_crd"]

PACKAGE_CRD_DIR = Path(__file__).resolve().parent.parent / "crds"

_HEADER = "# Generated from controller/models by `make manifests`. Do not edit by hand.\n"


def crd_file_name(info: KindInfo) -> str:
    return f"{GROUP}_{info.plural}.yaml"


def build_crd(info: KindInfo) -> dict[str, Any]:
    """The CRD object of one kind."""
    names: dict[str, Any] = {
        "kind": info.kind,
        "listKind": f"{info.kind}List",
        "plural": info.plural,
        "singular": info.singular,
    }
    if info.short_names:
        names["shortNames"] = list(info.short_names)
    if info.categories:
        names["categories"] = list(info.categories)
    root = {
        "type": "object",
        "description": info.description,
        "properties": {
            "apiVersion": {"type": "string", "description": "Versioned schema of this object."},
            "kind": {"type": "string", "description": "REST resource this object represents."},
            "metadata": {"type": "object"},
            "spec": schema_of(info.spec_type),
            "status": schema_of(info.status_type),
        },
    }
    version: dict[str, Any] = {
        "name": VERSION,
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": root},
        "subresources": {"status": {}},
    }
    if info.all_printer_columns:
        columns = []
        for column in info.all_printer_columns:
            entry = {"name": column.name, "jsonPath": column.json_path, "type": column.type}
            if column.description:
                entry["description"] = column.description
            columns.append(entry)
        version["additionalPrinterColumns"] = columns
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": info.crd_name},
        "spec": {"group": GROUP, "names": names, "scope": "Namespaced", "versions": [version]},
    }


def render_crd(info: KindInfo) -> str:
    """The YAML text of one CRD."""
    body = yaml.safe_dump(
        build_crd(info), sort_keys=True, default_flow_style=False, width=100, allow_unicode=True
    )
    return _HEADER + body


def generated_files() -> dict[str, str]:
    """File name -> YAML text, for every kind."""
    return {crd_file_name(info): render_crd(info) for info in KINDS}


def _differences(directory: Path, files: dict[str, str]) -> list[str]:
    out = []
    for name, text in files.items():
        path = directory / name
        if not path.exists():
            out.append(f"{path}: missing")
        elif path.read_text(encoding="utf-8") != text:
            out.append(f"{path}: differs from the models")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m controller.models.crdgen")
    parser.add_argument("directories", nargs="*", type=Path, help="extra output directories")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    directories = [*args.directories, PACKAGE_CRD_DIR]
    files = generated_files()
    if args.check:
        problems = [p for d in directories for p in _differences(d, files)]
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    for directory in directories:
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (directory / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} CRDs to " + ", ".join(str(d) for d in directories))
    return 0


if __name__ == "__main__":
    sys.exit(main())
