"""What the operator did with its RBAC during a run against the test API server.

Reads the audit log the test API server writes for the operator's identity
(``build/testenv/audit.log``, JSON lines, level Metadata) and compares the resource requests in it
with the rules of the shipped ClusterRole (``manifests/rbac/cluster/role.yaml``): which granted
(group, resource, verb) triples were used, which were never used, and which requests were refused
(403, i.e. a permission the shipped RBAC lacks). ``make test-real`` prints the report after the
e2e suite and fails when anything was refused. Non-resource requests (discovery, ``/version``)
are left out: every authenticated user may make them.

    python -m tests.e2e.rbac_usage build/testenv/audit.log [manifests/rbac/cluster/role.yaml]
"""

from __future__ import annotations

import json
import pathlib
import sys
from collections import Counter
from collections.abc import Iterable
from typing import Any

import attrs
import yaml

ROLE: pathlib.Path = (
    pathlib.Path(__file__).resolve().parents[2] / "manifests/rbac/cluster/role.yaml"
)

Permission = tuple[str, str, str]
"""(API group, resource[/subresource], verb)."""


@attrs.frozen
class Usage:
    used: Counter[Permission]
    denied: Counter[Permission]
    unused: list[Permission]


def granted(role: dict[str, Any]) -> set[Permission]:
    """Every (group, resource, verb) a Role/ClusterRole's rules spell out (no wildcards in ours)."""
    found = set()
    for rule in role.get("rules") or []:
        for group in rule.get("apiGroups") or []:
            for resource in rule.get("resources") or []:
                for verb in rule.get("verbs") or []:
                    found.add((group, resource, verb))
    return found


def requests(lines: Iterable[str]) -> Iterable[tuple[Permission, int]]:
    """(permission, response code) of each resource request in audit-log lines."""
    for line in lines:
        if not line.strip():
            continue
        event = json.loads(line)
        ref = event.get("objectRef")
        if not ref or event.get("stage") != "ResponseComplete":
            continue
        resource = ref.get("resource", "")
        if ref.get("subresource"):
            resource += "/" + ref["subresource"]
        code = int((event.get("responseStatus") or {}).get("code", 0))
        decision = (event.get("annotations") or {}).get("authorization.k8s.io/decision")
        if code == 403 and decision == "allow":
            # Allowed by RBAC, refused by admission: e.g. an Event posted into a namespace that
            # is being terminated (the e2e suite deletes its namespaces). Not a missing rule.
            code = 0
        yield (ref.get("apiGroup", ""), resource, event["verb"]), code


def usage(lines: Iterable[str], rules: set[Permission]) -> Usage:
    used: Counter[Permission] = Counter()
    denied: Counter[Permission] = Counter()
    for permission, code in requests(lines):
        (denied if code == 403 else used)[permission] += 1
    return Usage(used, denied, sorted(rules - set(used)))


def report(result: Usage, rules: set[Permission]) -> str:
    def name(p: Permission) -> str:
        return f"{p[2]:<7} {p[0] or 'core'}/{p[1]}"

    out = ["Operator requests by permission (count):"]
    out += [f"  {name(p)}  {n}" + ("" if p in rules else "  (not in the ClusterRole)")
            for p, n in sorted(result.used.items())]
    out.append("Granted by the ClusterRole, never used in this run:")
    out += [f"  {name(p)}" for p in result.unused] or ["  (none)"]
    out.append("Refused (403): missing from the ClusterRole:")
    out += [f"  {name(p)}  {n}" for p, n in sorted(result.denied.items())] or ["  (none)"]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        print(__doc__, file=sys.stderr)
        return 2
    role_path = pathlib.Path(argv[1]) if len(argv) == 2 else ROLE
    rules = granted(yaml.safe_load(role_path.read_text()))
    with open(argv[0], encoding="utf-8") as log:
        result = usage(log, rules)
    print(report(result, rules))
    if not result.used:
        print("no request of the operator in the audit log: did the e2e suite run?",
              file=sys.stderr)
        return 1
    return 1 if result.denied else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
