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

A kind that also reads back (``builder.reads_back()``) gets the drift check on UPDATE
(``DRIFT_DETECTION_*``, docs/behavior/drift.md#at-admission): when the stored object was synced,
APIM's copy is compared with what the operator would send for the stored spec (the last applied
state) by the periodic read-back's own code; if it differs, and does not already say what the
update asks, the update is warned about, refused or only logged, per setting. The APIM read runs
within the dry-run budget.

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
import structlog

from controller import vocabulary as v
from controller.apim.errors import ApimError
from controller.config import AdmissionDriftPolicy
from controller.informers.store import KubeObject
from controller.keys import ObjectKey
from controller.kube.resources import ResourceKind
from controller.models.convert import ModelError, structure
from controller.models.validation import FieldError, severe, warnings
from controller.reconcilers.framework.errors import ReconcileError
from controller.reconcilers.framework.readback import ReadBack
from controller.reconcilers.support.drift import DELETED, compare, summarize

if TYPE_CHECKING:
    from controller.reconcilers.framework.runtime import RuntimeDeps

log = structlog.get_logger().bind(logger="admission")

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


@attrs.frozen(kw_only=True)
class DriftOptions:
    """The drift check at admission (``DRIFT_DETECTION_*``)."""

    enabled: bool = False
    policy: AdmissionDriftPolicy = "warn"
    on_remote_missing: AdmissionDriftPolicy = "warn"
    on_fetch_failure: AdmissionDriftPolicy = "warn"
    budget: float = 2.0
    """Seconds APIM's copy may take to read (the dry-run budget)."""


@attrs.frozen
class DriftReader:
    """How admission reads one kind's drift (the kind's runtime provides both)."""

    synced: Callable[[KubeObject], bool]
    """Whether APIM holds what the operator sent for this object's spec."""
    read: Callable[[KubeObject], Awaitable[ReadBack | None]]
    """What the operator would send for this object's spec, and APIM's copy."""


def drift_checked(obj: KubeObject, default: bool) -> bool:
    """The object's ``gravitee.io/drift-detection`` annotation (exactly ``"true"`` or
    ``"false"``), else ``default``."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(v.ANNOTATION_DRIFT_DETECTION)
    if value == "true":
        return True
    return False if value == "false" else default


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
        drift: DriftOptions | None = None,
        readers: Mapping[ResourceKind, DriftReader] | None = None,
        compile_templates: Callable[[Mapping[str, Any], str], Awaitable[dict[str, Any]]]
        | None = None,
    ) -> None:
        self.rules = {kind.plural: declared for kind, declared in rules.items()}
        self.kinds = {kind.plural: kind for kind in rules}
        """The kinds served, by plural."""
        self.deps = deps
        self.remote = remote or RemoteOptions()
        self.drift = drift or DriftOptions()
        self.readers = {kind.plural: reader for kind, reader in (readers or {}).items()}
        """The kinds whose updates are checked for drift, by plural."""
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
        if not severe(found) and old is not None and plural in self.readers:
            found.extend(await self._drift(plural, obj, old))
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

    # -- drift ----------------------------------------------------------------------------------

    async def _drift(self, plural: str, obj: KubeObject, old: KubeObject) -> list[FieldError]:
        """The drift check of one update (docs/behavior/drift.md#at-admission): findings
        name fields only, never values."""
        reader = self.readers[plural]
        if not drift_checked(obj, self.drift.enabled) or not reader.synced(old):
            return []
        options = self.drift
        what = f"[{self.kinds[plural].kind}] [{ObjectKey.of(obj)}]"
        try:
            paths = await asyncio.wait_for(_drifted(reader, obj, old), options.budget)
        except TimeoutError:
            return drift_finding(
                options.on_fetch_failure, what,
                f"failed to fetch remote {what} for drift detection: APIM did not answer "
                f"within {options.budget:g}s",
            )
        except Exception as error:  # whatever the read failed on, the policy decides
            cause = error.describe() if isinstance(error, ReconcileError) else (
                str(error) or type(error).__name__)
            return drift_finding(options.on_fetch_failure, what,
                              f"failed to fetch remote {what} for drift detection: {cause}")
        if not paths:
            return []
        if paths == [DELETED]:
            return drift_finding(options.on_remote_missing, what,
                              f"remote {what} not found during drift detection")
        return drift_finding(
            options.policy, what,
            f"drift detected: {what} was changed in APIM since the operator last applied it "
            f"({summarize(paths)}); update the resource to match, undo the change in APIM, or "
            f"annotate it {v.ANNOTATION_DRIFT_DETECTION}=false to overwrite it",
        )


async def _drifted(reader: DriftReader, obj: KubeObject, old: KubeObject) -> list[str]:
    """The paths where APIM's copy differs from the last applied state (``old``), unless it
    already holds what the update asks (someone made the same change in both places)."""
    last = await reader.read(old)
    if last is None:
        return []
    paths = compare(last.kind, last.sent, last.remote)
    if not paths or paths == [DELETED]:
        return paths
    try:
        wanted = await reader.read(obj)
    except (ReconcileError, ApimError):
        return paths  # the new spec does not resolve: the last applied state decides
    if wanted is not None and not compare(wanted.kind, wanted.sent, wanted.remote):
        return []
    return paths


def drift_finding(policy: AdmissionDriftPolicy, what: str, message: str) -> list[FieldError]:
    """What ``policy`` makes of one finding about ``what``: a refusal, a warning, or (``allow``)
    a log line and nothing for the verdict."""
    if policy == "deny":
        return [FieldError("spec", message)]
    if policy == "warn":
        return [FieldError("spec", message, "warning")]
    log.warning(f"drift detected for resource {what}, drift policy is 'allow': drift is ignored",
                finding=message)
    return []
