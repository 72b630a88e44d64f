"""Admission points of the write path, as data: where a write stops for admission control.

The verbs of :mod:`sim.kubeapi.operations` are generators that yield an :class:`AdmissionStep`
at each point where kube-apiserver runs admission (mutating admission before the kind's
validation, validating admission after it and before storage). Whoever drives the generator
answers each step: :func:`drive` answers "no change" at once (in-process writes, the garbage
collector, tests); the HTTP layer answers with the webhooks of :mod:`sim.kubeapi.webhooks`,
awaiting them between steps without blocking the event loop.

Owns: the step record, the synchronous driver and the "stored object moved" signal. Must never
call the network or know what a webhook is.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

import attrs

from sim.kubeapi.resources import ResourceType

JsonObj = dict[str, Any]
T = TypeVar("T")

MUTATE = "mutate"
VALIDATE = "validate"
CREATE = "CREATE"
UPDATE = "UPDATE"
DELETE = "DELETE"


@attrs.frozen
class AdmissionStep:
    """One admission point: ``obj`` is what a mutating webhook may change (``None`` on DELETE),
    ``old`` the stored object (``None`` on CREATE)."""

    phase: str  # MUTATE or VALIDATE
    operation: str  # CREATE, UPDATE or DELETE
    rt: ResourceType
    namespace: str
    name: str
    obj: JsonObj | None
    old: JsonObj | None
    subresource: str = ""


Steps = Generator[AdmissionStep, JsonObj | None, T]


class StaleRead(Exception):
    """The object a write started from changed while the write awaited admission; the driver
    starts the write again from the current object (as kube-apiserver's update loop does)."""


def drive(steps: Generator[AdmissionStep, JsonObj | None, T]) -> T:
    """Run a write with no admission webhooks: every step is answered "unchanged"."""
    try:
        step = next(steps)
        while True:
            step = steps.send(step.obj if step.phase == MUTATE else None)
    except StopIteration as done:
        result: T = done.value
        return result
