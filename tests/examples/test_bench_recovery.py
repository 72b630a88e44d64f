"""Scenario (f)'s helpers (``benchmarks.recovery``): what counts as converged, when an object
last became converged, how the recovery figures are computed, and what the operator's log says
about its retries. No stack, no timing."""

from __future__ import annotations

import json
from typing import Any

from benchmarks.operator_bench import evaluate
from benchmarks.recovery import (
    ConvergenceWatcher,
    Edits,
    Failures,
    ObjectTrack,
    failed_reconciles,
    is_converged,
    longest_waits,
    recovery_summary,
)
from examples.kube import KubeClient


def api(name: str, generation: int, accepted: str | None, observed: int | None) -> dict[str, Any]:
    obj: dict[str, Any] = {"kind": "ApiV4Definition",
                           "metadata": {"namespace": "ns", "name": name,
                                        "generation": generation}}
    if accepted is not None:
        obj["status"] = {"conditions": [{"type": "Accepted", "status": accepted,
                                         "observedGeneration": observed}]}
    return obj


def test_converged_means_accepted_true_for_the_current_generation():
    assert is_converged(api("a", 3, "True", 3))
    assert not is_converged(api("a", 4, "True", 3))  # edited, not reconciled yet
    assert not is_converged(api("a", 3, "False", 3))
    assert not is_converged(api("a", 1, None, None))


async def test_the_watcher_keeps_when_each_object_last_became_converged():
    now = [0.0]
    watcher = ConvergenceWatcher(KubeClient("http://unused"), "ApiV4Definition", "ns",
                                 clock=lambda: now[0])

    async def seen_at(at: float, obj: dict[str, Any]) -> None:
        now[0] = at
        await watcher._observe(obj)

    await seen_at(10.0, api("a", 1, "True", 1))   # converged from the start
    await seen_at(20.0, api("a", 2, "True", 1))   # edited
    await seen_at(30.0, api("a", 2, "False", 2))  # failed, still not converged
    assert watcher.tracks["ns/a"] == ObjectTrack(generation=2, converged=False, since=20.0,
                                                 lost_at=20.0)
    assert not watcher.all_converged({"ns/a": 2}, ["ns/a"])
    await seen_at(40.0, api("a", 2, "True", 2))   # back
    assert watcher.tracks["ns/a"].since == 40.0
    assert watcher.tracks["ns/a"].lost_at == 20.0
    assert watcher.all_converged({"ns/a": 2}, ["ns/a"])
    assert not watcher.all_converged({"ns/a": 3}, ["ns/a"])  # a later edit not seen yet
    assert not watcher.all_converged({}, ["ns/a", "ns/missing"])
    await watcher.stop()


def test_summary_counts_from_apim_answering_again():
    tracks = {
        "ns/steady": ObjectTrack(generation=1, converged=True, since=5.0),
        "ns/edited": ObjectTrack(generation=9, converged=True, since=130.0, lost_at=60.0),
        "ns/new": ObjectTrack(generation=1, converged=True, since=101.0),
        "ns/stuck": ObjectTrack(generation=2, converged=False, since=70.0, lost_at=70.0),
    }
    edits = Edits(generation={"ns/edited": 9}, last_write={"ns/edited": 95.0},
                  count={"ns/edited": 8})
    summary = recovery_summary(tracks, up_at=100.0, edited=edits, created={"ns/new"})
    assert summary["objects_affected"] == 3
    assert summary["not_converged"] == ["ns/stuck"]
    assert summary["recovery_seconds"] is None  # not every object came back
    assert summary["last_object"] == "ns/edited"
    assert summary["worst_edited_seconds"] == 30.0
    assert summary["edited"]["ns/edited"] == {"edits": 8, "final_generation": 9,
                                              "seconds_after_up": 30.0,
                                              "seconds_after_last_edit": 35.0}
    assert summary["per_object_seconds_created"]["max"] == 1.0
    assert summary["per_object_seconds_all"]["p50"] == 1.0  # steady counts as 0

    del tracks["ns/stuck"]
    summary = recovery_summary(tracks, up_at=100.0, edited=edits, created={"ns/new"})
    assert summary["recovery_seconds"] == 30.0


def test_failed_reconciles_are_read_from_the_operator_log(tmp_path):
    def line(name: str, stamp: str, controller: str = "apiv4definition",
             message: str = "Reconciler error") -> str:
        return json.dumps({"message": message, "controller": controller, "namespace": "ns",
                           "name": name, "timestamp": stamp, "level": "ERROR"})

    log = tmp_path / "operator.log"
    log.write_text("\n".join([
        "not json, Reconciler error",
        line("a", "2026-01-01T00:00:00Z"),  # before the outage: ignored
        line("a", "2026-01-01T00:01:00Z"),
        line("a", "2026-01-01T00:01:01Z"),
        line("a", "2026-01-01T00:01:11Z"),
        line("b", "2026-01-01T00:01:05Z", controller="managementcontext"),
        line("c", "2026-01-01T00:01:05Z", message="Reconcile successful"),
    ]) + "\n")
    since = 1767225660.0  # 2026-01-01T00:01:00Z
    failures = failed_reconciles(log, controller="apiv4definition", since_wall=since)
    assert set(failures) == {"ns/a"}
    assert failures["ns/a"] == Failures(count=3, last_at=since + 11, longest_gap=10.0)
    assert failed_reconciles(tmp_path / "absent.log", controller="x", since_wall=0) == {}


def test_the_longest_wait_includes_the_one_ended_by_recovery():
    failures = {"ns/a": Failures(count=3, last_at=1011.0, longest_gap=10.0),
                "ns/b": Failures(count=2, last_at=1002.0, longest_gap=1.0)}
    tracks = {"ns/a": ObjectTrack(generation=2, converged=True, since=15.0),
              "ns/b": ObjectTrack(generation=2, converged=False, since=3.0)}
    # wall = monotonic + 1000: a waited from 1011 (last failure) to 1015 (converged).
    assert longest_waits(failures, tracks, wall_minus_monotonic=1000.0) == {"ns/a": 10.0,
                                                                            "ns/b": 1.0}
    tracks["ns/a"].since = 200.0
    assert longest_waits(failures, tracks, wall_minus_monotonic=1000.0)["ns/a"] == 189.0


def test_evaluate_checks_recovery_within_30_seconds():
    met = evaluate({"f": {"all_converged": True, "seconds": 12.0}}, 1000)
    assert met == {"f_all_accepted": True, "f_within_30s_of_apim_up": True}
    missed = evaluate({"f": {"all_converged": True, "seconds": 319.0}}, 1000)
    assert missed["f_within_30s_of_apim_up"] is False
    unfinished = evaluate({"f": {"all_converged": False, "seconds": None}}, 1000)
    assert unfinished == {"f_all_accepted": False, "f_within_30s_of_apim_up": False}
