"""The one place where controllers are built and connected to the shared informers.

``build_controllers`` creates every reconciler and its ``Controller``, registers the store
indexes that answer "who depends on X" (gko-behavior.md 3.10), and connects informer events to
queues: each kind's own events (through the spec-hash predicate), plus the events of what it
depends on (contexts, their Secrets, ApiResources, template sources), plus deletions of
dependants so that a blocked deletion of a context or resource completes by itself.

It must never start anything; the manager owns the lifecycle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import attrs
from kubernetes_asyncio.client import ApiClient

from controller.apim import ApimClientPool, ClientOptions
from controller.config import Settings
from controller.informers.events import Event, EventType
from controller.informers.factory import SharedInformers
from controller.informers.handlers import enqueue_dependents, enqueue_mapped, enqueue_object
from controller.informers.store import KubeObject, Store
from controller.kube.events import EventRecorder
from controller.loop import Controller, ControllerOptions
from controller.metrics import apim_request_observer
from controller.reconcilers import predicates
from controller.reconcilers.apidefinition import ApiDefinitionReconciler
from controller.reconcilers.apiresource import ApiResourceReconciler
from controller.reconcilers.apiv4definition import ApiV4DefinitionReconciler
from controller.reconcilers.application import ApplicationReconciler, application_sources
from controller.reconcilers.base import KindReconciler, SkeletonDeps
from controller.reconcilers.configmaps import LocalConfigMaps
from controller.reconcilers.contexts import ContextResolver
from controller.reconcilers.kinds import (
    API_DEFINITIONS,
    API_RESOURCES,
    API_V4_DEFINITIONS,
    APPLICATIONS,
    CONFIG_MAPS,
    GROUPS,
    MANAGEMENT_CONTEXTS,
    NOTIFICATIONS,
    SECRETS,
)
from controller.reconcilers.managementcontext import Dependants, ManagementContextReconciler
from controller.reconcilers.refs import (
    CONTEXT_INDEX,
    GROUP_INDEX,
    NOTIFICATION_GROUP_INDEX,
    NOTIFICATION_INDEX,
    RESOURCE_INDEX,
    SECRET_REF_INDEX,
    TEMPLATE_SOURCE_INDEX,
    context_refs,
    context_secret_refs,
    group_refs,
    notification_group_refs,
    notification_refs,
    resource_refs,
    source_index_value,
    spec_of,
    template_sources,
)
from controller.reconcilers.sources import CachedSources


@attrs.frozen(kw_only=True)
class WiringContext:
    """What a controller needs to be built."""

    settings: Settings
    api_client: ApiClient
    informers: SharedInformers
    closers: list[Callable[[], Awaitable[None]]] = attrs.field(factory=list)
    """Cleanups the process runs after the manager stops (e.g. closing APIM sessions)."""


@attrs.define
class Wired:
    """The controllers plus the resources they share (closed by ``close``)."""

    controllers: list[Controller]
    apim_pool: ApimClientPool
    recorders: list[EventRecorder] = attrs.field(factory=list)

    async def close(self) -> None:
        for recorder in self.recorders:
            await recorder.close()
        await self.apim_pool.close()


def wire(context: WiringContext) -> Wired:
    """Every controller the operator runs, connected to the informers."""
    settings = context.settings
    informers = context.informers
    secrets = informers.informer_for(SECRETS)
    configmaps = informers.informer_for(CONFIG_MAPS)
    contexts = informers.informer_for(MANAGEMENT_CONTEXTS)
    apis_v2 = informers.informer_for(API_DEFINITIONS)
    apis_v4 = informers.informer_for(API_V4_DEFINITIONS)
    resources = informers.informer_for(API_RESOURCES)
    applications = informers.informer_for(APPLICATIONS)
    groups = informers.informer_for(GROUPS)
    notifications = informers.informer_for(NOTIFICATIONS)

    # Every index reads only the spec (and the namespace, fixed by the key).
    for dependant in (apis_v2, apis_v4, applications):
        dependant.add_index(CONTEXT_INDEX, context_refs, reads=spec_of)
    for api in (apis_v2, apis_v4):
        api.add_index(RESOURCE_INDEX, resource_refs, reads=spec_of)
        api.add_index(TEMPLATE_SOURCE_INDEX, template_sources, reads=spec_of)
        api.add_index(GROUP_INDEX, group_refs, reads=spec_of)
        api.add_index(NOTIFICATION_INDEX, notification_refs, reads=spec_of)
    notifications.add_index(NOTIFICATION_GROUP_INDEX, notification_group_refs, reads=spec_of)
    applications.add_index(TEMPLATE_SOURCE_INDEX, application_sources, reads=spec_of)
    contexts.add_index(SECRET_REF_INDEX, context_secret_refs, reads=spec_of)
    contexts.add_index(TEMPLATE_SOURCE_INDEX, template_sources, reads=spec_of)
    resources.add_index(TEMPLATE_SOURCE_INDEX, template_sources, reads=spec_of)

    pool = ApimClientPool(
        options=ClientOptions.from_settings(settings.http_client),
        observer=apim_request_observer,
    )
    deps = SkeletonDeps(
        api_client=context.api_client,
        secrets=secrets.store,
        configmaps=configmaps.store,
        templating=settings.enable_templating,
    )
    resolver = ContextResolver(
        context.api_client,
        contexts=contexts.store,
        secrets=secrets.store,
        sources=CachedSources(secrets.store, configmaps.store),
        pool=pool,
        templating=settings.enable_templating,
    )
    local_configmaps = LocalConfigMaps(context.api_client, configmaps.store)

    reconcilers: list[tuple[KindReconciler, Store]] = []
    context_reconciler = ManagementContextReconciler(
        deps,
        contexts.store,
        resolver=resolver,
        dependants=(
            Dependants("APIs", "apidefinitions.gravitee.io", apis_v2.store),
            Dependants("APIs", "apiv4definitions.gravitee.io", apis_v4.store),
            Dependants("applications", "applications.gravitee.io", applications.store),
        ),
    )
    v2_reconciler = ApiDefinitionReconciler(
        deps,
        apis_v2.store,
        resolver=resolver,
        resources=resources.store,
        configmaps=local_configmaps,
        groups=groups.store,
        notifications=notifications.store,
    )
    v4_reconciler = ApiV4DefinitionReconciler(
        deps,
        apis_v4.store,
        resolver=resolver,
        resources=resources.store,
        configmaps=local_configmaps,
    )
    resource_reconciler = ApiResourceReconciler(
        deps, resources.store, api_stores=(apis_v2.store, apis_v4.store)
    )
    application_reconciler = ApplicationReconciler(deps, applications.store, resolver=resolver)
    reconcilers = [
        (context_reconciler, contexts.store),
        (v2_reconciler, apis_v2.store),
        (v4_reconciler, apis_v4.store),
        (resource_reconciler, resources.store),
        (application_reconciler, applications.store),
    ]

    options = ControllerOptions(max_concurrent_reconciles=settings.max_concurrent_reconciles)
    controllers: dict[str, Controller] = {
        reconciler.controller: Controller(reconciler.controller, reconciler, options=options)
        for reconciler, _ in reconcilers
    }
    informer_of = {
        "managementcontext": contexts,
        "apidefinition": apis_v2,
        "apiv4definition": apis_v4,
        "apiresource": resources,
        "application": applications,
    }
    strategy = settings.reconcile_strategy
    for reconciler, _ in reconcilers:
        informer_of[reconciler.controller].add_handler(
            enqueue_object(
                controllers[reconciler.controller].queue,
                when=predicates.primary(
                    strategy=strategy, processing_status=reconciler.has_processing_status
                ),
            ),
            replay=False,
        )

    context_changed = predicates.dependency_changed()
    dependants_of_contexts = (
        ("apidefinition", apis_v2.store),
        ("apiv4definition", apis_v4.store),
        ("application", applications.store),
    )
    for name, store in dependants_of_contexts:
        queue = controllers[name].queue
        contexts.add_handler(
            enqueue_dependents(queue, store, CONTEXT_INDEX, when=context_changed), replay=False
        )
        # A rotated credentials Secret reaches the context's dependants too.
        secrets.add_handler(
            enqueue_mapped(
                queue,
                _two_hops(contexts.store, SECRET_REF_INDEX, store, CONTEXT_INDEX),
                when=predicates.source_changed,
            ),
            replay=False,
        )
        # So does a value templated into the context (e.g. its baseUrl from a ConfigMap).
        for kind, informer in (("secret", secrets), ("configmap", configmaps)):
            informer.add_handler(
                enqueue_mapped(
                    queue,
                    _two_hops(
                        contexts.store,
                        TEMPLATE_SOURCE_INDEX,
                        store,
                        CONTEXT_INDEX,
                        value=_source_value(kind),
                    ),
                    when=predicates.source_changed,
                ),
                replay=False,
            )
        # A deleted dependant may be what a context deletion waits for.
        informer_of[name].add_handler(
            enqueue_mapped(
                controllers["managementcontext"].queue,
                _refs_of(context_refs),
                when=predicates.deleted,
            ),
            replay=False,
        )
    secrets.add_handler(
        enqueue_dependents(
            controllers["managementcontext"].queue,
            contexts.store,
            SECRET_REF_INDEX,
            when=predicates.source_changed,
        ),
        replay=False,
    )

    resource_changed = predicates.dependency_changed()
    unreconciled_changed = predicates.dependency_changed(reconciled=False)
    for name, api in (("apidefinition", apis_v2), ("apiv4definition", apis_v4)):
        resources.add_handler(
            enqueue_dependents(
                controllers[name].queue, api.store, RESOURCE_INDEX, when=resource_changed
            ),
            replay=False,
        )
        api.add_handler(
            enqueue_mapped(
                controllers["apiresource"].queue, _refs_of(resource_refs), when=predicates.deleted
            ),
            replay=False,
        )
        # A Secret/ConfigMap templated into a resource is part of every API inlining it.
        for kind, informer in (("secret", secrets), ("configmap", configmaps)):
            informer.add_handler(
                enqueue_mapped(
                    controllers[name].queue,
                    _two_hops(
                        resources.store,
                        TEMPLATE_SOURCE_INDEX,
                        api.store,
                        RESOURCE_INDEX,
                        value=_source_value(kind),
                    ),
                    when=predicates.source_changed,
                ),
                replay=False,
            )
        # Groups and Notifications are read by the API reconcile (names, console settings).
        groups.add_handler(
            enqueue_dependents(
                controllers[name].queue, api.store, GROUP_INDEX, when=unreconciled_changed
            ),
            replay=False,
        )
        groups.add_handler(
            enqueue_mapped(
                controllers[name].queue,
                _two_hops(
                    notifications.store, NOTIFICATION_GROUP_INDEX, api.store, NOTIFICATION_INDEX
                ),
                when=unreconciled_changed,
            ),
            replay=False,
        )
        notifications.add_handler(
            enqueue_dependents(
                controllers[name].queue, api.store, NOTIFICATION_INDEX, when=unreconciled_changed
            ),
            replay=False,
        )

    template_users = (
        ("managementcontext", contexts.store),
        ("apidefinition", apis_v2.store),
        ("apiv4definition", apis_v4.store),
        ("apiresource", resources.store),
        ("application", applications.store),
    )
    for name, store in template_users:
        for kind, informer in (("secret", secrets), ("configmap", configmaps)):
            informer.add_handler(
                enqueue_mapped(
                    controllers[name].queue,
                    _template_users(store, kind),
                    when=predicates.source_changed,
                ),
                replay=False,
            )

    # Start-up: dependencies edited while the operator was down (see _at_start_up_if).
    context_secret_stale = _stale_secrets(context_secret_refs, secrets.store)
    used_context_secret_stale = _through(context_refs, contexts.store, context_secret_stale)
    sources_stale = _stale_sources(template_sources, secrets.store, configmaps.store)
    used_context_sources_stale = _through(context_refs, contexts.store, sources_stale)
    used_resource_sources_stale = _through(resource_refs, resources.store, sources_stale)
    start_up_checks: dict[str, list[ObjectCheck]] = {
        "managementcontext": [context_secret_stale],
        "apidefinition": [
            _unconverged(context_refs, contexts.store),
            used_context_secret_stale,
            used_context_sources_stale,
            _unconverged(resource_refs, resources.store),
            used_resource_sources_stale,
        ],
        "apiv4definition": [
            _unconverged(context_refs, contexts.store),
            used_context_secret_stale,
            used_context_sources_stale,
            _unconverged(resource_refs, resources.store),
            used_resource_sources_stale,
        ],
        "application": [
            _unconverged(context_refs, contexts.store),
            used_context_secret_stale,
            used_context_sources_stale,
        ],
        "apiresource": [],
    }
    source_indexes = {"application": application_sources}
    for name, checks in start_up_checks.items():
        checks.append(
            _stale_sources(
                source_indexes.get(name, template_sources), secrets.store, configmaps.store
            )
        )
        informer_of[name].add_handler(
            enqueue_object(controllers[name].queue, when=_at_start_up_if(*checks)),
            replay=False,
        )

    return Wired(
        list(controllers.values()), pool, [reconciler.events for reconciler, _ in reconcilers]
    )


KeysFor = Callable[[Event], Iterable[str]]


def _refs_of(refs: Callable[[KubeObject], Iterable[str]]) -> KeysFor:
    """Keys an object references (for a deleted object: its last known state)."""

    def keys_for(event: Event) -> Iterable[str]:
        return refs(event.object)

    return keys_for


def _two_hops(
    middle: Store,
    middle_index: str,
    dependants: Store,
    dependants_index: str,
    *,
    value: Callable[[Event], str] = lambda event: event.key,
) -> KeysFor:
    """Event -> the ``middle`` objects filed under ``value(event)`` -> the dependants filed
    under those, e.g. a Secret -> the contexts reading it -> the APIs using those contexts."""

    def keys_for(event: Event) -> Iterable[str]:
        keys: list[str] = []
        for middle_key in middle.keys_by_index(middle_index, value(event)):
            keys.extend(dependants.keys_by_index(dependants_index, middle_key))
        return keys

    return keys_for


def _source_value(kind: str) -> Callable[[Event], str]:
    return lambda event: source_index_value(kind, event.key)


def _template_users(store: Store, kind: str) -> KeysFor:
    """Secret/ConfigMap event -> objects whose templates read it."""

    def keys_for(event: Event) -> Iterable[str]:
        return store.keys_by_index(TEMPLATE_SOURCE_INDEX, source_index_value(kind, event.key))

    return keys_for


ObjectCheck = Callable[[KubeObject], bool]


def _at_start_up_if(*checks: ObjectCheck) -> predicates.EventFilter:
    """Start-up list events of a converged object whose dependency changed while the operator
    was down. The dependency's own start-up event fans out through an index too, but only if
    its informer lists after the dependant's: checking from both sides makes order irrelevant.
    """

    def when(event: Event) -> bool:
        if event.type is not EventType.ADDED or not event.initial or event.new is None:
            return False
        return any(check(event.new) for check in checks)

    return when


def _unconverged(refs: Callable[[KubeObject], Iterable[str]], store: Store) -> ObjectCheck:
    def check(obj: KubeObject) -> bool:
        for key in refs(obj):
            dependency = store.get(key)
            if dependency is not None and not predicates.converged(
                dependency, processing_status=False
            ):
                return True
        return False

    return check


def _stale_sources(
    sources: Callable[[KubeObject], Iterable[str]], secrets: Store, configmaps: Store
) -> ObjectCheck:
    def check(obj: KubeObject) -> bool:
        for value in sources(obj):
            kind, _, key = value.partition(":")
            source = (secrets if kind == "secret" else configmaps).get(key)
            if source is not None and predicates.source_stale(source):
                return True
        return False

    return check


def _stale_secrets(refs: Callable[[KubeObject], Iterable[str]], secrets: Store) -> ObjectCheck:
    def check(obj: KubeObject) -> bool:
        for key in refs(obj):
            secret = secrets.get(key)
            if secret is not None and predicates.source_stale(secret):
                return True
        return False

    return check


def _through(
    refs: Callable[[KubeObject], Iterable[str]], store: Store, check: ObjectCheck
) -> ObjectCheck:
    """``check`` applied to the objects ``refs`` points at (e.g. an API's context)."""

    def through(obj: KubeObject) -> bool:
        return any(check(target) for key in refs(obj) if (target := store.get(key)) is not None)

    return through


def build_controllers(context: WiringContext) -> list[Controller]:
    """Every controller the operator runs (``python -m controller`` registers them)."""
    wired = wire(context)
    context.closers.append(wired.close)
    return wired.controllers
