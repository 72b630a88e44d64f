"""What APIM's import validation reports, as ``severe`` and ``warning`` message lists.

Owns the rules the simulator applies to import bodies (v1 ``import-crd`` and the Automation API):
unknown categories, groups and members are warnings (the import goes on); a resource that cannot
be checked against any resource plugin (no type, or a configuration that is not an object) is
severe (the import is refused unless it is a dry run). Messages are APIM's strings; which inputs
trigger them is the simulator's simplification. Pure functions over the body and
:class:`SimulatorState`; never mutates it.
"""

from __future__ import annotations

from typing import Any

import attrs

from sim.apim.state import SimulatorState


@attrs.define
class Findings:
    severe: list[str] = attrs.field(factory=list)
    warning: list[str] = attrs.field(factory=list)

    def as_json(self) -> dict[str, list[str]]:
        # APIM returns warnings sorted, severe keep discovery order (docs/behavior/apim-calls.md).
        return {"severe": list(self.severe), "warning": sorted(self.warning)}


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str)]


def check_categories(
    state: SimulatorState, org: str, env: str, body: dict[str, Any], out: Findings
) -> None:
    for name in _strings(body.get("categories")):
        if not state.category_exists(org, env, name):
            out.warning.append(f"category [{name}] is not defined in environment [{env}]")


def check_groups(
    state: SimulatorState, org: str, env: str, body: dict[str, Any], out: Findings
) -> None:
    for ref in _strings(body.get("groups")):
        if not state.group_exists(org, env, ref):
            out.warning.append(f"Group [{ref}] could not be found in environment [{env}]")


def check_members(state: SimulatorState, org: str, body: dict[str, Any], out: Findings) -> None:
    for member in body.get("members") or []:
        if not isinstance(member, dict):
            continue
        source_id = str(member.get("sourceId", ""))
        source = str(member.get("source", ""))
        if not state.user_exists(org, source_id):
            out.warning.append(
                f"member [{source_id}] of source [{source}] could not be found in "
                f"organization [{org}]"
            )


def check_resources(body: dict[str, Any], out: Findings) -> None:
    for resource in body.get("resources") or []:
        if not isinstance(resource, dict):
            continue
        name = resource.get("name", "")
        configuration = resource.get("configuration")
        usable = (
            isinstance(resource.get("type"), str)
            and resource.get("type")
            and (configuration is None or isinstance(configuration, dict))
        )
        if not usable:
            out.severe.append(f"Resource [{name}] configuration is not valid")


def validate_api(state: SimulatorState, org: str, env: str, body: dict[str, Any]) -> Findings:
    """Findings for a v2 (``import-crd``) or v4 (Automation) API import body."""
    out = Findings()
    check_resources(body, out)
    check_categories(state, org, env, body, out)
    check_groups(state, org, env, body, out)
    check_members(state, org, body, out)
    return out


def validate_application(
    state: SimulatorState, org: str, env: str, body: dict[str, Any]
) -> Findings:
    out = Findings()
    check_groups(state, org, env, body, out)
    check_members(state, org, body, out)
    return out


def validate_group(state: SimulatorState, org: str, body: dict[str, Any]) -> Findings:
    out = Findings()
    check_members(state, org, body, out)
    return out
