"""Subscription: an Application subscribed to a plan of an API, through the Automation API
(docs/behavior/subscription.md).

The API (v4 by default, or v2) and the Application are read from the informer caches; the call
goes to the API's context, which the Application must share. Each of the subscription, its API
and its application is addressed by HRID, or by UUID when an older operator created it. API keys
listed in the spec are sent with the subscription: APIM creates the new ones and revokes those
that left the list. A missing API, Application or plan fails with a missing-reference
condition and is retried when the missing object appears or is synced (through the indexes).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from controller import vocabulary as v
from controller.apim.ids import hrid, sanitize_key
from controller.apim.subscriptions import (
    delete_subscription,
    get_subscription,
    parse_rfc3339,
    upsert_subscription,
)
from controller.informers.predicates import dependency_or_status_changed
from controller.keys import ObjectKey
from controller.kube.kinds import API_DEFINITIONS, API_V4_DEFINITIONS, APPLICATIONS, SUBSCRIPTIONS
from controller.kube.resources import ResourceKind
from controller.models.application import ApplicationSpec
from controller.models.convert import ModelError, structure
from controller.models.subscription import SubscriptionSpec
from controller.models.validation import (
    FieldError,
    certificates_end,
    validate_subscription,
    validate_subscription_update,
    validate_subscription_within_certificates,
)
from controller.reconcilers.framework import conditions as cond
from controller.reconcilers.framework.admission import Review
from controller.reconcilers.framework.builder import Builder
from controller.reconcilers.framework.errors import (
    IllegalStateError,
    ReconcileError,
    ResolveRefError,
)
from controller.reconcilers.framework.readback import remote_copy
from controller.reconcilers.framework.runtime import (
    Attempt,
    Cleanup,
    KindLogic,
    Outcome,
    ReadBack,
    RuntimeDeps,
)
from controller.reconcilers.support.admission import enforce
from controller.reconcilers.support.contexts import ContextClient
from controller.reconcilers.support.identity import populate_v2_ids
from controller.reconcilers.support.references import spec_of, template_sources
from controller.reconcilers.support.templating import TEMPLATING_FINALIZER

V2_KINDS = ("ApiDefinition", "apidefinitions")
SUBSCRIBABLE = ("API_KEY", "JWT", "OAUTH2", "MTLS")
# What a dependant needs from an API or Application only exists once it was synced to APIM.
SYNCED = dependency_or_status_changed("id", "plans")


def _namespace(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def is_v2(spec: Mapping[str, Any]) -> bool:
    return (spec.get("api") or {}).get("kind") in V2_KINDS


def api_ref(obj: Mapping[str, Any]) -> ObjectKey | None:
    return ObjectKey.from_ref(spec_of(obj).get("api"), _namespace(obj))


def v4_api_refs(obj: Mapping[str, Any]) -> Iterable[ObjectKey]:
    key = api_ref(obj)
    return [key] if key is not None and not is_v2(spec_of(obj)) else []


def v2_api_refs(obj: Mapping[str, Any]) -> Iterable[ObjectKey]:
    key = api_ref(obj)
    return [key] if key is not None and is_v2(spec_of(obj)) else []


def application_refs(obj: Mapping[str, Any]) -> Iterable[ObjectKey]:
    key = ObjectKey.from_ref(spec_of(obj).get("application"), _namespace(obj))
    return [key] if key is not None else []


def setup(builder: Builder) -> None:
    (
        builder.reconciles(SUBSCRIPTIONS, finalizer=v.FINALIZER_SUBSCRIPTION)
        .references(API_V4_DEFINITIONS, refs=v4_api_refs, when=SYNCED)
        .references(API_DEFINITIONS, refs=v2_api_refs, when=SYNCED)
        .references(APPLICATIONS, refs=application_refs, when=SYNCED)
        .reads_sources(template_sources, finalizer=TEMPLATING_FINALIZER)
        .admits(SubscriptionSpec, immutable_refs, dates_and_keys, references_checked)
        .reads_back()
        .complete(Subscription)
    )


def immutable_refs(review: Review[SubscriptionSpec], deps: RuntimeDeps) -> list[FieldError]:
    if review.old_model is None:
        return []
    return validate_subscription_update(review.old_model, review.model,
                                        namespace=review.namespace)


def dates_and_keys(review: Review[SubscriptionSpec], deps: RuntimeDeps) -> list[FieldError]:
    """API kind, API keys and ending date; the one-minute rule applies to a new ending date
    only (an old subscription re-applied must not fail as time passes)."""
    old_ending = (review.old_model.ending_at if review.old_model is not None else None)
    new_date = review.old_model is None or old_ending != review.model.ending_at
    now = (datetime.datetime.now(datetime.UTC) if new_date
           else datetime.datetime.min.replace(tzinfo=datetime.UTC))
    return validate_subscription(review.model, now=now)


def references_checked(review: Review[SubscriptionSpec], deps: RuntimeDeps) -> list[FieldError]:
    """The API and application exist, share a context, and the plan exists and can be
    subscribed to (from the caches, as the reconcile resolves them)."""
    attempt = Attempt(review.key, review.obj, review.spec)
    try:
        refs = Subscription(deps)._refs(attempt)
    except ReconcileError as error:
        return [FieldError("spec", str(error))]
    plan = str(review.spec.get("plan") or "")
    spec = refs.api.get("spec") or {}
    if refs.kind == API_DEFINITIONS:
        found = next((p for p in spec.get("plans") or []
                      if isinstance(p, Mapping) and p.get("name") == plan), None)
        security = str((found or {}).get("security") or "")
    else:
        found = (spec.get("plans") or {}).get(plan)
        security = str(((found or {}).get("security") or {}).get("type") or "")
    if found is None:
        return [FieldError("spec.plan", f"unable to subscribe to API [{refs.key}] because plan "
                                        f"[{plan}] cannot be found")]
    if security.upper() not in SUBSCRIBABLE and found.get("mode") != "PUSH":
        return [FieldError("spec.plan", f"unable to subscribe to plan [{plan}] because security "
                                        f"type is not one of [{','.join(SUBSCRIBABLE)}]")]
    return _plan_fits(review, refs, security.upper())


def _plan_fits(review: Review[SubscriptionSpec], refs: References, security: str
               ) -> list[FieldError]:
    """API keys only for API_KEY plans; JWT and OAuth2 plans need a client id on a simple
    application, MTLS plans a client certificate."""
    if review.spec.get("apiKeys") and security != "API_KEY":
        return [FieldError("spec.apiKeys", "apiKeys can only be set when subscribing to an "
                                           f"API_KEY plan, got [{security}]")]
    settings = (refs.app.get("spec") or {}).get("settings") or {}
    simple = settings.get("app")
    if security in ("JWT", "OAUTH2") and isinstance(simple, Mapping) \
            and not simple.get("clientId"):
        return [FieldError("spec.application", f"unable to subscribe from application "
                                               f"[{refs.app_key}] because it does not have any "
                                               "client id")]
    tls = settings.get("tls") or {}
    if security == "MTLS" and not (tls.get("clientCertificate") or tls.get("clientCertificates")):
        return [FieldError("spec.application", "unable to subscribe to MTLS plan from "
                                               f"application [{refs.app_key}] because it does not "
                                               "have any client certificate")]
    if security == "MTLS":
        return validate_subscription_within_certificates(
            str(review.spec.get("endingAt") or ""), _certificates_end(refs.app),
            application=str(refs.app_key),
        )
    return []


def _certificates_end(app: Mapping[str, Any]) -> datetime.datetime | None:
    try:
        return certificates_end(structure(dict(app.get("spec") or {}), ApplicationSpec))
    except ModelError:
        return None


def mtls_plan(api_kind: ResourceKind, api: Mapping[str, Any], plan: str) -> bool:
    """Whether ``plan`` of ``api`` (a v2 plan name or a v4 plan key) is an MTLS plan."""
    spec = api.get("spec") or {}
    if api_kind == API_DEFINITIONS:
        found = next((p for p in spec.get("plans") or []
                      if isinstance(p, Mapping) and p.get("name") == plan), None)
        return str((found or {}).get("security") or "").upper() == "MTLS"
    found = (spec.get("plans") or {}).get(plan) or {}
    return str((found.get("security") or {}).get("type") or "").upper() == "MTLS"


def _legacy_id(obj: Mapping[str, Any]) -> str | None:
    """The UUID of an object an older operator created (an id in status, never marked
    ``AutomationAPIManaged``); None for an object in HRID mode."""
    status = obj.get("status") or {}
    if cond.is_true(status.get("conditions") or [], cond.AUTOMATION_API_MANAGED):
        return None
    return str(status["id"]) if status.get("id") else None


@attrs.frozen
class Target:
    """Where the subscription goes: the API's ref and context, the plan and app refs."""

    context: ObjectKey
    api: str
    api_by_uuid: bool
    plan: str
    application: str
    application_by_uuid: bool


@attrs.frozen
class References:
    kind: ResourceKind
    key: ObjectKey
    api: dict[str, Any]
    app_key: ObjectKey
    app: dict[str, Any]
    context: ObjectKey


def rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _same_dates(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """``body`` with ``endingAt`` in one RFC 3339 form: APIM may write the same moment
    differently (fractional seconds, offset), which is not drift."""
    ending = body.get("endingAt")
    if not isinstance(ending, str) or not ending:
        return body
    try:
        return {**body, "endingAt": rfc3339(parse_rfc3339(ending))}
    except ValueError:
        return body


class Subscription(KindLogic):
    def __init__(self, deps: RuntimeDeps) -> None:
        self.deps = deps
        self.v4_apis = deps.stores[API_V4_DEFINITIONS.plural]
        self.v2_apis = deps.stores[API_DEFINITIONS.plural]
        self.applications = deps.stores[APPLICATIONS.plural]

    def _api(self, attempt: Attempt) -> tuple[ResourceKind, ObjectKey, dict[str, Any] | None]:
        kind = API_DEFINITIONS if is_v2(attempt.spec) else API_V4_DEFINITIONS
        key = api_ref(attempt.obj)
        if key is None:
            raise IllegalStateError("a subscription needs spec.api")
        store = self.v2_apis if kind == API_DEFINITIONS else self.v4_apis
        return kind, key, store.get(key)

    def _plan(self, kind: ResourceKind, key: ObjectKey, api: Mapping[str, Any], plan: str) -> str:
        """The plan's ref in APIM (its HRID, or its UUID for a UUID-mode API), after checking
        it exists in the API and can be subscribed to."""
        spec = api.get("spec") or {}
        status = api.get("status") or {}
        if kind == API_DEFINITIONS:
            metadata = api.get("metadata") or {}
            populated = populate_v2_ids(
                spec, namespace=key.namespace, name=key.name,
                uid=str(metadata.get("uid") or ""), status=status,
            )
            found = next((p for p in populated.get("plans") or [] if p.get("name") == plan), None)
            security = str((found or {}).get("security") or "")
        else:
            found = (spec.get("plans") or {}).get(plan)
            security = str(((found or {}).get("security") or {}).get("type") or "")
        if found is None:
            raise ResolveRefError(f"plan {plan} not found")
        if security.upper() not in SUBSCRIBABLE and not (found.get("mode") == "PUSH"):
            raise IllegalStateError(
                f"unable to subscribe to plan [{plan}] because security type is not one of "
                f"[{','.join(SUBSCRIBABLE)}]"
            )
        if kind == API_DEFINITIONS:
            return str(found["id"])
        if _legacy_id(api) is not None:
            plans = status.get("plans") or {}
            plan_id = plans.get(sanitize_key(plan)) or plans.get(plan)
            if not plan_id:
                raise ResolveRefError(f"plan {plan} not found")
            return str(plan_id)
        return sanitize_key(plan)

    def _refs(self, attempt: Attempt) -> References:
        """The API and the application, read from the caches, sharing one context."""
        kind, key, api = self._api(attempt)
        if api is None:
            raise ResolveRefError(f"unable to resolve API [{key}]")
        app_key = ObjectKey.from_ref(attempt.spec.get("application"), attempt.namespace)
        app = self.applications.get(app_key) if app_key is not None else None
        if app is None or app_key is None:
            raise ResolveRefError(f"unable to resolve application [{app_key}]")
        api_context = ObjectKey.from_ref((api.get("spec") or {}).get("contextRef"), key.namespace)
        if api_context is None:
            raise IllegalStateError(
                f"unable to subscribe to API [{key}] because it does not reference a "
                "management context"
            )
        app_context = ObjectKey.from_ref(
            (app.get("spec") or {}).get("contextRef"), app_key.namespace
        )
        if app_context != api_context:
            raise IllegalStateError(
                f"management contexts must match between application [{app_key}] and API "
                f"[{key}], got [{app_context}] and [{api_context}]"
            )
        return References(kind, key, api, app_key, app, api_context)

    def _target(self, attempt: Attempt) -> Target:
        refs = self._refs(attempt)
        kind, key, api, app_key, app = refs.kind, refs.key, refs.api, refs.app_key, refs.app
        api_context = refs.context
        api_uuid = _legacy_id(api)
        if not (api.get("status") or {}).get("id"):
            raise ResolveRefError(f"API [{key}] is not synced to APIM yet")
        if not (app.get("status") or {}).get("id"):
            raise ResolveRefError(f"application [{app_key}] is not synced to APIM yet")
        by_uuid = kind == API_DEFINITIONS or api_uuid is not None
        app_uuid = _legacy_id(app)
        return Target(
            context=api_context,
            api=str((api.get("status") or {}).get("id")) if by_uuid else hrid(key.namespace,
                                                                               key.name),
            api_by_uuid=by_uuid,
            plan=self._plan(kind, key, api, str(attempt.spec.get("plan") or "")),
            application=app_uuid or hrid(app_key.namespace, app_key.name),
            application_by_uuid=app_uuid is not None,
        )

    async def _client(self, attempt: Attempt, context: ObjectKey) -> ContextClient:
        attempt.uses_context = context
        resolver = self.deps.resolver
        return await resolver.client_for_context(
            context, await resolver.context_object(context, referrer=attempt.name)
        )

    def _validate(self, attempt: Attempt) -> None:
        # The one-minute rule only makes sense when the subscription is created (upstream
        # checks it at admission): re-applying an old one must not fail as time passes.
        created = bool(attempt.live_status.get("id"))
        now = (
            datetime.datetime.min.replace(tzinfo=datetime.UTC)
            if created
            else datetime.datetime.now(datetime.UTC)
        )
        enforce(attempt.spec, SubscriptionSpec, lambda spec: validate_subscription(spec, now=now))

    async def read_back(self, attempt: Attempt) -> ReadBack | None:
        target = self._target(attempt)
        context = await self._client(attempt, target.context)
        legacy = _legacy_id(attempt.obj)
        body = self._body(attempt, target, legacy)
        remote = await remote_copy(get_subscription(
            context.client, target.api, str(body["hrid"]),
            hrid_contains_uuid=legacy is not None, hrid_contains_api_uuid=target.api_by_uuid,
        ))
        return ReadBack("Subscription", _same_dates(body),
                        _same_dates(remote) if remote is not None else None)

    def _body(self, attempt: Attempt, target: Target, legacy: str | None) -> dict[str, Any]:
        spec = attempt.spec
        body: dict[str, Any] = {
            "hrid": legacy or hrid(attempt.namespace, attempt.name),
            "apiHrid": target.api,
            "applicationHrid": target.application,
            "planHrid": target.plan,
            "status": "",
            "startingAt": "",
            "endingAt": spec.get("endingAt") or "",
        }
        for field in ("metadata", "apiKeys", "consumerConfiguration"):
            if spec.get(field):
                body[field] = spec[field]
        return body

    async def apply(self, attempt: Attempt) -> Outcome:
        self._validate(attempt)
        target = self._target(attempt)
        context = await self._client(attempt, target.context)
        legacy = _legacy_id(attempt.obj)
        body = self._body(attempt, target, legacy)
        state = await upsert_subscription(
            context.client,
            target.api,
            body,
            hrid_contains_uuid=legacy is not None,
            hrid_contains_api_uuid=target.api_by_uuid,
            hrid_contains_app_uuid=target.application_by_uuid,
        )
        return Outcome(
            status={
                "id": state.id,
                "startedAt": rfc3339(state.starting_at),
                "endingAt": rfc3339(state.ending_at) if state.ending_at else None,
            },
            conditions=() if legacy else (cond.automation_api_managed(attempt.generation),),
        )

    async def cleanup(self, attempt: Attempt) -> Cleanup:
        subscription_id = attempt.live_status.get("id")
        if not subscription_id:
            return Cleanup()  # never created in APIM
        try:
            target = self._target(attempt)
        except (ResolveRefError, IllegalStateError):
            # The API or the application is gone: deleting either closed the subscription
            # in APIM, so there is nothing left to close and nothing to wait for.
            return Cleanup()
        try:
            context = await self._client(attempt, target.context)
        except ResolveRefError as gone:
            return Cleanup(leftovers=f"subscription [{subscription_id}] may remain open: {gone}")
        legacy = _legacy_id(attempt.obj)
        await delete_subscription(
            context.client,
            target.api,
            legacy or hrid(attempt.namespace, attempt.name),
            hrid_contains_uuid=legacy is not None,
            hrid_contains_api_uuid=target.api_by_uuid,
        )
        return Cleanup()
