"""Templating: the language subset, the exact upstream error messages, and source bookkeeping."""

from collections.abc import Mapping
from typing import Any

import pytest

from controller.reconcilers.framework.errors import (
    CompileTemplateError,
    ResolveRefError,
)
from controller.reconcilers.support.templating import (
    SourceRef,
    compile_spec,
    contains_templates,
    referenced_sources,
)


class Sources:
    def __init__(self, secrets=None, configmaps=None):
        self.secrets = secrets or {}
        self.configmaps = configmaps or {}
        self.reads: list[tuple[str, str, str]] = []

    def secret_data(self, namespace: str, name: str) -> Mapping[str, str] | None:
        self.reads.append(("secret", namespace, name))
        return self.secrets.get((namespace, name))

    def configmap_data(self, namespace: str, name: str) -> Mapping[str, str] | None:
        self.reads.append(("configmap", namespace, name))
        return self.configmaps.get((namespace, name))


SOURCES = Sources(
    secrets={("team", "creds"): {"token": "s3cr3t", "empty": ""}},
    configmaps={("team", "settings"): {"host": "backend.team.svc", "port": "8080"}},
)


def compile_in_team(spec):
    return compile_spec(spec, namespace="team", reader=SOURCES)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("[[ secret `creds/token` ]]", "s3cr3t"),
        ('[[ secret "creds/token" ]]', "s3cr3t"),
        ("[[secret `creds/token`]]", "s3cr3t"),
        ("Bearer [[ secret `creds/token` ]]!", "Bearer s3cr3t!"),
        (
            "http://[[ configmap `settings/host` ]]:[[ configmap `settings/port` ]]/x",
            "http://backend.team.svc:8080/x",
        ),
        ("a  [[- secret `creds/token` -]]  b", "as3cr3tb"),
        ('[[ "literal" ]]', "literal"),
        ("x[[/* a comment */]]y", "xy"),
        ("no template here", "no template here"),
    ],
)
def test_renders_templates_in_strings(template, expected):
    assert compile_in_team({"v": template}).spec == {"v": expected}


def test_walks_every_string_value_but_not_keys_or_other_scalars():
    spec: dict[str, Any] = {
        "[[ secret `creds/token` ]]": "key is kept",
        "list": [
            "[[ secret `creds/token` ]]",
            3,
            True,
            None,
            {"deep": "[[ configmap `settings/port` ]]"},
        ],
        "number": 5,
    }
    compiled = compile_in_team(spec)
    assert compiled.spec == {
        "[[ secret `creds/token` ]]": "key is kept",
        "list": ["s3cr3t", 3, True, None, {"deep": "8080"}],
        "number": 5,
    }
    assert compiled.sources == frozenset(
        {SourceRef("secret", "team", "creds"), SourceRef("configmap", "team", "settings")}
    )
    # The input is untouched.
    assert spec["list"][0] == "[[ secret `creds/token` ]]"


def test_sources_are_read_in_the_objects_namespace_only():
    sources = Sources(secrets={("other", "creds"): {"token": "x"}})
    with pytest.raises(ResolveRefError) as raised:
        compile_spec({"v": "[[ secret `creds/token` ]]"}, namespace="team", reader=sources)
    assert str(raised.value) == "secret [team/creds] not found"
    assert sources.reads == [("secret", "team", "creds")]


@pytest.mark.parametrize(
    ("template", "error_type", "message"),
    [
        ("[[ secret `` ]]", CompileTemplateError, "empty secret name"),
        ("[[ configmap `/key` ]]", CompileTemplateError, "empty configmap name"),
        ("[[ secret `creds` ]]", CompileTemplateError, "wrong secret name. Example my-secret/key1"),
        (
            "[[ configmap `a/b/c` ]]",
            CompileTemplateError,
            "wrong configmap name. Example my-configmap/key1",
        ),
        ("[[ secret `missing/token` ]]", ResolveRefError, "secret [team/missing] not found"),
        ("[[ configmap `missing/k` ]]", ResolveRefError, "configmap [team/missing] not found"),
        (
            "[[ secret `creds/nope` ]]",
            CompileTemplateError,
            "key [nope] not found in secret [team/creds]",
        ),
        (
            "[[ secret `creds/empty` ]]",
            CompileTemplateError,
            "key [empty] not found in secret [team/creds]",
        ),
        (
            "[[ configmap `settings/nope` ]]",
            CompileTemplateError,
            "key [nope] not found in configmap [team/settings]",
        ),
    ],
)
def test_errors_carry_upstream_messages(template, error_type, message):
    with pytest.raises(error_type) as raised:
        compile_in_team({"v": template})
    assert type(raised.value) is error_type
    assert str(raised.value) == message


@pytest.mark.parametrize(
    "template",
    [
        "[[ secret `creds/token` ",
        "[[ env `X` ]]",
        "[[ secret ]]",
        "[[ secret `a/b` `c/d` ]]",
        "[[ ]]",
        "[[ secret `a/b` | upper ]]",
        "[[/* unclosed ]]",
    ],
)
def test_malformed_templates_are_compile_errors_not_retried(template):
    with pytest.raises(CompileTemplateError) as raised:
        compile_in_team({"v": template})
    assert not raised.value.recoverable


def test_missing_source_is_recoverable():
    with pytest.raises(ResolveRefError) as raised:
        compile_in_team({"v": "[[ secret `missing/token` ]]"})
    assert raised.value.recoverable


def test_referenced_sources_reads_nothing_and_ignores_broken_templates():
    spec = {"a": "[[ secret `creds/token` ]]", "b": ["[[ configmap `cm/k` ]]"]}
    assert referenced_sources(spec, namespace="ns") == frozenset(
        {SourceRef("secret", "ns", "creds"), SourceRef("configmap", "ns", "cm")}
    )
    assert referenced_sources({"a": "[[ nope ]]"}, namespace="ns") == frozenset()
    assert contains_templates({"x": [1, {"y": "[[ secret `a/b` ]]"}]})
    assert not contains_templates({"x": [1, {"y": "plain"}]})
