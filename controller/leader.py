"""Leader election on a ``coordination.k8s.io/v1`` Lease, so only one replica reconciles.

``LeaderElector`` owns the Lease protocol (the same one client-go uses): a candidate takes the
Lease when it is free or when its holder has not renewed it for a whole lease duration as
measured on the candidate's *own* monotonic clock (so clock skew between nodes does not matter);
the leader renews every retry period and gives up if it cannot renew within the renew deadline;
updates are optimistic (PUT with the resourceVersion read), so two candidates never both win.
Unlike upstream GKO, a leader that shuts down releases the Lease (empty holder) so the next
candidate takes over at once instead of waiting out the lease.

It also exports ``leader_election_master_status{name}`` (1 leader, 0 standby).

It must never start or stop controllers itself; the manager reacts to ``acquire``/``hold``.
"""

from __future__ import annotations

import asyncio
import datetime
import math
import random
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp
import attrs
from kubernetes_asyncio.client import ApiClient

from controller.config import LEADER_ELECTION_ID
from controller.kube.resources import LEASES
from controller.kube.rest import KubeApiError, request_json
from controller.logging import get_logger
from controller.metrics import LEADER_ELECTION_MASTER_STATUS

_log = get_logger("leader-election")

JITTER_FACTOR = 1.2
_TRANSIENT = (OSError, TimeoutError, aiohttp.ClientError)


def default_identity() -> str:
    """``hostname_uuid``, unique per process even when pods share a hostname."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


def _check_durations(instance: LeaderElectionOptions, *_: Any) -> None:
    if instance.retry_period <= 0:
        raise ValueError("retry_period must be positive")
    if instance.renew_deadline <= JITTER_FACTOR * instance.retry_period:
        raise ValueError("renew_deadline must exceed 1.2 * retry_period")
    if instance.lease_duration <= instance.renew_deadline:
        raise ValueError("lease_duration must exceed renew_deadline")


@attrs.frozen(kw_only=True)
class LeaderElectionOptions:
    namespace: str
    """Namespace of the Lease: the operator's own (``POD_NAMESPACE``)."""
    name: str = LEADER_ELECTION_ID
    """Lease name. Defaults to ``24d975d3.gravitee.io`` (upstream's election ID)."""
    identity: str = attrs.field(factory=default_identity)
    """Holder identity written into the Lease. Defaults to ``hostname_uuid``."""
    lease_duration: float = attrs.field(default=15.0, validator=_check_durations)
    """How long a standby waits after the last renewal it saw before taking over. 15 s."""
    renew_deadline: float = 10.0
    """How long the leader keeps retrying a failed renewal before stepping down. 10 s."""
    retry_period: float = 2.0
    """Interval between acquire attempts and between renewals. 2 s."""


class LeadershipLostError(Exception):
    """The leader could not renew its Lease within the renew deadline."""


def _micro_time(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """Acquires, holds and releases one Lease for one identity."""

    def __init__(
        self,
        api_client: ApiClient,
        options: LeaderElectionOptions,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
        rng: random.Random | None = None,
    ) -> None:
        self._api = api_client
        self.options = options
        self._monotonic = monotonic
        self._wall = wall_clock
        self._rng = rng or random.Random()
        self._observed_spec: dict[str, Any] | None = None
        self._observed_at = 0.0
        self._resource_version = ""
        self._leader = False
        self._released = False
        self._gauge = LEADER_ELECTION_MASTER_STATUS.labels(name=options.name)
        self._gauge.set(0)

    @property
    def identity(self) -> str:
        return self.options.identity

    @property
    def is_leader(self) -> bool:
        return self._leader

    @property
    def observed_holder(self) -> str:
        return str((self._observed_spec or {}).get("holderIdentity") or "")

    def _path(self) -> str:
        return LEASES.object_path(self.options.namespace, self.options.name)

    def _set_leader(self, leader: bool) -> None:
        if leader != self._leader:
            _log.info("became leader" if leader else "stopped leading",
                      lease=self.options.name, identity=self.identity)
        self._leader = leader
        self._gauge.set(1 if leader else 0)

    async def acquire(self) -> None:
        """Return once this candidate holds the Lease (retrying every ~retry period)."""
        _log.info("waiting for leadership", lease=self.options.name, identity=self.identity)
        while True:
            if await self._try_acquire_or_renew():
                self._set_leader(True)
                return
            await asyncio.sleep(self._jittered(self.options.retry_period))

    async def hold(self) -> None:
        """Renew the Lease until cancelled; raises ``LeadershipLostError`` when renewal fails
        for longer than the renew deadline (or another candidate took the Lease)."""
        options = self.options
        while True:
            await asyncio.sleep(options.retry_period)
            deadline = self._monotonic() + options.renew_deadline
            while not await self._try_acquire_or_renew():
                if self._monotonic() + options.retry_period >= deadline:
                    self._set_leader(False)
                    raise LeadershipLostError(
                        f"could not renew lease {options.namespace}/{options.name} within "
                        f"{options.renew_deadline}s"
                    )
                await asyncio.sleep(options.retry_period)

    async def release(self) -> bool:
        """Give the Lease up so a standby can take over at once; True if it was released."""
        if not self._leader or self._released:
            return False
        self._released = True
        now = _micro_time(self._wall())
        spec = dict(self._observed_spec or {})
        spec.update(holderIdentity="", leaseDurationSeconds=1, renewTime=now, acquireTime=now)
        body = {
            "apiVersion": LEASES.api_version,
            "kind": LEASES.kind,
            "metadata": {"name": self.options.name, "namespace": self.options.namespace,
                         "resourceVersion": self._resource_version},
            "spec": spec,
        }
        try:
            await request_json(self._api, "PUT", self._path(), body=body, timeout=5.0)
        except (KubeApiError, *_TRANSIENT) as exc:
            _log.warning("could not release the lease", error=str(exc), lease=self.options.name)
            self._set_leader(False)
            return False
        self._set_leader(False)
        _log.info("lease released", lease=self.options.name, identity=self.identity)
        return True

    def _jittered(self, period: float) -> float:
        return period * (1 + self._rng.random() * JITTER_FACTOR)

    async def _try_acquire_or_renew(self) -> bool:
        options = self.options
        now_wall = _micro_time(self._wall())
        timeout = max(options.retry_period, 1.0)
        try:
            lease = await request_json(self._api, "GET", self._path(), timeout=timeout)
        except KubeApiError as exc:
            if not exc.not_found:
                _log.warning("cannot read the lease", error=str(exc), lease=options.name)
                return False
            return await self._create(now_wall, timeout)
        except _TRANSIENT as exc:
            _log.warning("cannot read the lease", error=str(exc), lease=options.name)
            return False

        spec: dict[str, Any] = dict(lease.get("spec") or {})
        if spec != self._observed_spec:
            self._observed_spec = spec
            self._observed_at = self._monotonic()
        holder = str(spec.get("holderIdentity") or "")
        if (
            holder
            and holder != self.identity
            and self._observed_at + options.lease_duration > self._monotonic()
        ):
            if self._leader:
                self._set_leader(False)
            return False

        renewing = holder == self.identity
        new_spec = dict(spec)
        new_spec.update(
            holderIdentity=self.identity,
            leaseDurationSeconds=math.ceil(options.lease_duration),
            renewTime=now_wall,
        )
        if not renewing:
            new_spec["acquireTime"] = now_wall
            new_spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
        lease["spec"] = new_spec
        try:
            updated = await request_json(self._api, "PUT", self._path(), body=lease,
                                         timeout=timeout)
        except KubeApiError as exc:
            if not exc.conflict:
                _log.warning("cannot update the lease", error=str(exc), lease=options.name)
            return False
        except _TRANSIENT as exc:
            _log.warning("cannot update the lease", error=str(exc), lease=options.name)
            return False
        self._remember(updated)
        return True

    async def _create(self, now_wall: str, timeout: float) -> bool:
        options = self.options
        body = {
            "apiVersion": LEASES.api_version,
            "kind": LEASES.kind,
            "metadata": {"name": options.name, "namespace": options.namespace},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": math.ceil(options.lease_duration),
                "acquireTime": now_wall,
                "renewTime": now_wall,
                "leaseTransitions": 0,
            },
        }
        try:
            created = await request_json(
                self._api, "POST", LEASES.collection_path(options.namespace), body=body,
                timeout=timeout,
            )
        except KubeApiError as exc:
            if not exc.conflict:
                _log.warning("cannot create the lease", error=str(exc), lease=options.name)
            return False
        except _TRANSIENT as exc:
            _log.warning("cannot create the lease", error=str(exc), lease=options.name)
            return False
        self._remember(created)
        return True

    def _remember(self, lease: dict[str, Any]) -> None:
        self._observed_spec = dict(lease.get("spec") or {})
        self._observed_at = self._monotonic()
        self._resource_version = str((lease.get("metadata") or {}).get("resourceVersion") or "")
