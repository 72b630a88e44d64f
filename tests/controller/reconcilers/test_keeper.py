"""The reference keeper: finalizers and reference annotations on Secrets/ConfigMaps derived from
who reads them now, never counted (docs/architecture.md, reference keeper)."""

from __future__ import annotations

import json
from typing import Any

from controller.informers.store import Store
from controller.keys import ObjectKey
from controller.kube.resources import SECRETS
from controller.reconcilers.framework.keeper import Holder, ReferenceKeeper
from controller.reconcilers.support.references import template_sources
from controller.reconcilers.support.templating import REFERENCES_ANNOTATION, TEMPLATING_FINALIZER

OTHER = "someone.else/finalizer"


def _user(name: str, secret: str | None) -> dict[str, Any]:
    spec = {"description": f"[[ secret `{secret}/k` ]]"} if secret else {}
    return {"metadata": {"namespace": "ns", "name": name, "resourceVersion": "1"}, "spec": spec}


def _secret(**metadata: Any) -> dict[str, Any]:
    return {
        "metadata": {"namespace": "ns", "name": "s", "resourceVersion": "7", **metadata},
        "data": {"k": "dg=="},
    }


class Recorder:
    """Stands in for the metadata write: records what the keeper would send."""

    def __init__(self) -> None:
        self.writes: list[dict[str, Any]] = []


def _keeper(users: Store, secrets: Store) -> ReferenceKeeper:
    holder = Holder(
        "apidefinitions", users, "sources", template_sources, TEMPLATING_FINALIZER,
        lambda obj: obj.get("spec"),
    )
    users.add_index("sources", template_sources)
    return ReferenceKeeper(None, SECRETS, "secret", secrets, [holder])  # type: ignore[arg-type]


async def _reconcile(keeper: ReferenceKeeper, monkeypatch: Any) -> list[dict[str, Any]]:
    writes: list[dict[str, Any]] = []

    async def write(api: Any, kind: Any, obj: Any, **changes: Any) -> dict[str, Any]:
        writes.append({k: value for k, value in changes.items() if value is not None})
        return dict(obj)

    monkeypatch.setattr("controller.reconcilers.framework.keeper.write_metadata", write)
    await keeper.reconcile(ObjectKey("ns", "s"))
    return writes


async def test_a_read_source_gets_the_finalizer_the_users_and_the_data_hash(monkeypatch):
    users, secrets = Store(), Store()
    keeper = _keeper(users, secrets)
    users.upsert(_user("b", "s"))
    users.upsert(_user("a", "s"))
    secrets.upsert(_secret(finalizers=[OTHER]))
    [write] = await _reconcile(keeper, monkeypatch)
    assert write["finalizers"] == [OTHER, TEMPLATING_FINALIZER]
    assert json.loads(write["annotations"]["gravitee.io/apidefinitions"]) == ["ns/a", "ns/b"]
    assert write["annotations"][REFERENCES_ANNOTATION] == "2"
    assert "gravitee.io/last-spec-hash" in write["annotations"]


async def test_nothing_is_written_when_everything_is_in_place(monkeypatch):
    users, secrets = Store(), Store()
    keeper = _keeper(users, secrets)
    users.upsert(_user("a", "s"))
    secrets.upsert(_secret())
    [first] = await _reconcile(keeper, monkeypatch)
    secrets.upsert(_secret(finalizers=first["finalizers"], annotations=first["annotations"]))
    assert await _reconcile(keeper, monkeypatch) == []


async def test_the_last_user_gone_releases_the_source_whatever_the_order(monkeypatch):
    """Two users going at once: each check sees who is left, nobody counts down."""
    users, secrets = Store(), Store()
    keeper = _keeper(users, secrets)
    users.upsert(_user("a", "s"))
    users.upsert(_user("b", "s"))
    held = {"gravitee.io/apidefinitions": '["ns/a","ns/b"]', REFERENCES_ANNOTATION: "2"}
    secrets.upsert(_secret(finalizers=[OTHER, TEMPLATING_FINALIZER], annotations=held))
    users.delete(ObjectKey("ns", "a"))
    users.delete(ObjectKey("ns", "b"))
    [write] = await _reconcile(keeper, monkeypatch)
    assert write["finalizers"] == [OTHER]
    assert write["annotations"] == {
        "gravitee.io/apidefinitions": "[]",
        REFERENCES_ANNOTATION: "0",
    }


async def test_a_source_being_deleted_is_only_ever_released(monkeypatch):
    """The API server refuses a new finalizer on an object being deleted."""
    users, secrets = Store(), Store()
    keeper = _keeper(users, secrets)
    users.upsert(_user("a", "s"))
    secrets.upsert(_secret(deletionTimestamp="2026-01-01T00:00:00Z"))
    writes = await _reconcile(keeper, monkeypatch)
    assert all("finalizers" not in write for write in writes)


async def test_keys_to_check_are_the_read_and_the_held_ones():
    users, secrets = Store(), Store()
    keeper = _keeper(users, secrets)
    users.upsert(_user("a", "read"))
    users.upsert(_user("b", None))
    secrets.upsert(_secret())
    held = _secret(finalizers=[TEMPLATING_FINALIZER])
    held["metadata"]["name"] = "held"
    secrets.upsert(held)
    assert list(keeper.keys_to_check()) == [ObjectKey("ns", "held"), ObjectKey("ns", "read")]
    assert keeper.concerns(ObjectKey("ns", "read"), None)
    assert not keeper.concerns(ObjectKey("ns", "s"), secrets.get(ObjectKey("ns", "s")))
