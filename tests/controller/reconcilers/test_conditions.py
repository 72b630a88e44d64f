"""Conditions: upstream vocabulary, error mapping and transition-time stability."""

import pytest

from controller.reconcilers.framework import conditions as c
from controller.reconcilers.framework.errors import (
    CompileTemplateError,
    ControlPlaneError,
    IllegalStateError,
    ReconcileError,
    ResolveRefError,
    classify,
)


def found(conditions, type_):
    condition = c.find(conditions, type_)
    assert condition is not None, type_
    return condition


def clock(*values):
    it = iter(values)
    return lambda: next(it)


def test_success_has_accepted_and_resolved_refs_with_generation():
    merged = c.merge_conditions([], c.success_conditions(3), now=clock("t1", "t2"))
    assert merged == [
        {
            "type": "Accepted",
            "status": "True",
            "reason": "Accepted",
            "message": "Successfully reconciled",
            "lastTransitionTime": "t1",
            "observedGeneration": 3,
        },
        {
            "type": "ResolvedRefs",
            "status": "True",
            "reason": "ResolvedRefs",
            "message": "All References successfully resolved",
            "lastTransitionTime": "t2",
            "observedGeneration": 3,
        },
    ]


def test_same_status_keeps_transition_time_so_converged_status_is_stable():
    first = c.merge_conditions([], c.success_conditions(1), now=clock("t1", "t1"))
    again = c.merge_conditions(first, c.success_conditions(1), now=clock("later", "later"))
    assert again == first
    bumped = c.merge_conditions(first, c.success_conditions(2), now=clock("later", "later"))
    assert [x["lastTransitionTime"] for x in bumped] == ["t1", "t1"]
    assert [x["observedGeneration"] for x in bumped] == [2, 2]


def test_status_flip_moves_transition_time():
    first = c.merge_conditions([], c.success_conditions(1), now=clock("t1", "t1"))
    failed = c.merge_conditions(
        first, c.failure_conditions(ControlPlaneError("boom", status=500), 1), now=clock("t2", "t2")
    )
    assert c.find(failed, "Accepted") == {
        "type": "Accepted",
        "status": "False",
        "reason": "ControlPlaneError",
        "message": "boom",
        "lastTransitionTime": "t2",
        "observedGeneration": 1,
    }
    assert found(failed, "ResolvedRefs")["lastTransitionTime"] == "t1"


@pytest.mark.parametrize(
    ("error", "reason", "recoverable"),
    [
        (ReconcileError("x"), "ReconcileFailed", True),
        (RuntimeError("x"), "ReconcileFailed", True),
        (CompileTemplateError("x"), "CompileTemplateError", False),
        (IllegalStateError("x"), "IllegalStateError", False),
        (ControlPlaneError("x", status=400), "ControlPlaneError", False),
        (ControlPlaneError("x", status=401), "ControlPlaneError", False),
        (ControlPlaneError("x", status=403), "ControlPlaneError", True),
        (ControlPlaneError("x", status=404), "ControlPlaneError", True),
        (ControlPlaneError("x", status=503), "ControlPlaneError", True),
        (ControlPlaneError("x", status=None), "ControlPlaneError", True),
    ],
)
def test_error_mapping(error, reason, recoverable):
    accepted, refs = c.failure_conditions(error, 7)
    assert (accepted.type, accepted.status, accepted.reason, accepted.message) == (
        "Accepted",
        "False",
        reason,
        "x",
    )
    assert (refs.type, refs.status) == ("ResolvedRefs", "True")
    assert classify(error).recoverable is recoverable


def test_resolve_ref_error_flips_resolved_refs():
    accepted, refs = c.failure_conditions(ResolveRefError("secret [a/b] not found"), 2)
    # Unlike upstream ("ReconcileFailed"), Accepted says what is missing and what to do.
    assert (accepted.status, accepted.reason, accepted.message) == (
        "False",
        "ReconcileFailed",
        "secret [a/b] not found. Create it, or correct the reference: the object is reconciled "
        "again as soon as it exists",
    )
    assert (refs.status, refs.reason, refs.message) == (
        "False",
        "ResolvedRefs",
        "secret [a/b] not found",
    )


def test_automation_api_managed_is_sticky_across_failures():
    managed = c.merge_conditions(
        [], [c.automation_api_managed(1), *c.success_conditions(1)], now=clock("t0", "t0", "t0")
    )
    failed = c.merge_conditions(
        managed, c.failure_conditions(RuntimeError("x"), 2), now=clock("t1", "t1")
    )
    assert [x["type"] for x in failed] == ["AutomationAPIManaged", "Accepted", "ResolvedRefs"]
    assert c.is_true(failed, "AutomationAPIManaged")
    assert not c.is_true(failed, "Accepted")


def test_soft_reference_failures_replace_resolved_refs_true():
    missing = c.Condition(
        "ResolvedRefs", "False", "GroupNotFound", "Group team/devs could not be found", 4
    )
    merged = c.merge_conditions(
        [], c.success_conditions(4, unresolved=[missing]), now=clock("t", "t")
    )
    assert c.is_true(merged, "Accepted")
    assert found(merged, "ResolvedRefs")["reason"] == "GroupNotFound"


def test_status_merge_patch_nulls_keys_removed_from_maps():
    from controller.reconcilers.framework.runtime import merge_patch

    live = {"plans": {"free": "1", "gold": "2"}, "state": "STARTED", "old": 1, "errors": {"w": [1]}}
    desired = {"plans": {"free": "1"}, "state": "STOPPED", "errors": {"w": []}}
    assert merge_patch(live, desired) == {
        "plans": {"gold": None},
        "state": "STOPPED",
        "old": None,
        "errors": {"w": []},
    }
    assert merge_patch(desired, desired) == {}


def test_unexpected_errors_and_kubernetes_errors_say_what_to_do():
    from controller.kube.rest import KubeApiError
    from controller.reconcilers.framework.errors import classify

    accepted, _ = c.failure_conditions(classify(KeyError("x")), 1)
    assert accepted.message.startswith("unexpected KeyError: 'x'. This is a bug in the operator")
    assert "please report it" in accepted.message
    assert classify(KubeApiError.__new__(KubeApiError)).describe().startswith("Kubernetes API:")


def test_expected_waits_are_not_logged_as_errors():
    from controller.reconcilers.framework.errors import (
        CompileTemplateError,
        ControlPlaneError,
        IllegalStateError,
        classify,
    )

    assert ResolveRefError("x").log_level == "info"
    assert IllegalStateError("x").log_level == "warning"
    assert CompileTemplateError("x").log_level == "warning"
    assert ControlPlaneError("down", status=None).log_level == "warning"
    assert ControlPlaneError("rejected", status=400).log_level == "error"
    assert classify(KeyError("x")).log_level == "error"
