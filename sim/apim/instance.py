"""One simulated APIM installation, without its HTTP face.

Owns :class:`SimulatorOptions` and :class:`Simulator` (state, request log, credentials and faults).
Depends on nothing that serves HTTP, so the request helpers (``http_common``) and the handlers can
name the type while ``simulator`` builds the aiohttp application around it: the package stays
acyclic (``tests/sim/test_import_cycles.py`` and the ``sim-apim-layers`` contract in setup.cfg).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import attrs

from sim.apim.auth import Credentials
from sim.apim.faults import Faults
from sim.apim.requestlog import RequestLog
from sim.apim.state import SimulatorState

DEFAULT_USERS: Mapping[str, str] = {"admin": "admin"}
DEFAULT_ORGS_ENVS: Mapping[str, Iterable[str]] = {"DEFAULT": ["DEFAULT"]}


Users = tuple[tuple[str, str], ...]
OrgsEnvs = tuple[tuple[str, tuple[str, ...]], ...]


def _frozen_users(value: Mapping[str, str] | Users) -> Users:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(name), str(password)) for name, password in items)


def _frozen_tokens(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _frozen_orgs_envs(value: Mapping[str, Iterable[str]] | OrgsEnvs) -> OrgsEnvs:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(org), tuple(envs)) for org, envs in items)


@attrs.frozen
class SimulatorOptions:
    """How a simulated APIM is set up.

    * ``users``: accepted Basic credentials, name -> password (default ``admin``/``admin``).
    * ``tokens``: accepted bearer tokens (default none).
    * ``orgs_envs``: organizations and their environment ids (default ``DEFAULT``/``DEFAULT``);
      every environment also answers to its lower-cased id as hrid.
    * ``request_log_limit``: entries kept in the request log, oldest dropped (default 50,000,
      about 75 MB with 1.5 kB bodies).
    * ``fault_seed``: seed of the random draws of ``fail_fraction`` (default: unseeded).
    * ``record_responses``: also keep each response body in the log (default off; contract
      tests turn it on to validate every answer).
    """

    users: Users = attrs.field(default=DEFAULT_USERS, converter=_frozen_users)
    tokens: tuple[str, ...] = attrs.field(default=(), converter=_frozen_tokens)
    orgs_envs: OrgsEnvs = attrs.field(default=DEFAULT_ORGS_ENVS, converter=_frozen_orgs_envs)
    request_log_limit: int = 50_000
    fault_seed: int | None = None
    record_responses: bool = False

    def __repr__(self) -> str:
        users = [name for name, _ in self.users]
        return (
            f"SimulatorOptions(users={users}, tokens=<{len(self.tokens)} hidden>, "
            f"orgs_envs={dict(self.orgs_envs)})"
        )


@attrs.define
class Outage:
    """One period without a listener (``POST /_sim/outage``), in ``time.monotonic()`` seconds:
    comparable across processes of one Linux host (CLOCK_MONOTONIC is system-wide)."""

    down_at: float
    up_at: float | None = None


class Simulator:
    """One simulated APIM installation: its database, who may call it, and what goes wrong."""

    def __init__(self, options: SimulatorOptions | None = None) -> None:
        self.options = options or SimulatorOptions()
        self._orgs_envs = {org: list(envs) for org, envs in self.options.orgs_envs}
        self._user_names = [name for name, _ in self.options.users]
        self.state = SimulatorState(orgs_envs=self._orgs_envs, users=self._user_names)
        self.requests = RequestLog(max_entries=self.options.request_log_limit)
        self.credentials = Credentials(users=dict(self.options.users), tokens=self.options.tokens)
        self.faults = Faults(self.credentials, seed=self.options.fault_seed)
        self.outages: list[Outage] = []
        #: Set by whoever serves the app (``testing.start_simulator``): starts an outage of the
        #: given seconds in the background (``POST /_sim/outage``); None when nothing can.
        self.outage_hook: Callable[[float], None] | None = None

    def __repr__(self) -> str:
        return f"Simulator(orgs={sorted(self._orgs_envs)}, {self.credentials!r})"

    def reset(self) -> None:
        """Empty database and request log, no faults, original credentials."""
        self.state = SimulatorState(orgs_envs=self._orgs_envs, users=self._user_names)
        self.requests.clear()
        self.faults.clear()
