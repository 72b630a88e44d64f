"""``make demo`` (``python -m examples.demo [--serve]``): the operator at work, locally.

Starts the Kubernetes API emulator (with our CRDs), the APIM simulator and the operator as
separate processes on free loopback ports, applies ``examples/manifests/`` (the context's
``${APIM_URL}`` becomes the simulator's address), waits until every object has been reconciled,
edits one API in APIM as a console user would and waits for the operator to report the drift,
prints what happened to each one and a summary of APIM, then stops everything. Exits 1 when an
object that should be ``Accepted=True`` is not (an object annotated
``demo.gravitee.io/expect: <Reason>`` is expected to fail with that reason instead).

``--manifests DIR`` applies ``DIR/*.yaml`` and ``DIR/*.yml`` instead (objects without a
namespace go to ``default``, as ``kubectl apply`` would put them). An API refused because it is
STARTED without a plan gets a hint with the line that fixes it
(docs/behavior/admission.md#apis-v2-and-v4).

The operator runs with its admission webhooks (``ENABLE_WEBHOOK``, self-registered on a free
loopback port): an object the webhooks refuse is shown as ``Refused`` with the webhook's message,
as ``kubectl apply`` would print it; one annotated ``demo.gravitee.io/expect: Refused`` is
expected to be (docs/behavior/admission.md#webhooks).

``--serve`` keeps everything running afterwards and prints how to use ``kubectl`` against it,
until Ctrl-C, which is the normal way to end it: the exit status is then the demo's own (0 when
every object met its expectation), and the logs stay where the demo said they are. This module
owns the demo's flow and its output; processes come from ``examples.stack``. It must never
print a Secret's content.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import pathlib
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Final

import aiohttp
import attrs
import yaml

from examples.kube import KINDS, JsonObj, KubeClient, KubeError, key_of
from examples.stack import (
    LOOPBACK,
    OperatorOptions,
    Stack,
    StackError,
    StackOptions,
    free_port,
)
from examples.watch import ConditionWatcher, condition

MANIFESTS: Final = pathlib.Path(__file__).resolve().parent / "manifests"
APIM_URL_PLACEHOLDER: Final = "${APIM_URL}"
EXPECT_ANNOTATION: Final = "demo.gravitee.io/expect"
"""Annotation naming the ``Accepted=False`` reason an object is expected to end with, or
``Refused`` when the admission webhooks are expected to refuse it."""
REFUSED: Final = "Refused"
ADMISSION: Final = "AdmissionWebhook"
DENIED: Final = "denied the request"
API_RESOURCE_FINALIZER: Final = "finalizers.gravitee.io/apiresource"
APIM_USER: Final = ("admin", "admin")
WATCHED_KINDS: Final = (
    "ManagementContext", "ApiResource", "SharedPolicyGroup", "ApiDefinition", "ApiV4Definition",
    "Application", "Subscription", "Portal", "PortalListing", "Documentation",
)
MESSAGE_WIDTH: Final = 60
DRIFT_API: Final = "orders-v4"
"""The API a console user edits in APIM during the demo (docs/behavior/drift.md)."""
DRIFT_INTERVAL: Final = 2.0
"""The demo's ``DRIFT_CHECK_INTERVAL``: short, so the drift shows within seconds."""
DEFAULT_NAMESPACE: Final = "default"
MANIFEST_SUFFIXES: Final = (".yaml", ".yml")
NO_PLANS: Final = "but the API has no plans"
"""Part of the message an API STARTED without plans is refused with
(docs/behavior/admission.md#apis-v2-and-v4)."""
PLAN_FIX: Final = {
    "ApiDefinition": "plans: [{name: Open, description: No authentication, security: KEY_LESS}]",
    "ApiV4Definition": "plans: {open: {name: Open, security: {type: KEY_LESS}}}",
}
"""The one line, under ``spec:``, that gives an API a keyless plan (README, "Troubleshooting")."""


def manifest_files(directory: pathlib.Path) -> list[pathlib.Path]:
    """``*.yaml`` and ``*.yml`` files of ``directory``, in name order."""
    return sorted(p for p in directory.iterdir()
                  if p.is_file() and p.suffix in MANIFEST_SUFFIXES)


def _with_namespace(obj: JsonObj) -> JsonObj:
    kind = KINDS.get(str(obj.get("kind")))
    metadata = obj.get("metadata")
    if (kind is None or kind.namespaced) and isinstance(metadata, dict) \
            and not metadata.get("namespace"):
        metadata["namespace"] = DEFAULT_NAMESPACE
    return obj


def load_manifests(apim_url: str, directory: pathlib.Path = MANIFESTS) -> list[JsonObj]:
    """Every document of ``directory/*.yaml`` and ``*.yml`` in file order, ``${APIM_URL}``
    filled in, namespaced objects without a namespace put in ``default``."""
    objects: list[JsonObj] = []
    for path in manifest_files(directory):
        text = path.read_text().replace(APIM_URL_PLACEHOLDER, apim_url)
        objects.extend(_with_namespace(doc) for doc in yaml.safe_load_all(text)
                       if isinstance(doc, dict))
    return objects


def plan_hint(row: Row) -> list[str]:
    """What to add when ``row`` was refused for being STARTED without a plan, else nothing."""
    fix = PLAN_FIX.get(row.kind)
    if fix is None or row.status not in ("False", REFUSED) or NO_PLANS not in row.message_full:
        return []
    return [
        f"hint: {row.kind} {row.key} has no plan, and APIM (like upstream GKO) refuses to "
        "deploy a STARTED API without one. Add this line under its spec:",
        f"    {fix}",
        "  (or set 'state: STOPPED' to keep it undeployed)",
    ]


def _untracked_resource(obj: JsonObj) -> bool:
    # Upstream ApiResource has no status at all; ours may carry conditions. Without one, its
    # finalizer is the only sign that the operator has seen it.
    return obj.get("kind") == "ApiResource" and condition(obj, "Accepted") is None


def is_reconciled(obj: JsonObj) -> bool:
    """The operator has finished with the object at least once: it has an Accepted condition
    (or, for an ApiResource without conditions, its finalizer)."""
    if _untracked_resource(obj):
        return API_RESOURCE_FINALIZER in (obj.get("metadata", {}).get("finalizers") or [])
    return condition(obj, "Accepted") is not None


@attrs.frozen(kw_only=True)
class Row:
    """One line of the result table."""

    kind: str
    key: str
    status: str
    reason: str
    message: str
    landed: str
    ok: bool
    expected: str
    message_full: str = ""
    """The condition's whole message (``message`` is cut to fit the table)."""
    drift: str = "-"
    """The ``Drifted`` condition's reason (``-``: never found drifted)."""


def expectation(obj: JsonObj) -> str:
    """``Accepted``, or the ``Accepted=False`` reason the object is annotated to end with."""
    return str((obj["metadata"].get("annotations") or {}).get(EXPECT_ANNOTATION, "Accepted"))


def meets_expectation(obj: JsonObj) -> bool:
    if _untracked_resource(obj):
        return is_reconciled(obj)
    accepted = condition(obj, "Accepted") or {}
    expected = expectation(obj)
    if expected == "Accepted":
        return accepted.get("status") == "True"
    return accepted.get("status") == "False" and accepted.get("reason") == expected


async def wait_settled(watchers: Mapping[str, ConditionWatcher], tracked: Sequence[JsonObj],
                       *, timeout: float, settle: float) -> None:
    """Wait (up to ``timeout``) until every object was reconciled once, then give the ones not
    yet in their expected state up to ``settle`` more seconds: recoverable errors are retried
    with backoff, so a first ``Accepted=False`` is not necessarily the last word."""
    deadline = time.monotonic() + timeout

    def keys_of(kind: str) -> list[str]:
        return [key_of(o) for o in tracked if o["kind"] == kind]

    def all_of(watcher: ConditionWatcher, keys: list[str],
               test: Callable[[JsonObj], bool]) -> Callable[[], bool]:
        return lambda: all(test(watcher.latest.get(k, {})) for k in keys)

    for kind, watcher in watchers.items():
        await watcher.wait_until(all_of(watcher, keys_of(kind), is_reconciled),
                                 timeout=max(0.0, deadline - time.monotonic()))
    settle_deadline = min(deadline, time.monotonic() + settle)
    for kind, watcher in watchers.items():
        await watcher.wait_until(all_of(watcher, keys_of(kind), meets_expectation),
                                 timeout=max(0.0, settle_deadline - time.monotonic()))


def deadline_left(timeout: float) -> float:
    return max(1.0, timeout / 4)


async def wait_generated(watcher: ConditionWatcher, ingresses: Sequence[JsonObj], *,
                         timeout: float) -> dict[str, JsonObj]:
    """The ApiDefinition generated for each Ingress once it is ``Accepted=True`` (an Ingress
    has no conditions of its own: its API says how it went)."""
    keys = [key_of(o) for o in ingresses]

    def accepted(key: str) -> bool:
        return (condition(watcher.latest.get(key, {}), "Accepted") or {}).get("status") == "True"

    await watcher.wait_until(lambda: all(accepted(k) for k in keys), timeout=timeout)
    return {k: watcher.latest[k] for k in keys if k in watcher.latest}


async def ingress_row(kube: KubeClient, ingress: JsonObj, api: JsonObj | None) -> Row:
    """The Ingress's line: Accepted is its generated ApiDefinition's."""
    accepted = condition(api or {}, "Accepted") or {}
    meta = ingress["metadata"]
    landed = f"ApiDefinition {key_of(ingress)} (generated)" if api else "no API generated"
    if api is not None:
        configmap = await kube.get_or_none("ConfigMap", meta.get("namespace"), meta["name"])
        if configmap is not None:
            landed += f"; ConfigMap {key_of(ingress)}"
    return Row(kind="Ingress", key=key_of(ingress), status=str(accepted.get("status", "-")),
               reason=str(accepted.get("reason", "no API generated")),
               message=_truncate(str(accepted.get("message", ""))),
               message_full=str(accepted.get("message", "")),
               ok=accepted.get("status") == "True", expected="Accepted", landed=landed)


def ingress_summary(ingress: JsonObj, api: JsonObj | None) -> list[str]:
    """What the Ingress produced: the generated API's entrypoints, endpoints and flows."""
    if api is None:
        return [f"Ingress {key_of(ingress)}: no ApiDefinition generated"]
    spec = api.get("spec") or {}
    proxy = spec.get("proxy") or {}
    lines = [f"Ingress {key_of(ingress)} produced ApiDefinition {key_of(api)} "
             f"(annotation gravitee.io/extends: "
             f"{(api['metadata'].get('annotations') or {}).get('gravitee.io/extends')}):"]
    for host in proxy.get("virtual_hosts") or []:
        lines.append(f"  entrypoint  {host.get('host') or '(any host)'}{host.get('path')}")
    for group in proxy.get("groups") or []:
        for endpoint in group.get("endpoints") or []:
            lines.append(f"  endpoint    {endpoint['name']} -> {endpoint['target']}")
    for flow in spec.get("flows") or []:
        lines.append(f"  flow        {flow.get('name')}: {flow.get('condition')}")
    lines.append("  plans       " + ", ".join(
        f"{p.get('name')} ({p.get('security')})" for p in spec.get("plans") or []))
    lines.append("")
    return lines


def _truncate(text: str, width: int = MESSAGE_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _resource_users(objects: Sequence[JsonObj], resource: JsonObj) -> list[str]:
    name = resource["metadata"]["name"]
    namespace = resource["metadata"].get("namespace", "default")
    users = []
    for obj in objects:
        for entry in obj.get("spec", {}).get("resources") or []:
            ref = entry.get("ref") if isinstance(entry, dict) else None
            if isinstance(ref, dict) and ref.get("name") == name and ref.get(
                "namespace", obj["metadata"].get("namespace")
            ) == namespace:
                users.append(obj["metadata"]["name"])
    return users


def _spg_users(objects: Sequence[JsonObj], group: JsonObj) -> list[str]:
    """v4 APIs of ``objects`` with a flow step (API or plan flows) naming ``group``."""
    name = group["metadata"]["name"]
    namespace = group["metadata"].get("namespace", DEFAULT_NAMESPACE)
    users = []
    for obj in objects:
        if obj.get("kind") != "ApiV4Definition":
            continue
        spec = obj.get("spec") or {}
        flows = list(spec.get("flows") or [])
        for plan in (spec.get("plans") or {}).values():
            flows += (plan or {}).get("flows") or []
        refs = [
            step.get("sharedPolicyGroupRef") or {}
            for flow in flows for steps in (flow or {}).values() if isinstance(steps, list)
            for step in steps if isinstance(step, dict)
        ]
        if any(ref.get("name") == name and ref.get(
                "namespace", obj["metadata"].get("namespace")) == namespace for ref in refs):
            users.append(obj["metadata"]["name"])
    return users


def _subscription_landed(obj: JsonObj) -> str:
    """Subscription id, plan and how many API keys: never a key itself."""
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    api = (spec.get("api") or {}).get("name")
    keys = len(spec.get("apiKeys") or [])
    parts = [f"APIM id {status['id']}" if status.get("id") else "not in APIM",
             f"plan {spec.get('plan')} of {api}"]
    if keys:
        parts.append(f"{keys} API key{'s' if keys > 1 else ''} (value not shown)")
    return "; ".join(parts)


def _portal_landed(obj: JsonObj) -> str:
    """Where a portal, listing or page is in APIM, and what it shows where."""
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    place = f"APIM id {status['id']}" if status.get("id") else "not in APIM"
    kind = obj["kind"]
    if kind == "Portal":
        paths = [e.get("path") for e in (spec.get("structure") or {}).get("topNavbar") or []]
        return f"{place}; navbar {', '.join(str(p) for p in paths) or '-'}"
    parent = (spec.get("portalRef") or {}).get("name")
    if kind == "PortalListing":
        shown = ", ".join(f"{(e.get('ref') or {}).get('name')} at {e.get('location')}"
                          for e in spec.get("apis") or [])
        return f"{place}; on portal {parent}: {shown}"
    where = f"portal {parent}" if parent else f"API {(spec.get('apiRef') or {}).get('name')}"
    return f"{place}; page of {where} at {spec.get('location') or '-'}"


async def _landed(kube: KubeClient, obj: JsonObj, manifests: Sequence[JsonObj]) -> str:
    kind = obj["kind"]
    spec = obj.get("spec", {})
    status = obj.get("status") or {}
    meta = obj["metadata"]
    if kind == "ManagementContext":
        return f"APIM at {spec.get('baseUrl')}"
    if kind == "ApiResource":
        return "used by " + ", ".join(_resource_users(manifests, obj))
    if kind == "SharedPolicyGroup":
        cross = f"APIM crossId {status['crossId']}" if status.get("crossId") else "not in APIM"
        return f"{cross}; used by " + (", ".join(_spg_users(manifests, obj)) or "no API")
    if kind == "Subscription":
        return _subscription_landed(obj)
    if kind in ("Portal", "PortalListing", "Documentation"):
        return _portal_landed(obj)
    places = []
    if status.get("id") and (spec.get("contextRef") or kind == "Application"):
        state = f" ({status['state']})" if status.get("state") else ""
        places.append(f"APIM id {status['id']}{state}")
    local = spec.get("local") is True or (
        (spec.get("definitionContext") or {}).get("syncFrom") == "KUBERNETES")
    if local:
        configmap = await kube.get_or_none("ConfigMap", meta.get("namespace"), meta["name"])
        places.append(f"ConfigMap {meta.get('namespace')}/{meta['name']}" if configmap
                      else "no ConfigMap yet")
    return "; ".join(places) or "-"


async def build_rows(kube: KubeClient, objects: Sequence[JsonObj],
                     manifests: Sequence[JsonObj]) -> list[Row]:
    rows = []
    for obj in objects:
        expected = expectation(obj)
        if _untracked_resource(obj):
            done = is_reconciled(obj)
            rows.append(Row(kind=obj["kind"], key=key_of(obj), status="-",
                            reason="finalizer set" if done else "not reconciled",
                            message="(ApiResource has no status)", ok=done, expected=expected,
                            landed=await _landed(kube, obj, manifests)))
            continue
        accepted = condition(obj, "Accepted") or {}
        status = str(accepted.get("status", "-"))
        reason = str(accepted.get("reason", "not reconciled"))
        drifted = condition(obj, "Drifted") or {}
        rows.append(Row(kind=obj["kind"], key=key_of(obj), status=status, reason=reason,
                        drift=str(drifted.get("reason", "-")),
                        message=_truncate(str(accepted.get("message", ""))),
                        message_full=str(accepted.get("message", "")),
                        ok=meets_expectation(obj),
                        expected=expected, landed=await _landed(kube, obj, manifests)))
    return rows


def refused_row(obj: JsonObj, message: str) -> Row:
    """An object the admission webhooks refused: it does not exist, the message says why."""
    expected = expectation(obj)
    return Row(kind=obj["kind"], key=key_of(obj), status=REFUSED, reason=ADMISSION,
               message=_truncate(message.split(DENIED + ": ", 1)[-1]), message_full=message,
               landed="nowhere (refused by kubectl apply)", ok=expected == REFUSED,
               expected=expected)


def render_table(rows: Sequence[Row]) -> str:
    header = ("", "KIND", "NAMESPACE/NAME", "ACCEPTED", "REASON", "MESSAGE", "DRIFTED",
              "WHERE IT LANDED")
    lines = [header] + [
        ("ok" if r.ok else "!!", r.kind, r.key, r.status, r.reason, r.message, r.drift,
         r.landed)
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line[:-1], widths, strict=True))
        + "  " + line[-1]
        for line in lines
    )


async def apim_summary(apim_url: str, applications: Sequence[JsonObj],
                       subscriptions: Sequence[JsonObj] = (),
                       portal_objects: Sequence[JsonObj] = ()) -> list[str]:
    """A few lines about what APIM now holds, read from the simulator (never an API key)."""
    token = base64.b64encode(":".join(APIM_USER).encode()).decode()
    auth = {"Authorization": f"Basic {token}"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        async with session.get(f"{apim_url}/_sim/state") as response:
            state = await response.json()
        held = ", ".join(f"{count} {name}" for name, count in state["counts"].items() if count)
        lines = [f"APIM (simulator) now holds: {held or 'nothing'}"]
        for api in sorted(state["apis"], key=lambda a: str(a.get("name"))):
            lines.append(
                f"  API {api.get('name')!r:22} {api.get('definitionVersion')}  "
                f"state={api.get('state')}  hrid={api.get('hrid') or '-'}  "
                f"plans={len(api.get('plans') or {})}  deployments={api.get('deployments')}")
        for app in applications:
            meta = app["metadata"]
            hrid = f"{meta.get('namespace')}-{meta['name']}"
            url = (f"{apim_url}/automation/organizations/DEFAULT/environments/DEFAULT"
                   f"/applications/{hrid}")
            async with session.get(url, headers=auth) as response:
                if response.status == 200:
                    body = await response.json()
                    lines.append(f"  application {body.get('name')!r:14} hrid={hrid}  "
                                 f"id={body.get('id')}")
                else:
                    lines.append(f"  application hrid={hrid}: not in APIM "
                                 f"(HTTP {response.status})")
        for sub in subscriptions:
            meta = sub["metadata"]
            namespace = meta.get("namespace")
            api = (sub.get("spec") or {}).get("api") or {}
            api_hrid = f"{api.get('namespace') or namespace}-{api.get('name')}"
            hrid = f"{namespace}-{meta['name']}"
            url = (f"{apim_url}/automation/organizations/DEFAULT/environments/DEFAULT"
                   f"/apis/{api_hrid}/subscriptions/{hrid}")
            async with session.get(url, headers=auth) as response:
                if response.status == 200:
                    body = await response.json()
                    lines.append(f"  subscription hrid={hrid}  api={api_hrid}  "
                                 f"plan={body.get('planHrid')}  "
                                 f"application={body.get('applicationHrid')}  "
                                 f"since={body.get('startingAt')}")
                else:
                    lines.append(f"  subscription hrid={hrid}: not in APIM "
                                 f"(HTTP {response.status})")
        base = f"{apim_url}/automation/organizations/DEFAULT/environments/DEFAULT"
        for obj in portal_objects:
            path, label = _portal_path(obj)
            async with session.get(base + path, headers=auth) as response:
                body = await response.json() if response.status == 200 else None
            lines.append(f"  {label}: " + (_portal_state(obj["kind"], body) if body is not None
                                           else f"not in APIM (HTTP {response.status})"))
    return lines


async def console_edit(apim_url: str, kube: KubeClient, tracked: Sequence[JsonObj]) -> str:
    """Play a console user: edit one API in APIM behind the operator's back
    (``/_sim/console``), and wait for the operator's periodic read-back to report it as
    ``Drifted`` (docs/behavior/drift.md). Only with the demo's own manifests."""
    target = next((o for o in tracked if o["kind"] == "ApiV4Definition"
                   and o["metadata"]["name"] == DRIFT_API), None)
    if target is None:
        return ""
    namespace = target["metadata"]["namespace"]
    hrid = f"{namespace}-{DRIFT_API}"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session, \
            session.patch(f"{apim_url}/_sim/console/apis/{hrid}",
                          json={"description": "edited in the APIM console"}) as response:
        if response.status != 204:
            return f"drift: could not edit {hrid} in the console (HTTP {response.status})"
    deadline = time.monotonic() + DRIFT_INTERVAL * 5
    while time.monotonic() < deadline:
        live = await kube.get_or_none("ApiV4Definition", namespace, DRIFT_API)
        drifted = condition(live, "Drifted") if live else None
        if drifted and drifted.get("status") == "True":
            return (f"drift: a console user edited API {hrid} in APIM; the read-back reported "
                    f"ApiV4Definition {namespace}/{DRIFT_API} Drifted=True: "
                    f"{drifted.get('message')}")
        await asyncio.sleep(0.2)
    return (f"drift: API {hrid} edited in the console, not reported within "
            f"{DRIFT_INTERVAL * 5:.0f} s")


def _hrid(obj: JsonObj, ref: JsonObj | None = None) -> str:
    namespace = obj["metadata"].get("namespace", DEFAULT_NAMESPACE)
    if ref is None:
        return f"{namespace}-{obj['metadata']['name']}"
    return f"{ref.get('namespace') or namespace}-{ref.get('name')}"


def _portal_path(obj: JsonObj) -> tuple[str, str]:
    """The Automation API path of a portal, listing or page, and how the summary names it."""
    spec = obj.get("spec") or {}
    hrid = _hrid(obj)
    if obj["kind"] == "Portal":
        return f"/portals/{hrid}", f"portal hrid={hrid}"
    if spec.get("apiRef"):
        return (f"/apis/{_hrid(obj, spec['apiRef'])}/documentations/{hrid}",
                f"page hrid={hrid}")
    portal = _hrid(obj, spec.get("portalRef") or {})
    collection = "listings" if obj["kind"] == "PortalListing" else "documentations"
    label = "listing" if obj["kind"] == "PortalListing" else "page"
    return f"/portals/{portal}/{collection}/{hrid}", f"{label} hrid={hrid} on {portal}"


def _portal_state(kind: str, body: JsonObj) -> str:
    if kind == "Portal":
        return f"{body.get('name')!r} id={body.get('id')}"
    if kind == "PortalListing":
        return "apis=" + ", ".join(f"{a.get('apiHrid')}@{a.get('location')}"
                                   for a in body.get("apis") or [])
    return f"{body.get('name')!r} {body.get('type')} at {body.get('location') or '-'}"


def serve_help(stack: Stack) -> str:
    kubeconfig = stack.kubeconfig
    operator = stack.operator
    lines = [
        "",
        "Everything keeps running. In another terminal:",
        f"  export KUBECONFIG={kubeconfig}",
        "  kubectl get managementcontexts,apidefinitions,apiv4definitions,applications -A",
        "  kubectl get sharedpolicygroups,subscriptions -A",
        "  kubectl get portals,portallistings,documentations -A",
        "  kubectl get apiv4definitions echo-v4 -o yaml",
        "  kubectl wait --for=condition=Accepted apidefinitions/echo-v2",
        "  kubectl get configmap echo-local -o jsonpath='{.data.definition}'",
        "  kubectl get events --field-selector involvedObject.name=echo-v4",
        "  kubectl delete apiv4definitions echo-v4     # the API disappears from APIM",
        "",
        f"APIM (simulator):  {stack.apim_url}   (user admin / admin)",
        f"  curl -s {stack.apim_url}/_sim/state",
        f"  curl -s -u admin:admin {stack.apim_url}/automation/organizations/DEFAULT"
        "/environments/DEFAULT/apis/default-echo-v4",
    ]
    lines.append(f"Kubernetes API:    {stack.kube_url}   (emulator)")
    if operator is not None:
        lines += [
            f"Operator metrics:  {operator.metrics_url}/metrics",
            f"Operator probes:   {operator.probes_url}/healthz   {operator.probes_url}/readyz",
        ]
    lines += [
        f"Logs:              {stack.options.work_dir}/*.log   (kept after Ctrl-C)",
        "",
        "Press Ctrl-C to stop everything.",
    ]
    return "\n".join(lines)


async def run(*, serve: bool, timeout: float, settle: float, work_dir: pathlib.Path,
              manifests_dir: pathlib.Path = MANIFESTS,
              until_stopped: Callable[[], Awaitable[object]] | None = None) -> int:
    """The demo; with ``serve``, everything keeps running until ``until_stopped()`` returns."""
    say = _Say()
    async with Stack(StackOptions(work_dir=work_dir)) as stack:
        say(f"Kubernetes API emulator  {stack.kube_url}  (kubeconfig {stack.kubeconfig})")
        say(f"APIM simulator           {stack.apim_url}")
        webhook_port = free_port()
        operator = await stack.start_operator(OperatorOptions(
            logs_format="console",
            extra_env={"ENABLE_INGRESS": "true", "ENABLE_WEBHOOK": "true",
                       "WEBHOOK_NAMESPACE": DEFAULT_NAMESPACE,
                       "WEBHOOK_SERVICE_PORT": str(webhook_port),
                       "WEBHOOK_SELF_REGISTER_URL": f"https://{LOOPBACK}:{webhook_port}",
                       "DRIFT_CHECK_INTERVAL": str(DRIFT_INTERVAL)},
        ))
        say(f"operator                 pid {operator.process.pid}, ready "
            f"(metrics {operator.metrics_url}/metrics, "
            f"admission webhooks https://{LOOPBACK}:{webhook_port})")
        manifests = load_manifests(stack.apim_url, manifests_dir)
        async with KubeClient(stack.kube_url) as kube:
            watchers = {
                kind: ConditionWatcher(kube, kind, None, predicate=is_reconciled)
                for kind in WATCHED_KINDS
            }
            for watcher in watchers.values():
                await watcher.start()
            refused: list[Row] = []
            try:
                for obj in manifests:
                    try:
                        await kube.apply(obj)
                    except KubeError as error:
                        if DENIED not in str(error):
                            say(f"could not apply {obj['kind']} {key_of(obj)}: {error}")
                            return 1
                        message = str(error).split(": ", 1)[-1]
                        say(f"kubectl apply {obj['kind']} {key_of(obj)} refused: {message}")
                        refused.append(refused_row(obj, message))
                say(f"applied {len(manifests) - len(refused)} objects from "
                    f"{_shown(manifests_dir)}/ ({len(refused)} refused at admission); "
                    f"waiting up to {timeout:.0f} s for the operator")
                refused_keys = {(row.kind, row.key) for row in refused}
                tracked = [o for o in manifests if o["kind"] in watchers
                           and (o["kind"], key_of(o)) not in refused_keys]
                await wait_settled(watchers, tracked, timeout=timeout, settle=settle)
                ingresses = [o for o in manifests if o["kind"] == "Ingress"]
                generated = await wait_generated(
                    watchers["ApiDefinition"], ingresses,
                    timeout=max(settle, deadline_left(timeout)))
                drift_line = await console_edit(stack.apim_url, kube, tracked)
                current = [
                    watchers[o["kind"]].latest.get(key_of(o), {**o, "status": {}})
                    for o in tracked
                ]
                # The drifted API as it is now (its watch event may still be on its way).
                current = [
                    (await kube.get_or_none(o["kind"], o["metadata"].get("namespace"),
                                            o["metadata"]["name"]) or o)
                    if o["metadata"]["name"] == DRIFT_API else o
                    for o in current
                ]
            finally:
                for watcher in watchers.values():
                    await watcher.stop()
            rows = await build_rows(kube, current, manifests)
            rows += [await ingress_row(kube, ingress, generated.get(key_of(ingress)))
                     for ingress in ingresses]
            rows += refused
        print()
        print(render_table(rows))
        print()
        for ingress in ingresses:
            for line in ingress_summary(ingress, generated.get(key_of(ingress))):
                print(line)
        if drift_line:
            print(drift_line)
        applications = [o for o in manifests if o["kind"] == "Application"]
        subscriptions = [o for o in manifests if o["kind"] == "Subscription"]
        portal_objects = [o for o in manifests
                          if o["kind"] in ("Portal", "PortalListing", "Documentation")]
        for line in await apim_summary(stack.apim_url, applications, subscriptions,
                                       portal_objects):
            print(line)
        failed = [r for r in rows if not r.ok]
        print()
        if failed:
            for row in failed:
                want = ("Accepted=True" if row.expected == "Accepted"
                        else "refused at admission" if row.expected == REFUSED
                        else f"Accepted=False/{row.expected}")
                print(f"FAILED: {row.kind} {row.key} should be {want}, is "
                      f"{row.status}/{row.reason}: {row.message}")
            for row in failed:
                for line in plan_hint(row):
                    print(line)
            print("operator log (last lines):")
            print(operator.process.log_tail(40))
        else:
            expected_failures = sum(1 for r in rows if r.expected != "Accepted")
            print(f"demo OK: {len(rows) - expected_failures} objects accepted, "
                  f"{expected_failures} rejected as expected")
        if serve:
            print(serve_help(stack), flush=True)
            await (until_stopped or asyncio.Event().wait)()
            print(flush=True)
        say("stopping operator, simulator and emulator")
    return 1 if failed else 0


_ROOT = MANIFESTS.parents[1]


def _shown(path: pathlib.Path) -> str:
    try:
        return str(path.resolve().relative_to(_ROOT))
    except ValueError:
        return str(path)


class _Say:
    """Progress lines with the time since start, flushed at once (the demo may be piped)."""

    def __init__(self) -> None:
        self._start = time.monotonic()

    def __call__(self, text: str) -> None:
        print(f"[{time.monotonic() - self._start:5.1f}s] {text}", flush=True)


class _Interrupts:
    """Ctrl-C and SIGTERM: while serving they end the demo normally (``stop`` is set); before,
    they cancel the run (exit 130), so the stack's teardown runs in both cases."""

    def __init__(self, task: asyncio.Task[object]) -> None:
        self.task = task
        self.stop = asyncio.Event()
        self.serving = False

    def __call__(self) -> None:
        if self.serving:
            self.stop.set()
        else:
            self.task.cancel()

    async def serve_until_stopped(self) -> None:
        self.serving = True
        await self.stop.wait()


async def _main(args: argparse.Namespace) -> int:
    task = asyncio.current_task()
    assert task is not None
    # Installed explicitly: a shell starts background jobs with SIGINT ignored, and asyncio
    # would then not react.
    interrupts = _Interrupts(task)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, interrupts)
    # The logs stay after --serve (serve_help says where) and after a failure; a successful
    # plain run leaves nothing behind.
    work_dir = pathlib.Path(tempfile.mkdtemp(prefix="gko-demo-"))
    code = 130
    try:
        code = await run(serve=args.serve, timeout=args.timeout, settle=args.settle,
                         work_dir=work_dir, manifests_dir=args.manifests,
                         until_stopped=interrupts.serve_until_stopped)
        return code
    except StackError as error:
        print(f"demo failed to start: {error}", file=sys.stderr)
        code = 2
        return code
    finally:
        if code == 0 and not args.serve:
            shutil.rmtree(work_dir, ignore_errors=True)
        else:
            print(f"logs kept in {work_dir}", flush=True)


@contextlib.contextmanager
def terminal_foreground() -> Iterator[None]:
    """Own the terminal's foreground while serving, so that Ctrl-C reaches the demo alone.

    Under ``make demo-serve`` the terminal's Ctrl-C also reaches make, which then reports
    ``Interrupt``/``Error 130`` whatever the demo does. In its own process group, made the
    terminal's foreground one (as a job-control shell does), the demo alone gets it and make
    sees the demo's exit status. The previous foreground group gets the terminal back on exit.
    Does nothing when stdin is not a terminal or the demo runs in the background.
    """
    try:
        previous = os.tcgetpgrp(0)
    except OSError:
        yield
        return
    if previous != os.getpgrp() or os.getsid(0) == os.getpid():
        yield
        return
    old_ttou = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.setpgid(0, 0)
        os.tcsetpgrp(0, os.getpgrp())
    except OSError:
        signal.signal(signal.SIGTTOU, old_ttou)
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(0, previous)
        signal.signal(signal.SIGTTOU, old_ttou)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", action="store_true",
                        help="keep everything running after the table, until Ctrl-C")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to wait for the operator to reconcile (default 60)")
    parser.add_argument("--manifests", type=pathlib.Path, default=MANIFESTS,
                        help="directory of *.yaml / *.yml to apply instead of "
                             "examples/manifests (${APIM_URL} is replaced by the simulator's "
                             "URL; objects without a namespace go to default)")
    parser.add_argument("--settle", type=float, default=15.0,
                        help="extra seconds for objects not yet in their expected state once "
                             "all were reconciled (retries; default 15)")
    args = parser.parse_args(argv)
    if not args.manifests.is_dir():
        parser.error(f"--manifests {args.manifests}: not a directory")
    try:
        with terminal_foreground() if args.serve else contextlib.nullcontext():
            return asyncio.run(_main(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("\nstopped", flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
