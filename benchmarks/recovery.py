"""Scenario (f) of the operator benchmark: recovery after an APIM outage (helpers).

Owns what (f) needs beyond the other scenarios: :class:`ConvergenceWatcher` (when each object
last *became* converged: ``Accepted=True`` with the condition's ``observedGeneration`` equal to
``metadata.generation``), the outage control of the APIM simulator (``POST /_sim/outage``, and
probing ``/_sim/health`` on fresh connections to see when it is down and up again), the edit
loop run during the outage, the operator's retry figures (metrics and its JSON log), and the
summary. ``benchmarks.operator_bench`` drives the stack and calls these.

Every time here is ``time.monotonic()``; the simulator reports its own outage in the same clock
(CLOCK_MONOTONIC is system-wide on Linux). It must never write anything but the edits and
creations of the scenario.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import math
import pathlib
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import aiohttp
import attrs
from prometheus_client.parser import text_string_to_metric_families

from examples.kube import JsonObj, KubeClient, key_of
from examples.watch import ConditionWatcher, condition

PROBE_INTERVAL = 0.05
"""Seconds between two probes of the simulator's health while waiting for down / up."""


def is_converged(obj: JsonObj) -> bool:
    """``Accepted=True`` observed for exactly the object's current generation."""
    accepted = condition(obj, "Accepted")
    if accepted is None or accepted.get("status") != "True":
        return False
    generation = obj.get("metadata", {}).get("generation", 1)
    return bool(accepted.get("observedGeneration") == generation)


@attrs.define
class ObjectTrack:
    """One object as the watch last saw it."""

    generation: int
    converged: bool
    since: float
    """When ``converged`` last changed (or the object was first seen)."""
    lost_at: float | None = None
    """The first time it stopped being converged, if it ever did while watched."""


class ConvergenceWatcher(ConditionWatcher):
    """A :class:`ConditionWatcher` that also follows each object in and out of convergence
    (``tracks``), so that the time an object last became converged is known even when it was
    converged before, lost it during the outage, and got it back afterwards."""

    def __init__(self, client: KubeClient, kind: str, namespace: str, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(client, kind, namespace, predicate=is_converged, clock=clock,
                         keep_objects=False)
        self.tracks: dict[str, ObjectTrack] = {}
        self._now = clock

    async def _observe(self, obj: JsonObj) -> None:
        now = self._now()
        key = key_of(obj)
        converged = is_converged(obj)
        generation = int(obj.get("metadata", {}).get("generation", 1))
        track = self.tracks.get(key)
        if track is None:
            self.tracks[key] = ObjectTrack(generation=generation, converged=converged, since=now)
        else:
            track.generation = generation
            if track.converged != converged:
                track.converged, track.since = converged, now
                if not converged and track.lost_at is None:
                    track.lost_at = now
        await super()._observe(obj)

    def all_converged(self, expected: Mapping[str, int], keys: Collection[str]) -> bool:
        """Every key is tracked, converged, and at least at its expected generation."""
        for key in keys:
            track = self.tracks.get(key)
            if track is None or not track.converged or track.generation < expected.get(key, 1):
                return False
        return True


# ---------------------------------------------------------------------------- the simulator


def probe_session() -> aiohttp.ClientSession:
    """A session that opens a fresh connection per request: a pooled one would hide the
    outage (or die with it)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True),
                                 timeout=aiohttp.ClientTimeout(total=2))


async def answers(session: aiohttp.ClientSession, apim_url: str) -> bool:
    try:
        async with session.get(f"{apim_url}/_sim/health") as response:
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


async def start_outage(session: aiohttp.ClientSession, apim_url: str, seconds: float) -> float:
    """Ask for an outage of ``seconds``; returns when the simulator stopped answering."""
    async with session.post(f"{apim_url}/_sim/outage", json={"seconds": seconds}) as response:
        if response.status != 202:
            raise RuntimeError(f"POST /_sim/outage: HTTP {response.status}")
    deadline = time.monotonic() + 10.0
    while await answers(session, apim_url):
        if time.monotonic() > deadline:
            raise RuntimeError("the APIM simulator still answers after asking for an outage")
        await asyncio.sleep(PROBE_INTERVAL / 5)
    return time.monotonic()


async def wait_answering(session: aiohttp.ClientSession, apim_url: str, timeout: float) -> float:
    """Probe until the simulator answers again; returns the time of the first answer."""
    deadline = time.monotonic() + timeout
    while not await answers(session, apim_url):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the APIM simulator did not answer again within {timeout:.0f} s")
        await asyncio.sleep(PROBE_INTERVAL)
    return time.monotonic()


async def simulator_outage(session: aiohttp.ClientSession, apim_url: str) -> dict[str, Any]:
    """The simulator's own record of its last outage (``downAt``/``upAt``, monotonic)."""
    async with session.get(f"{apim_url}/_sim/outage") as response:
        outages: list[dict[str, Any]] = (await response.json())["outages"]
    return outages[-1] if outages else {}


# ---------------------------------------------------------------------------- edits


@attrs.define
class Edits:
    """What the edit loop did: per key, its last generation and when it was last written."""

    generation: dict[str, int] = attrs.field(factory=dict)
    last_write: dict[str, float] = attrs.field(factory=dict)
    count: dict[str, int] = attrs.field(factory=dict)
    failures: int = 0


async def edit_until(kube: KubeClient, kind: str, keys: Sequence[str], *, interval: float,
                     stop: asyncio.Event, edits: Edits) -> None:
    """Every ``interval`` seconds, change the spec of each of ``keys`` (a new generation each
    time), until ``stop`` is set."""
    round_ = 0
    while not stop.is_set():
        round_ += 1
        for key in keys:
            namespace, name = key.split("/", 1)
            patch = {"spec": {"description": f"benchmark API, edit {round_}"}}
            try:
                obj = await kube.merge_patch(kind, namespace, name, patch)
            except Exception:  # counted and reported; the scenario goes on
                edits.failures += 1
                continue
            edits.generation[key] = int(obj["metadata"]["generation"])
            edits.last_write[key] = time.monotonic()
            edits.count[key] = edits.count.get(key, 0) + 1
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            pass


# ---------------------------------------------------------------------------- the operator


async def operator_retry_metrics(session: aiohttp.ClientSession, metrics_url: str
                                 ) -> dict[str, dict[str, float]]:
    """APIM client requests by code, work-queue retries and reconcile errors by controller."""
    async with session.get(f"{metrics_url}/metrics") as response:
        text = await response.text()
    found: dict[str, dict[str, float]] = {"apim_requests_by_code": {}, "retries": {},
                                          "reconcile_errors": {}}
    wanted = {"apim_client_requests_total": ("apim_requests_by_code", "code"),
              "workqueue_retries_total": ("retries", "name"),
              "controller_runtime_reconcile_errors_total": ("reconcile_errors", "controller")}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in wanted:
                group, label = wanted[sample.name]
                value = sample.labels.get(label, "")
                found[group][value] = found[group].get(value, 0.0) + sample.value
    return found


def metric_delta(before: Mapping[str, Mapping[str, float]],
                 after: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, int]]:
    return {group: {k: int(v - before.get(group, {}).get(k, 0.0))
                    for k, v in sorted(values.items()) if v - before.get(group, {}).get(k, 0.0)}
            for group, values in after.items()}


def _wall_seconds(stamp: Any) -> float | None:
    if isinstance(stamp, int | float):
        return float(stamp)
    if isinstance(stamp, str):
        try:
            return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


@attrs.define
class Failures:
    """One object's failed reconciles, from the operator's log (wall-clock seconds)."""

    count: int
    last_at: float
    longest_gap: float = 0.0
    """Longest time between two consecutive failures: the backoff waited, plus one reconcile."""


def failed_reconciles(log_path: pathlib.Path, *, controller: str, since_wall: float
                      ) -> dict[str, Failures]:
    """Per object of ``controller``, its failed reconciles logged at or after ``since_wall``,
    read from the operator's JSON log ("Reconciler error" lines)."""
    found: dict[str, Failures] = {}
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return {}
    for line in lines:
        if "Reconciler error" not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        message = entry.get("message", entry.get("event"))
        if message != "Reconciler error" or entry.get("controller") != controller:
            continue
        at = _wall_seconds(entry.get("timestamp"))
        if at is None or at < since_wall:
            continue
        key = f"{entry.get('namespace')}/{entry.get('name')}"
        seen = found.get(key)
        if seen is None:
            found[key] = Failures(count=1, last_at=at)
        else:
            seen.longest_gap = max(seen.longest_gap, at - seen.last_at)
            seen.count += 1
            seen.last_at = at
    return found


def longest_waits(failures: Mapping[str, Failures], tracks: Mapping[str, ObjectTrack], *,
                  wall_minus_monotonic: float) -> dict[str, float]:
    """Per failed object, the longest it waited for a retry: between two failures, or from
    its last failure to the moment it was converged again (the backoff it was sitting in when
    APIM came back, plus one reconcile)."""
    waits: dict[str, float] = {}
    for key, seen in failures.items():
        wait = seen.longest_gap
        track = tracks.get(key)
        if track is not None and track.converged:
            wait = max(wait, track.since + wall_minus_monotonic - seen.last_at)
        waits[key] = wait
    return waits


# ---------------------------------------------------------------------------- summary


def nearest_rank(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(round(fraction * len(sorted_values), 9))))
    return sorted_values[rank - 1]


def _seconds(values: Sequence[float]) -> dict[str, float | None]:
    ordered = sorted(values)
    if not ordered:
        return {"p50": None, "p99": None, "max": None}
    return {"p50": round(nearest_rank(ordered, 0.5), 3),
            "p99": round(nearest_rank(ordered, 0.99), 3), "max": round(ordered[-1], 3)}


def recovery_summary(tracks: Mapping[str, ObjectTrack], *, up_at: float,
                     edited: Edits, created: Collection[str]) -> dict[str, Any]:
    """Seconds from APIM answering again (``up_at``) until each object was converged for good
    (0 for an object that was converged then and stayed so), in total and by group: the
    edited objects, the ones created during the outage, and every object that was not
    converged when APIM came back ("affected")."""
    after_up = {key: max(0.0, t.since - up_at) if t.converged else math.inf
                for key, t in tracks.items()}
    affected = [key for key, t in tracks.items() if t.lost_at is not None or key in created]
    unconverged = sorted(k for k, v in after_up.items() if v == math.inf)
    finite = {k: v for k, v in after_up.items() if v != math.inf}
    edited_rows = {
        key: {"edits": edited.count.get(key, 0), "final_generation": edited.generation.get(key),
              "seconds_after_up": round(finite[key], 3) if key in finite else None,
              "seconds_after_last_edit": (round(tracks[key].since - edited.last_write[key], 3)
                                          if key in finite and key in edited.last_write
                                          else None)}
        for key in sorted(edited.count)}
    worst_edited = max((r["seconds_after_up"] for r in edited_rows.values()
                        if r["seconds_after_up"] is not None), default=None)
    return {
        "objects_tracked": len(tracks),
        "objects_affected": len(affected),
        "not_converged": unconverged[:10],
        "not_converged_count": len(unconverged),
        "recovery_seconds": (round(max(finite.values()), 3) if finite and not unconverged
                             else None),
        "last_object": max(finite, key=lambda k: finite[k]) if finite else None,
        "per_object_seconds_all": _seconds(list(finite.values())),
        "per_object_seconds_affected": _seconds([finite[k] for k in affected if k in finite]),
        "per_object_seconds_edited": _seconds([finite[k] for k in edited.count if k in finite]),
        "per_object_seconds_created": _seconds([finite[k] for k in created if k in finite]),
        "worst_edited_seconds": worst_edited,
        "edited": edited_rows,
    }
