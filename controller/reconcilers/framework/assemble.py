"""Turns the kinds' declarations into running controllers: the only place where informer
events are connected to queues (docs/architecture.md).

For every declared kind it registers the indexes on the shared informers, builds the kind's
logic and its ``KindRuntime`` and ``Controller``, and connects:

* the kind's own events, through the spec-hash predicate, plus the start-up checks that look
  at what the object depends on (a dependency edited while the operator was down);
* each referenced kind's changes to the objects referencing it (through the index), and for a
  followed reference, what the referenced object itself reads (Secret -> context -> APIs);
* Secret and ConfigMap changes to the objects that read them;
* owned objects' deletions and foreign edits to their owner, and, once the caches are synced,
  owners whose expected objects are missing or edited;
* a referrer that goes away to the object whose deletion waits for it, while it is deleting;
* the reference keepers of Secrets and ConfigMaps (``keeper.py``);
* for a kind with derived status fields, its derived-status keeper (``derived.py``): a referrer
  that appears, goes or changes what it references, and a status showing another value, enqueue
  the object there (never in the kind's own queue: no remote call for a count);
* for a kind that reads back, its objects to the one read-back scheduler (``readback.py``),
  which starts once the caches are synced and feeds ``ReadBackKey``s into the kind's queue.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, Final

import attrs
from kubernetes_asyncio.client import ApiClient

from controller import jsonfast, metrics
from controller import vocabulary as v
from controller.apim import ApimClientPool, ClientOptions
from controller.config import Settings
from controller.informers import predicates
from controller.informers.events import Event, EventType
from controller.informers.factory import SharedInformers
from controller.informers.handlers import enqueue_mapped, enqueue_object
from controller.informers.informer import Informer
from controller.informers.store import KubeObject, Store
from controller.keys import ObjectKey
from controller.kube.events import EventRecorder
from controller.kube.kinds import MANAGEMENT_CONTEXTS
from controller.kube.resources import CONFIG_MAPS, SECRETS, ResourceKind
from controller.loop import Controller, ControllerOptions
from controller.metrics import apim_request_observer
from controller.queue.workqueue import LOW_PRIORITY
from controller.reconcilers.framework import conditions as cond
from controller.reconcilers.framework.admission import (
    Admission,
    DriftOptions,
    DriftReader,
    RemoteOptions,
)
from controller.reconcilers.framework.builder import (
    Builder,
    Claims,
    ControllerSpec,
    Owned,
    Primary,
    Reference,
    Setup,
    Sources,
)
from controller.reconcilers.framework.derived import DerivedStatusKeeper, DerivedValues
from controller.reconcilers.framework.keeper import Holder, ReferenceKeeper
from controller.reconcilers.framework.readback import ReadBackScheduler, Target
from controller.reconcilers.framework.recovery import DependencyHealth
from controller.reconcilers.framework.referrers import Referrers
from controller.reconcilers.framework.runtime import DriftHooks, KindRuntime, RuntimeDeps
from controller.reconcilers.support.contexts import ContextResolver
from controller.reconcilers.support.gateway_configmaps import GatewayConfigMaps
from controller.reconcilers.support.references import spec_of
from controller.reconcilers.support.sources import (
    CachedSources,
    SourceData,
    narrow_source_caches,
)
from controller.reconcilers.support.templating import SourceKind, SourceRef

SOURCE_KINDS: Final[dict[SourceKind, ResourceKind]] = {"secret": SECRETS, "configmap": CONFIG_MAPS}

KeysFor = Callable[[Event], Iterable[ObjectKey]]
ObjectCheck = Callable[[KubeObject], bool]


@attrs.define
class Assembled:
    """The controllers plus what they share (closed by ``close``)."""

    controllers: list[Controller]
    pool: ApimClientPool
    recorders: list[EventRecorder]
    admission: Admission
    """The admission rules the kinds declared, over the same caches (the webhook serves
    them)."""
    read_back: ReadBackScheduler | None = None

    async def close(self) -> None:
        if self.read_back is not None:
            await self.read_back.close()
        for recorder in self.recorders:
            await recorder.close()
        await self.pool.close()


@attrs.define
class _Wired:
    spec: ControllerSpec
    primary: Primary
    informer: Informer
    controller: Controller
    derived: DerivedValues
    runtime: KindRuntime

    @property
    def store(self) -> Store:
        return self.informer.store


class Assembly:
    """One assembly of the operator's controllers over one set of shared informers."""

    def __init__(
        self, settings: Settings, api_client: ApiClient, informers: SharedInformers
    ) -> None:
        self.settings = settings
        self.api = api_client
        self.informers = informers
        self.options = ControllerOptions(
            max_concurrent_reconciles=settings.max_concurrent_reconciles
        )
        self.health = DependencyHealth()
        self.pool = ApimClientPool(
            options=ClientOptions.from_settings(settings.http_client),
            observer=apim_request_observer,
            on_answer=self.health.answered,
        )
        self.referrers = Referrers()
        self.recorders: list[EventRecorder] = []
        self.wired: list[_Wired] = []
        self.source_data = SourceData()
        narrow_source_caches(informers, self.source_data)
        self.read_back: ReadBackScheduler | None = None

    def store(self, kind: ResourceKind) -> Store:
        return self.informers.informer_for(kind).store

    # -- building -------------------------------------------------------------------------

    def build(self, setups: Sequence[Setup]) -> Assembled:
        specs = []
        for setup in setups:
            builder = Builder(_controller_name(setup), self.settings)
            setup(builder)
            if builder.spec.enabled:
                specs.append(builder.spec)
        for spec in specs:
            self._register_indexes(spec)
        deps = self._deps()
        for spec in specs:
            self.wired.append(self._controller(spec, deps))
        for wired in self.wired:
            self._connect(wired)
            if wired.primary.has_status and wired.primary.conditions:
                # Kinds without conditions (Ingress) would all count as Pending.
                metrics.NOT_ACCEPTED.watch(wired.primary.kind.kind, _not_accepted(wired.store))
        keepers = [self._keeper(kind, source_kind) for source_kind, kind in SOURCE_KINDS.items()]
        controllers = [w.controller for w in self.wired]
        controllers += [k for k in keepers if k is not None]
        controllers += [self._derived_keeper(w) for w in self.wired if w.derived]
        return Assembled(controllers, self.pool, self.recorders, self._admission(specs, deps),
                         self.read_back)

    def _admission(self, specs: Sequence[ControllerSpec], deps: RuntimeDeps) -> Admission:
        rules = {spec.primary.kind: spec.admission for spec in specs
                 if spec.primary is not None and spec.admission is not None}
        webhook = self.settings.webhook

        async def compile_templates(spec: Mapping[str, Any], namespace: str) -> dict[str, Any]:
            if not deps.templating:
                copied: dict[str, Any] = jsonfast.copy(dict(spec))
                return copied
            # As the reconcile: the sources the templates read are loaded first (the caches
            # hold no Secret or ConfigMap data).
            compiled: dict[str, Any] = (
                await deps.sources.compile(dict(spec), namespace=namespace)
            ).spec
            return compiled

        # Drift at admission: every kind that both admits and reads back, through its runtime.
        readers = {w.primary.kind: DriftReader(w.runtime.synced, w.runtime.read_back_of)
                   for w in self.wired if w.spec.reads_back and w.primary.kind in rules}
        detection = self.settings.drift_detection
        return Admission(
            rules, deps,
            remote=RemoteOptions(enabled=webhook.apim_dry_run, budget=webhook.apim_dry_run_budget),
            drift=DriftOptions(
                enabled=detection.enabled, policy=detection.policy,
                on_remote_missing=detection.on_remote_missing,
                on_fetch_failure=detection.on_fetch_failure, budget=webhook.apim_dry_run_budget,
            ),
            readers=readers,
            compile_templates=compile_templates,
        )

    def _register_indexes(self, spec: ControllerSpec) -> None:
        assert spec.primary is not None
        informer = self.informers.informer_for(spec.primary.kind)
        for reference in spec.references:
            self.informers.informer_for(reference.kind)
            if reference.via is not None:
                self.informers.informer_for(reference.via).add_index(
                    reference.index, reference.refs, reads=reference.reads or spec_of
                )
                continue
            informer.add_index(reference.index, reference.refs,
                               reads=reference.reads or spec_of)
            self.referrers.register(reference.kind, spec.primary.kind, informer.store,
                                    reference.index)
        for sources in spec.sources:
            informer.add_index(sources.index, sources.refs, reads=sources.reads)
        for owned in spec.owned:
            self.informers.informer_for(owned.kind)
        for claims in spec.claims:
            for kind in claims.kinds:
                self.informers.informer_for(kind).add_index(
                    claims.index, claims.values, reads=spec_of
                )

    def _deps(self) -> RuntimeDeps:
        secrets, configmaps = self.store(SECRETS), self.store(CONFIG_MAPS)
        sources = CachedSources(self.api, secrets, configmaps, self.source_data)
        resolver = ContextResolver(
            contexts=self.store(MANAGEMENT_CONTEXTS),
            secrets=secrets,
            sources=sources,
            pool=self.pool,
            templating=self.settings.enable_templating,
        )
        stores = {informer.kind.plural: informer.store for informer in self.informers.informers()}
        return RuntimeDeps(
            api_client=self.api,
            stores=stores,
            sources=sources,
            resolver=resolver,
            gateway_configmaps=GatewayConfigMaps(self.api, configmaps),
            referrers=self.referrers,
            health=self.health,
            templating=self.settings.enable_templating,
            claims_in_cluster=self.settings.webhook.check_api_context_path_conflict_in_cluster,
            namespaces=self.settings.namespaces,
        )

    def _controller(self, spec: ControllerSpec, deps: RuntimeDeps) -> _Wired:
        assert spec.primary is not None
        assert spec.make is not None
        events = EventRecorder(self.api, v.COMPONENTS[spec.name])
        self.recorders.append(events)
        derived = DerivedValues(spec.primary.kind, spec.derived, self.referrers)
        runtime = KindRuntime(spec.name, spec.primary, spec.make(deps), deps, events=events,
                              derived=derived)
        informer = self.informers.informer_for(spec.primary.kind)

        def on_ready() -> None:
            if spec.owned:
                self._check_owned(wired)
            if self.read_back is not None and spec.reads_back:
                self.read_back.start()

        controller = Controller(
            spec.name,
            runtime,
            options=self.options,
            on_ready=on_ready if spec.owned or spec.reads_back else None,
        )
        wired = _Wired(spec, spec.primary, informer, controller, derived, runtime)
        runtime.queue = controller.queue
        if spec.reads_back:
            runtime.drift = self._read_back_target(wired)
        return wired

    def _read_back_target(self, wired: _Wired) -> DriftHooks:
        """Register ``wired``'s kind with the read-back scheduler: every object it lists or
        sees created is tracked (forgotten by the scheduler once gone)."""
        drift = self.settings.drift
        if self.read_back is None:
            self.read_back = ReadBackScheduler(interval=drift.check_interval,
                                               rate=drift.check_rate)
        scheduler = self.read_back
        target = scheduler.register(
            Target(wired.spec.name, wired.store, wired.controller.queue, drift.policy)
        )

        def track(event: Event) -> None:
            if event.type is EventType.ADDED and event.new is not None:
                scheduler.track(target, event.key, listed_at_start=event.initial)

        wired.informer.add_handler(track, replay=False)
        metrics.DRIFTED.watch(wired.primary.kind.kind, _drifted(wired.store))
        return DriftHooks(scheduler=scheduler, target=target, default_policy=drift.policy)

    # -- connecting -----------------------------------------------------------------------

    def _connect(self, wired: _Wired) -> None:
        primary = predicates.primary(
            strategy=self.settings.reconcile_strategy,
            processing_status=wired.primary.processing_status,
        )
        checks = self._start_up_checks(wired.spec)
        also_on = wired.primary.also_on

        def when(event: Event) -> bool:
            if primary(event):
                return True
            if (also_on is not None and event.type is EventType.MODIFIED and event.old
                    and event.new and also_on(event.old) != also_on(event.new)):
                return True
            return _listed_at_start(event) and any(check(event.object) for check in checks)

        wired.informer.add_handler(enqueue_object(wired.controller.queue, when=when), replay=False)
        for reference in wired.spec.references:
            self._connect_reference(wired, reference)
        for sources in wired.spec.sources:
            def readers(value: SourceRef, index: str = sources.index) -> list[ObjectKey]:
                return wired.store.keys_by_index(index, value)

            self._on_sources(wired, readers)
        for owned in wired.spec.owned:
            self._connect_owned(wired, owned)
        if wired.spec.waits_for_referrers:
            self._connect_waiting_deletion(wired)
        for claims in wired.spec.claims:
            self._connect_claims(wired, claims)

    def _connect_claims(self, wired: _Wired, claims: Claims) -> None:
        """A change of what an object claims (or its arrival or deletion) enqueues the objects
        of this kind claiming any value it had or has: the loser of a conflict is reconciled
        again when the winner lets go."""
        store = wired.store

        def claimed(obj: KubeObject | None) -> set[Hashable]:
            return set(claims.values(obj)) if obj is not None else set()

        def changed(event: Event) -> bool:
            return not event.initial and claimed(event.old) != claimed(event.new)

        for kind in claims.kinds:
            def competitors(event: Event, same: bool = kind == wired.primary.kind
                            ) -> list[ObjectKey]:
                keys = {key for value in claimed(event.old) | claimed(event.new)
                        for key in store.keys_by_index(claims.index, value)}
                if same:
                    keys.discard(event.key)
                return sorted(keys)

            self.informers.informer_for(kind).add_handler(
                enqueue_mapped(wired.controller.queue, competitors, when=changed), replay=False
            )

    def _connect_reference(self, wired: _Wired, reference: Reference) -> None:
        queue, store = wired.controller.queue, wired.store
        target = self.informers.informer_for(reference.kind)
        target.add_handler(
            enqueue_mapped(queue, self._referrers_of(wired, reference), when=reference.when),
            replay=False,
        )
        followed = self._wired_for(reference.kind) if reference.follow else None
        if followed is None:
            return
        for sources in followed.spec.sources:
            # A Secret read by the referenced object reaches its referrers (two hops).
            def through(value: SourceRef, sources: Sources = sources,
                        middle: Store = followed.store) -> list[ObjectKey]:
                return [key for middle_key in middle.keys_by_index(sources.index, value)
                        for key in store.keys_by_index(reference.index, middle_key)]

            self._on_sources(wired, through)

    def _referrers_of(self, wired: _Wired, reference: Reference) -> KeysFor:
        store = wired.store
        if reference.via is None:
            return lambda event: store.keys_by_index(reference.index, event.key)
        middle = self.store(reference.via)
        middle_index = next(r.index for r in wired.spec.references
                            if r.kind == reference.via and r.via is None)
        return lambda event: [
            key
            for middle_key in middle.keys_by_index(reference.index, event.key)
            for key in store.keys_by_index(middle_index, middle_key)
        ]

    def _on_sources(
        self, wired: _Wired, readers: Callable[[SourceRef], Iterable[ObjectKey]]
    ) -> None:
        """Secret/ConfigMap data changes -> ``readers`` of their ``SourceRef``."""
        for source_kind, kind in SOURCE_KINDS.items():
            def keys_for(
                event: Event, source_kind: SourceKind = source_kind
            ) -> Iterable[ObjectKey]:
                return readers(SourceRef(source_kind, event.key.namespace, event.key.name))

            self.informers.informer_for(kind).add_handler(
                enqueue_mapped(wired.controller.queue, keys_for, when=predicates.source_changed),
                replay=False,
            )

    def _connect_owned(self, wired: _Wired, owned: Owned) -> None:
        owner_kind = wired.primary.kind.kind
        owner_group = wired.primary.kind.group

        def owners(event: Event) -> list[ObjectKey]:
            obj = event.object
            return [
                ObjectKey(event.key.namespace, str(ref.get("name")))
                for ref in (obj.get("metadata") or {}).get("ownerReferences") or []
                if ref.get("kind") == owner_kind and str(ref.get("apiVersion", "")).startswith(
                    owner_group + "/")
            ]

        self.informers.informer_for(owned.kind).add_handler(
            enqueue_mapped(wired.controller.queue, owners,
                           when=owned.changed or predicates.owned_changed),
            replay=False,
        )

    def _check_owned(self, wired: _Wired) -> None:
        """After sync: owners whose expected object is missing or was edited by hand."""
        for owned in wired.spec.owned:
            owned_store = self.store(owned.kind)
            stale = owned.stale or predicates.edited_by_hand
            for key, obj in wired.store.items():
                if predicates.being_deleted(obj):
                    continue
                for expected in owned.expected(obj):
                    found = owned_store.get(expected)
                    if found is None or stale(found):
                        wired.controller.queue.add(key, priority=LOW_PRIORITY)
                        break

    def _connect_waiting_deletion(self, target: _Wired) -> None:
        """A referrer that lets go enqueues the referenced object, only while it is deleting
        (otherwise it has nothing to do about it)."""
        for wired in self.wired:
            for reference in wired.spec.references:
                if reference.kind != target.primary.kind or reference.via is not None:
                    continue

                def released(event: Event, reference: Reference = reference) -> list[ObjectKey]:
                    before = set(reference.refs(event.old)) if event.old else set()
                    after = set(reference.refs(event.new)) if event.new else set()
                    return [key for key in before - after
                            if predicates.being_deleted(target.store.get(key))]

                wired.informer.add_handler(enqueue_mapped(target.controller.queue, released),
                                           replay=False)

    # -- start-up checks ------------------------------------------------------------------

    def _start_up_checks(self, spec: ControllerSpec) -> list[ObjectCheck]:
        """For a converged object listed at start-up: did something it depends on change while
        the operator was down? Checked from both sides (the dependency's own start-up event
        fans out too), so the order in which informers list does not matter."""
        checks = [self._stale_sources(sources) for sources in spec.sources]
        for reference in spec.references:
            target = self._wired_for(reference.kind)
            if target is None or reference.via is not None:
                continue
            refs, target_store = reference.refs, target.store
            checks.append(_through_derived(refs, target_store, _unconverged))
            if reference.follow:
                checks += [self._stale_sources_through(refs, target_store, sources)
                           for sources in target.spec.sources]
        return checks

    def _stale_sources(self, sources: Sources) -> ObjectCheck:
        stale = self._any_stale()

        def check(obj: KubeObject) -> bool:
            return stale(sources.refs(obj))

        return check

    def _stale_sources_through(
        self, refs: Callable[[KubeObject], Iterable[ObjectKey]], store: Store, sources: Sources
    ) -> ObjectCheck:
        """``_stale_sources`` of the objects ``refs`` points at: what each of them reads is
        worked out once per version of it (``Store.derived``), the sources' state live."""
        stale = self._any_stale()

        def reads(target: KubeObject) -> tuple[object, ...]:
            return tuple(sources.refs(target))

        def through(obj: KubeObject) -> bool:
            return any(stale(store.derived(key, reads) or ()) for key in refs(obj))

        return through

    def _any_stale(self) -> Callable[[Iterable[object]], bool]:
        stores = {name: self.store(kind) for name, kind in SOURCE_KINDS.items()}

        def any_stale(refs: Iterable[object]) -> bool:
            for ref in refs:
                if isinstance(ref, SourceRef):
                    source = stores[ref.kind].get(ref.key)
                    if source is not None and predicates.source_stale(source):
                        return True
            return False

        return any_stale

    def _wired_for(self, kind: ResourceKind) -> _Wired | None:
        return next((w for w in self.wired if w.primary.kind == kind), None)

    # -- reference keepers ----------------------------------------------------------------

    def _keeper(self, kind: ResourceKind, source_kind: SourceKind) -> Controller | None:
        holders = [
            Holder(w.primary.kind.plural, w.store, sources.index, sources.refs, sources.finalizer,
                   sources.reads)
            for w in self.wired
            for sources in w.spec.sources
        ]
        if not holders:
            return None
        informer = self.informers.informer_for(kind)
        name = f"{kind.plural[:-1]}-references"
        events = EventRecorder(self.api, name)
        self.recorders.append(events)
        keeper = ReferenceKeeper(
            self.api, kind, source_kind, informer.store, holders, events=events
        )
        controller = Controller(name, keeper, options=self.options,
                                on_ready=lambda: _add_all(controller, keeper.keys_to_check()))
        def when(event: Event) -> bool:
            return _source_metadata_changed(event) and keeper.concerns(event.key, event.new)

        informer.add_handler(enqueue_object(controller.queue, when=when), replay=False)
        for holder in holders:
            def released_or_taken(event: Event, holder: Holder = holder) -> list[ObjectKey]:
                if event.initial:
                    return []  # the check after sync covers the start-up list
                if event.old and event.new and holder.reads(event.old) == holder.reads(event.new):
                    return []  # most events are status writes: the references did not move
                before = set(holder.refs(event.old)) if event.old else set()
                after = set(holder.refs(event.new)) if event.new else set()
                return [ref.key for ref in before ^ after
                        if isinstance(ref, SourceRef) and ref.kind == source_kind]

            holder_kind = next(w.informer for w in self.wired if w.store is holder.store)
            holder_kind.add_handler(enqueue_mapped(controller.queue, released_or_taken),
                                    replay=False)
        return controller


    # -- derived status -------------------------------------------------------------------

    def _derived_keeper(self, target: _Wired) -> Controller:
        """The keeper of ``target``'s derived status fields, fed by the referrers' events
        and by ``target``'s own status."""
        name = f"{target.spec.name}-derived-status"
        keeper = DerivedStatusKeeper(self.api, target.store, target.derived)
        controller = Controller(name, keeper, options=self.options,
                                on_ready=lambda: _add_all(controller, keeper.keys_to_check()))
        for derived in target.spec.derived:
            referrer = self._wired_for(derived.referrer)
            references = [r for r in (referrer.spec.references if referrer else [])
                          if r.kind == target.primary.kind and r.via is None]
            if referrer is None or not references:
                raise ValueError(f"{target.spec.name}: derived status {derived.field!r} needs "
                                 f"{derived.referrer.kind} to reference "
                                 f"{target.primary.kind.kind}")
            for reference in references:
                def moved(event: Event, reference: Reference = reference) -> list[ObjectKey]:
                    if event.initial:
                        return []  # the check after sync covers the start-up list
                    before = set(reference.refs(event.old)) if event.old else set()
                    after = set(reference.refs(event.new)) if event.new else set()
                    return sorted(before ^ after)

                referrer.informer.add_handler(enqueue_mapped(controller.queue, moved),
                                              replay=False)

        def stale(event: Event) -> bool:
            return not event.initial and keeper.concerns(event.key, event.new)

        target.informer.add_handler(enqueue_object(controller.queue, when=stale), replay=False)
        return controller


def _controller_name(setup: Setup) -> str:
    return str(getattr(setup, "controller_name", None) or setup.__module__.rsplit(".", 1)[-1])


def _listed_at_start(event: Event) -> bool:
    return event.type is EventType.ADDED and event.initial and event.new is not None


def _unconverged(obj: KubeObject) -> bool:
    return not predicates.converged(obj, processing_status=False)


def _through_derived(
    refs: Callable[[KubeObject], Iterable[ObjectKey]], store: Store, check: ObjectCheck
) -> ObjectCheck:
    """``check`` applied to the objects ``refs`` points at (e.g. an API's context); ``check``
    depends on the target object alone, so it is computed once per version of each target
    (``Store.derived``), however many objects reference it."""

    def through(obj: KubeObject) -> bool:
        return any(store.derived(key, check) for key in refs(obj))

    return through


def _source_metadata_changed(event: Event) -> bool:
    """Secret/ConfigMap events the keeper must look at (its own writes come back too; they
    find nothing to change)."""
    if event.type is not EventType.MODIFIED:
        return event.type is EventType.ADDED and not event.initial
    old, new = event.old or {}, event.new or {}
    old_meta, new_meta = old.get("metadata") or {}, new.get("metadata") or {}
    return bool(
        predicates.data_changed(old, new)
        or old_meta.get("finalizers") != new_meta.get("finalizers")
        or old_meta.get("annotations") != new_meta.get("annotations")
        or old_meta.get("deletionTimestamp") != new_meta.get("deletionTimestamp")
    )


def _add_all(controller: Controller, keys: Iterable[ObjectKey]) -> None:
    for key in keys:
        controller.queue.add(key, priority=LOW_PRIORITY)


def assemble(
    setups: Sequence[Setup], *, settings: Settings, api_client: ApiClient,
    informers: SharedInformers,
) -> Assembled:
    """Every controller of ``setups``, connected to ``informers``; nothing is started."""
    return Assembly(settings, api_client, informers).build(setups)


NOT_ACCEPTED_INDEX = "metrics:not-accepted"
"""Index of the objects whose ``Accepted`` condition is not True, by its reason (``Pending``
without one): the not-accepted gauge counts it at each scrape instead of decoding every object
(docs/architecture.md, "The cache")."""

DRIFTED_INDEX = "metrics:drifted"
"""Index of the objects whose ``Drifted`` condition is True (one value, ``True``)."""


def _conditions(obj: KubeObject) -> list[dict[str, Any]]:
    # Only entries that are objects: an index function that raised would stop the informer.
    conditions = (obj.get("status") or {}).get("conditions")
    return [c for c in conditions if isinstance(c, dict)] if isinstance(conditions, list) else []


def _status_of(obj: KubeObject) -> object:
    return obj.get("status")


def not_accepted_reason(obj: KubeObject) -> tuple[str, ...]:
    """The reason an object is not Accepted (``Pending`` when it has no ``Accepted``
    condition yet), or nothing when it is."""
    accepted = cond.find(_conditions(obj), cond.ACCEPTED)
    if accepted is None:
        return ("Pending",)
    if accepted.get("status") != "True":
        return (str(accepted.get("reason") or "Unknown"),)
    return ()


def drifted(obj: KubeObject) -> tuple[bool, ...]:
    """``(True,)`` for an object whose ``Drifted`` condition is True, else nothing."""
    return (True,) if cond.is_true(_conditions(obj), cond.DRIFTED) else ()


def _drifted(store: Store) -> Callable[[], int]:
    """How many objects of ``store`` are Drifted=True now."""
    store.add_index(DRIFTED_INDEX, drifted, reads=_status_of)
    return lambda: store.index_counts(DRIFTED_INDEX).get(True, 0)


def _not_accepted(store: Store) -> Callable[[], Mapping[str, int]]:
    """How many objects of ``store`` are not Accepted now, by reason."""
    store.add_index(NOT_ACCEPTED_INDEX, not_accepted_reason, reads=_status_of)
    return lambda: {str(reason): count
                    for reason, count in store.index_counts(NOT_ACCEPTED_INDEX).items()}
