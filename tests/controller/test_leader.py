"""Lease leader election against the emulator, with short durations."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from controller.kube.client import connect
from controller.kube.resources import LEASES
from controller.kube.rest import request_json
from controller.leader import LeaderElectionOptions, LeaderElector, LeadershipLostError
from controller.metrics import LEADER_ELECTION_MASTER_STATUS
from tests.controller.informers.helpers import wait_for

LEASE = 2.0
RENEW = 1.5
RETRY = 0.3


def options(identity: str, name: str = "test-lease") -> LeaderElectionOptions:
    return LeaderElectionOptions(namespace="default", name=name, identity=identity,
                                 lease_duration=LEASE, renew_deadline=RENEW, retry_period=RETRY)


@pytest.fixture
async def api(kubeapi):
    client = await connect(kubeconfig=str(kubeapi.kubeconfig))
    yield client
    await client.close()


async def lease_spec(api, name: str = "test-lease") -> dict[str, Any]:
    lease = await request_json(api, "GET", LEASES.object_path("default", name))
    spec: dict[str, Any] = lease["spec"]
    return spec


@contextlib.asynccontextmanager
async def running(coro):
    task = asyncio.ensure_future(coro)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, LeadershipLostError):
            await task


def gauge(name: str) -> float:
    return float(LEADER_ELECTION_MASTER_STATUS.labels(name=name)._value.get())


async def test_first_candidate_creates_the_lease_and_leads(api):
    elector = LeaderElector(api, options("a"))
    assert gauge("test-lease") == 0
    await asyncio.wait_for(elector.acquire(), 5)
    assert elector.is_leader
    assert gauge("test-lease") == 1
    spec = await lease_spec(api)
    assert spec["holderIdentity"] == "a"
    assert spec["leaseDurationSeconds"] == 2
    assert spec["renewTime"].endswith("Z")


async def test_the_leader_keeps_renewing_and_a_standby_waits(api):
    leader = LeaderElector(api, options("a"))
    standby = LeaderElector(api, options("b"))
    await asyncio.wait_for(leader.acquire(), 5)
    first_renewal = (await lease_spec(api))["renewTime"]
    async with running(leader.hold()), running(standby.acquire()) as waiting:
        # Two lease durations: the standby must never get in while renewals continue.
        done, _ = await asyncio.wait({waiting}, timeout=2 * LEASE)
        assert not done
        assert not standby.is_leader
        assert standby.observed_holder == "a"
        assert (await lease_spec(api))["renewTime"] != first_renewal


async def test_a_released_lease_is_taken_over_at_once(api):
    leader = LeaderElector(api, options("a"))
    standby = LeaderElector(api, options("b"))
    await asyncio.wait_for(leader.acquire(), 5)
    async with running(standby.acquire()) as waiting:
        await wait_for(lambda: standby.observed_holder == "a", what="standby to see the leader")
        assert await leader.release()
        assert not leader.is_leader
        # Well before a lease duration: the empty holder means "free now".
        await asyncio.wait_for(asyncio.shield(waiting), LEASE * 0.9)
    assert standby.is_leader
    spec = await lease_spec(api)
    assert spec["holderIdentity"] == "b"
    assert spec["leaseTransitions"] == 1  # counted like client-go: a new holder took over


async def test_a_crashed_leader_is_replaced_after_the_lease_expires(api):
    crashed = LeaderElector(api, options("a"))
    standby = LeaderElector(api, options("b"))
    await asyncio.wait_for(crashed.acquire(), 5)  # and then never renews nor releases
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.wait_for(standby.acquire(), LEASE + 4 * RETRY + 2)
    assert loop.time() - started >= LEASE * 0.9  # not before the lease ran out
    spec = await lease_spec(api)
    assert spec["holderIdentity"] == "b"
    assert spec["leaseTransitions"] == 1


async def test_a_leader_that_cannot_renew_steps_down(kubeapi, api):
    leader = LeaderElector(api, options("a"))
    await asyncio.wait_for(leader.acquire(), 5)
    kubeapi.faults.fail_next(1000, verb="update", resource="leases", status=500)
    with pytest.raises(LeadershipLostError):
        await asyncio.wait_for(leader.hold(), RENEW + 3 * RETRY + 2)
    assert not leader.is_leader
    assert gauge("test-lease") == 0
    kubeapi.faults.reset()


def test_durations_must_be_ordered():
    with pytest.raises(ValueError, match="renew_deadline"):
        LeaderElectionOptions(namespace="n", lease_duration=15, renew_deadline=2,
                              retry_period=2)
    with pytest.raises(ValueError, match="lease_duration"):
        LeaderElectionOptions(namespace="n", lease_duration=10, renew_deadline=10,
                              retry_period=2)
    default = LeaderElectionOptions(namespace="n")
    assert (default.lease_duration, default.renew_deadline, default.retry_period) == (15, 10, 2)
    assert default.name == "24d975d3.gravitee.io"
    host, _, suffix = default.identity.rpartition("_")
    assert host
    assert len(suffix) == 36
