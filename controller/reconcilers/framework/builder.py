"""What a kind declares: the builder each kind module's ``setup(builder)`` fills in.

In the spirit of controller-runtime's builder (``For``, ``Owns``, ``Watches``), a kind says
*what* it reconciles, owns and references; ``assemble.py`` turns the declarations into informer
handlers, indexes and queues, and ``runtime.py`` runs the reconcile skeleton around the kind's
logic. A kind never registers a handler or builds a key itself. See docs/architecture.md.

Declarations:

* ``reconciles(kind, finalizer=...)``: the primary kind; its own events go through the spec-hash
  predicate (a restart over converged objects costs nothing).
* ``owns(kind, expected=...)``: objects the kind writes and owns (gateway ConfigMaps). A change
  made by someone else, or a deletion, enqueues the owner; after the caches sync, an owner whose
  expected object is missing or edited is enqueued too.
* ``references(kind, refs=...)``: objects the kind reads; a change of one enqueues every object
  referencing it, found through an index of ``refs``. ``follow=True`` also propagates what the
  referenced object itself reads (a Secret read by a context reaches the APIs using the context).
* ``reads_sources(refs, finalizer=...)``: Secrets and ConfigMaps the kind reads (templates,
  credentials, certificates). Their data changes propagate; with a ``finalizer``, the runtime
  keeps that finalizer on each source while anything still references it, derived from the
  indexes at every check (never counted).
* ``deletion_waits_for_referrers()``: the kind's deletion is blocked while others reference it
  (contexts, resources); a referrer that goes away enqueues it, but only while it is deleting.
* ``claims(kinds, values=..., index=...)``: objects of ``kinds`` claim values that must be unique
  among them (context paths). Every claim is filed in ``index`` on each kind's cache (the logic
  looks competitors up there); an object whose claims change, or that goes away, enqueues this
  kind's objects claiming any value it had or has, so a conflict that goes is noticed.
* ``admits(model, *checks, remote=..., default=...)``: the kind's admission rules, served by the
  validating (and, with ``default``, mutating) webhook of its kind (``admission.py``).
* ``enabled(flag)``: a kind that only runs when a setting asks for it (the Ingress controller):
  when False, nothing of it is assembled, not even the informer of its kind.
* ``derived_status(field, from_referrers=kind)``: ``status.<field>`` is the number of objects of
  ``kind`` referencing this object now (upstream's ``status.subscriptions``), read from the
  indexes: written with every status write, and kept current by a keeper (``derived.py``) when a
  referrer appears or goes, without reconciling the object again.
* ``reads_back()``: what the kind pushes to APIM is read back periodically and compared with
  what it would send now (``KindLogic.read_back``); a difference is reported as ``Drifted`` and,
  by policy, repaired (``readback.py``, docs/behavior/drift.md).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from controller.config import Settings
from controller.informers.predicates import EventFilter, dependency_changed
from controller.informers.store import KubeObject
from controller.keys import ObjectKey
from controller.kube.resources import ResourceKind
from controller.reconcilers.framework.admission import (
    AdmissionRules,
    Check,
    Default,
    RemoteCheck,
)

if TYPE_CHECKING:
    from controller.reconcilers.framework.runtime import KindLogic, RuntimeDeps

M = TypeVar("M")

RefsFunc = Callable[[KubeObject], Iterable[ObjectKey]]
"""The keys of the objects ``obj`` references (a reference without a namespace lives in the
referrer's namespace)."""

SourcesFunc = Callable[[KubeObject], Iterable[Hashable]]
"""The ``SourceRef``s of the Secrets and ConfigMaps ``obj`` reads."""


@attrs.frozen
class Reference:
    kind: ResourceKind
    refs: RefsFunc
    index: str
    when: EventFilter
    follow: bool
    via: ResourceKind | None = None
    """Referenced through objects of this kind (which the kind also references): ``refs``
    then reads those objects, e.g. the Groups an API's Notifications name."""
    reads: Callable[[KubeObject], object] | None = None
    """What ``refs`` reads (the spec, unless said otherwise, e.g. an annotation too): the
    index is recomputed only when that changes."""


@attrs.frozen
class Sources:
    refs: SourcesFunc
    index: str
    finalizer: str | None
    reads: Callable[[KubeObject], object]
    """What ``refs`` reads (the spec, unless said otherwise): the index is recomputed only
    when that changes."""


ClaimsFunc = Callable[[KubeObject], Iterable[Hashable]]
"""The values ``obj`` claims (e.g. its cleaned context paths)."""


@attrs.frozen
class Claims:
    kinds: tuple[ResourceKind, ...]
    values: ClaimsFunc
    index: str


@attrs.frozen
class DerivedStatus:
    """``status.<field>`` = how many objects of ``referrer`` reference the object now."""

    field: str
    referrer: ResourceKind


@attrs.frozen
class Owned:
    kind: ResourceKind
    expected: RefsFunc
    """Keys of the objects of ``kind`` the owner should have now (e.g. none for a STOPPED API)."""
    changed: EventFilter | None = None
    """Events of an owned object that call for its owner (default: deleted, or data edited
    by someone else, for ConfigMaps stamped with the hash of their data)."""
    stale: Callable[[KubeObject], bool] | None = None
    """After sync: whether an existing owned object needs its owner (default: edited by
    hand, by the data hash)."""


@attrs.frozen(kw_only=True)
class Primary:
    kind: ResourceKind
    finalizer: str
    processing_status: bool = True
    """Whether the kind's status carries ``processingStatus`` (part of being converged)."""
    has_status: bool = True
    status_while_deleting: bool = True
    conditions: bool = True
    """Whether the status carries the operator's conditions (not for built-in kinds such as
    Ingress, whose status schema has no room for them: only the kind's fields are written)."""
    also_on: Callable[[KubeObject], object] | None = None
    """What, besides the spec, calls for a reconcile when it changes (e.g. an Ingress's
    template and class annotations, which upstream ignored until the next spec change)."""


@attrs.define
class ControllerSpec:
    """Everything one kind declared; read by ``assemble.py`` and the runtime."""

    name: str
    primary: Primary | None = None
    owned: list[Owned] = attrs.field(factory=list)
    references: list[Reference] = attrs.field(factory=list)
    sources: list[Sources] = attrs.field(factory=list)
    waits_for_referrers: bool = False
    claims: list[Claims] = attrs.field(factory=list)
    derived: list[DerivedStatus] = attrs.field(factory=list)
    admission: AdmissionRules[Any] | None = None
    reads_back: bool = False
    enabled: bool = True
    make: Callable[[RuntimeDeps], KindLogic] | None = None


class Builder:
    """Collects the declarations of one controller (one kind)."""

    def __init__(self, name: str, settings: Settings | None = None) -> None:
        self.spec = ControllerSpec(name)
        self.settings = settings if settings is not None else Settings()
        """The operator's settings, for kinds whose declarations depend on them."""

    def enabled(self, flag: bool) -> Builder:
        """Whether this kind runs at all (e.g. ``ENABLE_INGRESS``)."""
        self.spec.enabled = flag
        return self

    def reconciles(
        self,
        kind: ResourceKind,
        *,
        finalizer: str,
        processing_status: bool = True,
        has_status: bool = True,
        status_while_deleting: bool = True,
        conditions: bool = True,
        also_on: Callable[[KubeObject], object] | None = None,
    ) -> Builder:
        self.spec.primary = Primary(
            kind=kind,
            finalizer=finalizer,
            processing_status=processing_status,
            has_status=has_status,
            status_while_deleting=status_while_deleting,
            conditions=conditions,
            also_on=also_on,
        )
        return self

    def owns(
        self,
        kind: ResourceKind,
        *,
        expected: RefsFunc,
        changed: EventFilter | None = None,
        stale: Callable[[KubeObject], bool] | None = None,
    ) -> Builder:
        self.spec.owned.append(Owned(kind, expected, changed, stale))
        return self

    def references(
        self,
        kind: ResourceKind,
        *,
        refs: RefsFunc,
        follow: bool = False,
        when: EventFilter | None = None,
        via: ResourceKind | None = None,
        reads: Callable[[KubeObject], object] | None = None,
    ) -> Builder:
        index = f"{self.spec.name}->{kind.plural}" + (f"@{via.plural}" if via else "")
        self.spec.references.append(
            Reference(
                kind,
                refs,
                index,
                when if when is not None else dependency_changed(),
                follow,
                via,
                reads,
            )
        )
        return self

    def reads_sources(
        self,
        refs: SourcesFunc,
        *,
        finalizer: str | None = None,
        reads: Callable[[KubeObject], object] = lambda obj: obj.get("spec"),
    ) -> Builder:
        index = f"{self.spec.name}->sources#{len(self.spec.sources)}"
        self.spec.sources.append(Sources(refs, index, finalizer, reads))
        return self

    def deletion_waits_for_referrers(self) -> Builder:
        self.spec.waits_for_referrers = True
        return self

    def claims(
        self, kinds: Iterable[ResourceKind], *, values: ClaimsFunc, index: str
    ) -> Builder:
        """Declare unique claims shared with ``kinds`` (pass the same ``values`` function and
        ``index`` from every kind that competes, so the index is registered once per cache)."""
        self.spec.claims.append(Claims(tuple(kinds), values, index))
        return self

    def derived_status(self, field: str, *, from_referrers: ResourceKind) -> Builder:
        """``status.<field>``: the number of objects of ``from_referrers`` that reference this
        object now (that kind must declare ``references`` to this one). Never counted up or
        down: derived from the referrer's index at every write."""
        self.spec.derived.append(DerivedStatus(field, from_referrers))
        return self

    def admits(
        self,
        model: type[M],
        *checks: Check[M],
        remote: RemoteCheck[M] | None = None,
        default: Default | None = None,
    ) -> Builder:
        """Admission rules of the kind: its spec must structure into ``model``, then ``checks``
        run in order (no remote call), then, when enabled, the ``remote`` APIM dry run;
        ``default`` mutates the object before validation (a mutating webhook)."""
        self.spec.admission = AdmissionRules(model, tuple(checks), remote, default)
        return self

    def reads_back(self) -> Builder:
        """Read the remote copy of every object back periodically, compare it with what the
        kind would send now, and report (or repair) drift. The kind's logic implements
        ``read_back``."""
        self.spec.reads_back = True
        return self

    def complete(self, make: Callable[[RuntimeDeps], KindLogic]) -> None:
        """The kind's logic, built once the shared dependencies exist."""
        if self.spec.primary is None:
            raise ValueError(f"controller {self.spec.name!r} declares no kind it reconciles")
        self.spec.make = make


Setup = Callable[[Builder], Any]
"""A kind module's ``setup(builder)``."""
