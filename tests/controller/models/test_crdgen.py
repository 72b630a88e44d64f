from pathlib import Path
from typing import Any

import yaml

from controller.models import crdgen
from controller.models.kinds import KINDS

REPO = Path(__file__).resolve().parents[3]


def test_committed_crds_match_the_models():
    expected = crdgen.generated_files()
    for directory in (REPO / "manifests" / "crds", REPO / "controller" / "crds"):
        on_disk = {p.name for p in directory.glob("*.yaml")}
        assert on_disk == set(expected), f"{directory}: run `make manifests`"
        for name, text in expected.items():
            assert (directory / name).read_text(encoding="utf-8") == text, (
                f"{directory / name} is stale: run `make manifests`"
            )


def test_package_dir_is_the_shipped_one():
    assert crdgen.PACKAGE_CRD_DIR == REPO / "controller" / "crds"


def test_generation_is_deterministic():
    assert crdgen.generated_files() == crdgen.generated_files()


def test_one_file_per_kind_named_after_the_plural():
    names = sorted(crdgen.generated_files())
    assert names == sorted(f"gravitee.io_{info.plural}.yaml" for info in KINDS)


def test_check_mode_reports_stale_and_missing_files(tmp_path, capsys):
    assert crdgen.main([str(tmp_path), "--check"]) == 1
    assert "missing" in capsys.readouterr().err
    files = crdgen.generated_files()
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert crdgen.main([str(tmp_path), "--check"]) == 0
    first = sorted(files)[0]
    (tmp_path / first).write_text(files[first] + "# edited\n", encoding="utf-8")
    assert crdgen.main([str(tmp_path), "--check"]) == 1
    assert "differs" in capsys.readouterr().err


def test_every_crd_is_namespaced_with_status_subresource_and_structural_roots():
    for info in KINDS:
        crd = yaml.safe_load(crdgen.render_crd(info))
        assert crd["metadata"]["name"] == f"{info.plural}.gravitee.io"
        assert crd["spec"]["scope"] == "Namespaced"
        (version,) = crd["spec"]["versions"]
        assert version["subresources"] == {"status": {}}
        root = version["schema"]["openAPIV3Schema"]
        assert root["type"] == "object"
        assert {"apiVersion", "kind", "metadata", "spec", "status"} <= set(root["properties"])


def _walk(node, path, out):
    out.append((path, node))
    for key, sub in node.get("properties", {}).items():
        _walk(sub, f"{path}.{key}", out)
    if isinstance(node.get("items"), dict):
        _walk(node["items"], f"{path}[]", out)
    if isinstance(node.get("additionalProperties"), dict):
        _walk(node["additionalProperties"], f"{path}{{}}", out)


def test_every_schema_node_has_a_type_and_objects_have_descriptions():
    for info in KINDS:
        root = crdgen.build_crd(info)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        nodes: list[tuple[str, dict[str, Any]]] = []
        _walk(root, "", nodes)
        for path, node in nodes:
            assert "type" in node, f"{info.kind}{path} has no type (not structural)"
        spec = root["properties"]["spec"]
        assert spec["description"], info.kind


def test_descriptions_are_our_own():
    from tests.controller.models.upstream import upstream_crd

    for info in KINDS:
        ours = crdgen.build_crd(info)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        theirs = upstream_crd(info)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        ours_nodes: list[tuple[str, dict[str, Any]]] = []
        their_nodes: list[tuple[str, dict[str, Any]]] = []
        _walk(ours, "", ours_nodes)
        _walk(theirs, "", their_nodes)
        their_descriptions = {n.get("description") for _, n in their_nodes} - {None}
        copied = [
            path
            for path, node in ours_nodes
            if node.get("description") in their_descriptions and len(node["description"]) > 30
        ]
        assert copied == [], f"{info.kind}: descriptions copied from upstream at {copied}"
