"""Admission: the rules a kind declares with ``builder.admits(...)`` and how one review runs them
(docs/architecture.md#admission, docs/behavior/admission.md#webhooks).

A kind declares, in its ``setup(builder)``:

* ``model``: the spec is structured into it first (a spec the model rejects is refused with the
  same ``invalid spec: ...`` message the reconcile gives);
* ``checks``: functions over the review and the shared dependencies that return ``FieldError``s
  without any remote call (the caches, the pure rules of ``controller.models.validation``), run in
  order; the first check returning a severe error stops the review;
* ``remote``: an optional APIM dry run, run only when ``WEBHOOK_APIM_DRY_RUN`` is on, within a
  budget (an APIM that does not answer in time admits the object with a warning);
* ``default``: an optional mutation (a served mutating webhook) returning the changed object.

Before any check the templates of the spec are compiled as the reconcile does (the sources they
read loaded on demand): a template that does not compile refuses the object. An update that
leaves the spec unchanged (metadata, finalizers, the operator's own writes) and any update of an
object being deleted are admitted without checks: the operator can always finish what it
started.

It must never write anything, list through the API server, or raise for a bad object (the
verdict says why).
"""

from __future__ import annotations

import asyncio
import copy
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import attrs

from controller.informers.store import KubeObject
from controller.keys import ObjectKey
from controller.kube.resources import ResourceKind
from controller.models.convert import ModelError, structure
from controller.models.validation import FieldError, severe, warnings
from controller.reconcilers.framework.errors import ReconcileError

if TYPE_CHECKING:
    from controller.reconcilers.framework.runtime import RuntimeDeps

M = TypeVar("M")
Operation = Literal["CREATE", "UPDATE"]


@attrs.define
class Review(Generic[M]):
    """One admission request as a kind's rules see it."""

    operation: Operation
    key: ObjectKey
    obj: KubeObject
    """The object as submitted (after mutation, for a validating review)."""
    old: KubeObject | None
    """The stored object on UPDATE."""
    spec: dict[str, Any]
    """The spec with templates compiled (a copy)."""
    model: M
    old_model: M | None = None
    """The old spec structured (UPDATE only; None when the stored spec no longer structures)."""

    @property
    def namespace(self) -> str:
        return self.key.namespace

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def is_update(self) -> bool:
        return self.operation == "UPDATE"


Check = Callable[
    [Review[M], "RuntimeDeps"], Sequence[FieldError] | Awaitable[Sequence[FieldError]]
]
"""A rule: its findings, or (for a rule that may read one object the cache does not hold yet)
an awaitable of them."""
RemoteCheck = Callable[[Review[M], "RuntimeDeps"], Awaitable[Sequence[FieldError]]]
Default = Callable[
    [KubeObject, "RuntimeDeps"], KubeObject | Awaitable[KubeObject | None] | None
]
"""A mutation: the changed object (a copy), or None when nothing changes (or an awaitable of
either, for a mutation that reads a Secret: the caches hold no Secret data). Raises
``ReconcileError`` (its message refuses the object) when the object cannot be defaulted."""


@attrs.frozen
class AdmissionRules(Generic[M]):
    """What one kind declared."""

    model: type[M]
    checks: tuple[Check[M], ...] = ()
    remote: RemoteCheck[M] | None = None
    default: Default | None = None


@attrs.frozen(kw_only=True)
class Verdict:
    """The answer to one review."""

    allowed: bool
    message: str = ""
    warnings: tuple[str, ...] = ()
    patched: KubeObject | None = None
    """The mutated object (mutating reviews only; None: unchanged)."""


@attrs.frozen(kw_only=True)
class RemoteOptions:
    """The APIM dry run at admission (``WEBHOOK_APIM_DRY_RUN*``)."""

    enabled: bool = False
    budget: float = 2.0
    """Seconds the dry run may take before the object is admitted with a warning."""


def budget_exceeded_warning(budget: float) -> str:
    return (
        f"APIM dry run skipped: APIM did not answer within {budget:g}s; the object is "
        "admitted and checked against APIM when it is reconciled"
    )


def unreachable_warning(cause: str) -> str:
    return (
        f"APIM dry run skipped: {cause}; the object is admitted and checked against APIM when "
        "it is reconciled"
    )


def _spec_changed(obj: KubeObject, old: KubeObject | None) -> bool:
    return old is None or obj.get("spec") != old.get("spec")


def _deleting(obj: KubeObject | None) -> bool:
    return bool(obj is not None and (obj.get("metadata") or {}).get("deletionTimestamp"))


class Admission:
    """Runs the declared rules of every kind (keyed by plural) against the shared deps."""

    def __init__(
        self,
        rules: Mapping[ResourceKind, AdmissionRules[Any]],
        deps: RuntimeDeps,
        *,
        remote: RemoteOptions | None = None,
        compile_templates: Callable[[Mapping[str, Any], str], Awaitable[dict[str, Any]]]
        | None = None,
    ) -> None:
        self.rules = {kind.plural: declared for kind, declared in rules.items()}
        self.kinds = {kind.plural: kind for kind in rules}
        """The kinds served, by plural."""
        self.deps = deps
        self.remote = remote or RemoteOptions()
        self._compile = compile_templates

    def validates(self, plural: str) -> bool:
        return plural in self.rules

    def mutates(self, plural: str) -> bool:
        rules = self.rules.get(plural)
        return rules is not None and rules.default is not None

    async def default(self, plural: str, obj: KubeObject) -> Verdict:
        rules = self.rules[plural]
        if rules.default is None:
            return Verdict(allowed=True)
        try:
            result = rules.default(copy.deepcopy(obj), self.deps)
            patched = await result if inspect.isawaitable(result) else result
        except ReconcileError as error:
            return Verdict(allowed=False, message=str(error))
        return Verdict(allowed=True, patched=patched)

    async def validate(
        self, plural: str, operation: Operation, obj: KubeObject, old: KubeObject | None
    ) -> Verdict:
        rules = self.rules[plural]
        if operation == "UPDATE" and (_deleting(old) or not _spec_changed(obj, old)):
            return Verdict(allowed=True)
        key = ObjectKey.of(obj)
        raw_spec = obj.get("spec") or {}
        try:
            spec = (
                await self._compile(raw_spec, key.namespace) if self._compile else dict(raw_spec)
            )
        except ReconcileError as error:
            return Verdict(allowed=False, message=str(error))
        try:
            model = structure(copy.deepcopy(spec), rules.model)
        except ModelError as error:
            return Verdict(allowed=False, message=f"invalid spec: {error}")
        old_model = None
        if old is not None:
            try:
                old_model = structure(copy.deepcopy(dict(old.get("spec") or {})), rules.model)
            except ModelError:
                old_model = None
        review: Review[Any] = Review(operation, key, obj, old, spec, model, old_model)
        found: list[FieldError] = []
        for check in rules.checks:
            result = check(review, self.deps)
            found.extend(await result if inspect.isawaitable(result) else result)
            if severe(found):
                break
        if not severe(found) and rules.remote is not None and self.remote.enabled:
            found.extend(await self._remote(rules.remote, review))
        blocking = severe(found)
        notes = tuple(dict.fromkeys(problem.message for problem in warnings(found)))
        if blocking:
            return Verdict(allowed=False, message=blocking[0].message, warnings=notes)
        return Verdict(allowed=True, warnings=notes)

    async def _remote(self, remote: RemoteCheck[Any], review: Review[Any]) -> list[FieldError]:
        budget = self.remote.budget
        try:
            return list(await asyncio.wait_for(remote(review, self.deps), budget))
        except TimeoutError:
            return [FieldError("spec", budget_exceeded_warning(budget), "warning")]
