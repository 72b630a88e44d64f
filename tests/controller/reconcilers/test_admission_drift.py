"""The drift check at admission, on its own (docs/behavior/drift.md#at-admission): which updates
are checked and what each policy turns a finding into. The end-to-end behaviour through kubectl
is in tests/webhooks/test_drift.py."""

from __future__ import annotations

from typing import Any

import pytest

from controller.reconcilers.framework.admission import drift_checked, drift_finding


def annotated(value: str | None) -> dict[str, Any]:
    annotations = {} if value is None else {"gravitee.io/drift-detection": value}
    return {"metadata": {"name": "a", "namespace": "n", "annotations": annotations}}


@pytest.mark.parametrize(
    ("value", "default", "expected"),
    [
        (None, True, True), (None, False, False),
        ("true", False, True), ("false", True, False),
        # Only the exact lowercase words count: anything else leaves the setting in charge.
        ("TRUE", False, False), ("False", True, True), ("yes", False, False), ("", True, True),
    ],
)
def test_the_annotation_overrides_the_setting_only_when_exact(
    value: str | None, default: bool, expected: bool
) -> None:
    assert drift_checked(annotated(value), default) is expected


def test_each_policy_turns_a_finding_into_a_refusal_a_warning_or_nothing() -> None:
    (denied,) = drift_finding("deny", "[K] [n/a]", "drift detected: x")
    assert (denied.severity, denied.message) == ("severe", "drift detected: x")
    (warned,) = drift_finding("warn", "[K] [n/a]", "drift detected: x")
    assert (warned.severity, warned.message) == ("warning", "drift detected: x")
    assert drift_finding("allow", "[K] [n/a]", "drift detected: x") == []
