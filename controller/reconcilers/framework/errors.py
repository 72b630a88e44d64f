"""The reconcile error taxonomy and how each class is retried and reported.

Upstream GKO wraps every failure in one of four envelopes; the envelope decides both the status
condition reason (see ``conditions.py``) and whether the key is retried with backoff or left
alone until the spec changes (docs/behavior/conditions-and-events.md). ``classify`` turns *any*
exception into an envelope, so that no failure, whatever its type, leaves an object without a
condition. This module performs no I/O.
"""

from __future__ import annotations

import asyncio
from typing import Final

from controller.apim import ApimError
from controller.kube.rest import KubeApiError

# Condition reasons carried by the envelopes (exact upstream strings).
REASON_RECONCILE_FAILED: Final = "ReconcileFailed"
REASON_COMPILE_TEMPLATE_ERROR: Final = "CompileTemplateError"
REASON_CONTROL_PLANE_ERROR: Final = "ControlPlaneError"
REASON_ILLEGAL_STATE_ERROR: Final = "IllegalStateError"

# APIM statuses that retrying cannot fix: the request itself is wrong, or the credentials are.
_UNRECOVERABLE_HTTP_STATUSES: Final = frozenset({400, 401})

#: Longest wait between retries of a failure caused by an unreachable APIM (seconds): the
#: outage ends by itself, and recovery re-queues such objects at once anyway.
TRANSPORT_MAX_BACKOFF: Final = 300.0


class ReconcileError(Exception):
    """Base of the envelopes; a plain ReconcileError is a generic, recoverable failure."""

    reason: str = REASON_RECONCILE_FAILED

    @property
    def recoverable(self) -> bool:
        return True

    @property
    def hint(self) -> str:
        """What the user can do about it, when the error text does not say (empty: it does)."""
        return ""

    @property
    def log_level(self) -> str:
        """The level of the loop's one line about this failure (``controller/reconcile.py``):
        ``error`` for what needs the operator's attention."""
        return "error"

    def describe(self) -> str:
        """The error text and the hint: the message of ``Accepted=False`` and of the Warning
        Event (docs/behavior/conditions-and-events.md)."""
        return f"{self}. {self.hint}" if self.hint else str(self)


class AuthorError(ReconcileError):
    """What only the object's author can fix: not retried (a change of the object or of what it
    reads re-triggers it), logged as a warning since the operator itself works."""

    @property
    def recoverable(self) -> bool:
        return False

    @property
    def log_level(self) -> str:
        return "warning"


class CompileTemplateError(AuthorError):
    """A ``[[ secret ... ]]`` / ``[[ configmap ... ]]`` template cannot be compiled."""

    reason = REASON_COMPILE_TEMPLATE_ERROR


class IllegalStateError(AuthorError):
    """The desired state is contradictory (e.g. a STARTED v4 API without plans)."""

    reason = REASON_ILLEGAL_STATE_ERROR


class ResolveRefError(ReconcileError):
    """A referenced Kubernetes object (context, resource, Secret...) does not exist (yet).

    Recoverable: creating the dependency later re-triggers the dependant, and backoff covers the
    window where the informer has not seen it yet.
    """

    reason = REASON_RECONCILE_FAILED

    @property
    def hint(self) -> str:
        return (
            "Create it, or correct the reference: the object is reconciled again as soon as "
            "it exists"
        )

    @property
    def log_level(self) -> str:
        return "info"  # an expected wait: the reference may be created next


class ControlPlaneError(ReconcileError):
    """An APIM call failed. ``status`` is the HTTP status, or None for a transport failure."""

    reason = REASON_CONTROL_PLANE_ERROR

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def recoverable(self) -> bool:
        return self.status not in _UNRECOVERABLE_HTTP_STATUSES

    @property
    def unreachable(self) -> bool:
        """APIM did not answer, or answered that it cannot serve (5xx): an outage, not a
        problem with the object."""
        return self.status is None or self.status >= 500

    @property
    def log_level(self) -> str:
        # An outage is reported per context by recovery.py; a refused request needs a look.
        return "warning" if self.unreachable else "error"

    @property
    def max_backoff(self) -> float | None:
        """Read by the controller loop to cap the retry delay (controller/reconcile.py)."""
        return TRANSPORT_MAX_BACKOFF if self.unreachable else None


class UnexpectedError(ReconcileError):
    """Anything outside the taxonomy (a bug, a library raising what it did not document):
    still a condition, an Event and a retry with backoff, never a silent loop."""

    def __init__(self, error: BaseException) -> None:
        detail = str(error) or "no detail"
        super().__init__(f"unexpected {type(error).__name__}: {detail}")

    @property
    def hint(self) -> str:
        return (
            "This is a bug in the operator, retried with backoff: please report it with the "
            "operator's logs for this object"
        )


def control_plane_error(error: ApimError) -> ControlPlaneError:
    return ControlPlaneError(str(error), status=error.status)


def classify(error: Exception) -> ReconcileError:
    """The envelope of any exception a kind's logic raised."""
    if isinstance(error, ReconcileError):
        return error
    if isinstance(error, ApimError):
        return control_plane_error(error)
    if isinstance(error, KubeApiError):
        return ReconcileError(
            f"Kubernetes API: {error} (retried with backoff; if it persists, check the "
            "operator's RBAC and the API server)"
        )
    if isinstance(error, asyncio.CancelledError):
        raise error
    return UnexpectedError(error)
