"""Admission rules enforced at reconcile time.

Until admission webhooks exist, an invalid object must still be stopped before it reaches APIM
or a gateway ConfigMap: the rules of ``controller.models.validation`` that need no APIM call run
at the start of a reconcile, and the first severe one becomes ``IllegalStateError``
(``Accepted=False``, no retry until the spec changes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from controller.models.convert import ModelError, structure
from controller.models.validation import FieldError, severe
from controller.reconcilers.framework.errors import IllegalStateError

M = TypeVar("M")


def enforce(
    spec: Mapping[str, Any], model: type[M], rules: Callable[[M], list[FieldError]]
) -> None:
    """Raise ``IllegalStateError`` for a spec the model rejects or that breaks a severe rule."""
    try:
        structured = structure(dict(spec), model)
    except ModelError as error:
        raise IllegalStateError(f"invalid spec: {error}") from error
    problems = severe(rules(structured))
    if problems:
        raise IllegalStateError(problems[0].message)
