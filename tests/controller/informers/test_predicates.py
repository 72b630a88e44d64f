"""Start-up predicates: what a converged object listed at start-up costs."""

from __future__ import annotations

from typing import Any

import pytest

from controller import vocabulary as v
from controller.informers import predicates
from controller.informers.events import Event, EventType
from controller.keys import ObjectKey


def _api(*, edited: bool) -> dict[str, Any]:
    spec = {"name": "petstore", "contextRef": {"name": "apim"}}
    recorded = v.spec_hash({**spec, "name": "before the edit"} if edited else spec)
    return {
        "metadata": {"namespace": "ns", "name": "petstore", "generation": 1,
                     "annotations": {v.ANNOTATION_LAST_SPEC_HASH: recorded}},
        "spec": spec,
        "status": {"processingStatus": v.PROCESSING_COMPLETED,
                   "conditions": [{"type": v.CONDITION_ACCEPTED, "status": "True",
                                   "observedGeneration": 1}]},
    }


def _listed(obj: dict[str, Any]) -> Event:
    return Event(type=EventType.ADDED, key=ObjectKey.of(obj), old=None, new=obj, initial=True)


@pytest.mark.parametrize("edited", [False, True])
def test_every_handler_of_one_start_up_event_shares_one_spec_hash(
    monkeypatch: pytest.MonkeyPatch, edited: bool
) -> None:
    handlers = [
        predicates.primary(strategy="default", processing_status=True),
        predicates.dependency_changed(),
        predicates.dependency_or_status_changed("id"),
        predicates.dependency_changed(),
    ]
    api = _api(edited=edited)
    hashed = []
    real = v.spec_hash

    def counting(spec: Any) -> str:
        hashed.append(spec)
        return real(spec)

    monkeypatch.setattr(v, "spec_hash", counting)
    event = _listed(api)
    assert [handler(event) for handler in handlers] == [edited] * 4
    assert len(hashed) == 1
    assert [handler(_listed(api)) for handler in handlers[:1]] == [edited]
    assert len(hashed) == 2  # a new event hashes again
