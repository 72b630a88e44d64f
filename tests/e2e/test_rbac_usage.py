"""The RBAC usage report over the test API server's audit log (narrow unit tests, no I/O)."""

from __future__ import annotations

import json
from typing import Any

import yaml

from tests.e2e.rbac_usage import ROLE, granted, main, report, usage

RULES = {("gravitee.io", "apidefinitions", "list"), ("gravitee.io", "apidefinitions", "watch"),
         ("gravitee.io", "apidefinitions/status", "patch"), ("", "secrets", "get")}


def line(verb: str, resource: str, code: int, *, group: str = "", sub: str = "",
         stage: str = "ResponseComplete") -> str:
    ref: dict[str, Any] = {"resource": resource, "apiGroup": group}
    if sub:
        ref["subresource"] = sub
    return json.dumps({"verb": verb, "stage": stage, "objectRef": ref,
                       "responseStatus": {"code": code}})


def test_used_unused_and_refused():
    lines = [
        line("list", "apidefinitions", 200, group="gravitee.io"),
        line("watch", "apidefinitions", 200, group="gravitee.io"),
        line("watch", "apidefinitions", 200, group="gravitee.io", stage="ResponseStarted"),
        line("patch", "apidefinitions", 200, group="gravitee.io", sub="status"),
        line("list", "namespaces", 403),
        json.dumps({"verb": "get", "stage": "ResponseComplete", "requestURI": "/version",
                    "responseStatus": {"code": 200}}),
        "",
    ]
    result = usage(lines, RULES)
    assert result.used == {("gravitee.io", "apidefinitions", "list"): 1,
                           ("gravitee.io", "apidefinitions", "watch"): 1,
                           ("gravitee.io", "apidefinitions/status", "patch"): 1}
    assert result.denied == {("", "namespaces", "list"): 1}
    assert result.unused == [("", "secrets", "get")]
    text = report(result, RULES)
    assert "list    core/namespaces  1" in text
    assert "get     core/secrets" in text


def test_the_shipped_role_is_read_whole():
    rules = granted(yaml.safe_load(ROLE.read_text()))
    assert ("gravitee.io", "apidefinitions/status", "patch") in rules
    assert ("", "configmaps", "delete") in rules
    assert ("", "secrets", "create") not in rules


def test_exit_status(tmp_path):
    log = tmp_path / "audit.log"
    log.write_text(line("get", "secrets", 200) + "\n")
    assert main([str(log)]) == 0
    log.write_text(line("get", "secrets", 200) + "\n" + line("list", "nodes", 403) + "\n")
    assert main([str(log)]) == 1
    log.write_text("")
    assert main([str(log)]) == 1
    assert main([]) == 2


def test_a_403_that_rbac_allowed_is_not_a_missing_rule():
    """An Event posted into a namespace being terminated: RBAC said allow, admission refused."""
    refused_by_admission = json.loads(line("create", "events", 403))
    refused_by_admission["annotations"] = {"authorization.k8s.io/decision": "allow"}
    refused_by_rbac = json.loads(line("list", "namespaces", 403))
    refused_by_rbac["annotations"] = {"authorization.k8s.io/decision": "forbid"}
    result = usage([json.dumps(refused_by_admission), json.dumps(refused_by_rbac)], RULES)
    assert result.denied == {("", "namespaces", "list"): 1}
    assert result.used == {("", "events", "create"): 1}
