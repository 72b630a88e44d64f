"""The reconcile contract between the controller loop and every reconciler.

Owns: ``Result``, ``TerminalError`` and the ``Reconciler`` protocol. Semantics
(controller-runtime ``pkg/reconcile``):

* A reconciler gets only a key, never an event: it reads the current state and makes the world
  match it (level-triggered), so running it twice in a row must be harmless.
* Returning ``Result()`` means converged: the key's failure history is forgotten.
* Returning ``Result(requeue_after=s)`` with ``s > 0`` means "look again in ``s`` seconds"
  (polling); the failure history is forgotten too.
* Raising ``TerminalError`` means "failed, and retrying will not help": recorded as an error,
  not retried until the object changes again.
* Raising any other exception means "failed, try again": the key is re-queued with per-key
  exponential backoff. An exception with a ``max_backoff`` attribute (seconds) caps that delay:
  failures whose cause clears by itself (an unreachable APIM) must not wait a quarter of an
  hour. A ``requeue_after`` cannot accompany an error, so the upstream quirk of silently
  dropping it does not arise.

Must never: depend on Kubernetes, the queue or the metrics; it is the vocabulary both sides
share.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from controller.keys import ObjectKey

__all__ = ["Reconciler", "Result", "TerminalError"]


@attrs.frozen(kw_only=True)
class Result:
    """What a successful reconcile asks for next."""

    #: Seconds after which to reconcile the key again; ``None`` or ``<= 0`` means only when
    #: something changes.
    requeue_after: float | None = None


class TerminalError(Exception):
    """A failure that retrying cannot fix (invalid spec, rejected credentials, ...).

    Still logged and counted as a reconcile error; the key is not re-queued. ``log_level`` is the
    level of its one log line (see ``LOG_LEVEL_ATTRIBUTE``).
    """

    def __init__(self, message: str, *, log_level: str = "error") -> None:
        super().__init__(message)
        self.log_level = log_level


LOG_LEVEL_ATTRIBUTE = "log_level"
"""An exception a reconcile raises may carry ``log_level`` (``info``, ``warning`` or ``error``,
the default): the level of the loop's one line about it. Expected waits (a reference that may
appear, an APIM outage) are not errors an operator should be paged for
(docs/behavior/conditions-and-events.md#errors-and-retries)."""


class Reconciler(Protocol):
    """Makes the world match the object named by ``key``."""

    async def reconcile(self, key: ObjectKey) -> Result: ...
