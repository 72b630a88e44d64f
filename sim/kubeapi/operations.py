"""API semantics of every verb: create, get, list, update, patch, delete, deletecollection.

Owns the rules kube-apiserver applies around storage: server-owned metadata (uid,
creationTimestamp, resourceVersion preconditions, generation), the status subresource split,
finalizers and ``deletionTimestamp``, namespace lifecycle, CRD registration, schema
pruning/defaulting/validation, and the no-op write rule (an unchanged object keeps its
resourceVersion and emits no event). Must never parse HTTP: :mod:`sim.kubeapi.handlers` does.
"""

from __future__ import annotations

import base64
import copy
import datetime
import json
import os
import random
import re
from collections.abc import Callable, Generator
from typing import Any

import attrs

from sim.kubeapi import (
    crds,
    managed,
    metadata,
    microtime,
    networking,
    patching,
    schema,
    webhook_config,
)
from sim.kubeapi.admission import (
    CREATE,
    DELETE,
    MUTATE,
    UPDATE,
    VALIDATE,
    AdmissionStep,
    StaleRead,
    drive,
)
from sim.kubeapi.errors import (
    STALE_OBJECT,
    ApiError,
    FieldError,
    already_exists,
    bad_request,
    conflict,
    expired,
    forbidden,
    invalid,
    not_found,
    unsupported_media_type,
)
from sim.kubeapi.resources import Registry, ResourceKey, ResourceType
from sim.kubeapi.selectors import Matcher
from sim.kubeapi.store import Store

JsonObj = dict[str, Any]
Clock = Callable[[], datetime.datetime]

NAMESPACES: ResourceKey = ("", "namespaces")
FOREGROUND_FINALIZER = "foregroundDeletion"
ORPHAN_FINALIZER = "orphan"
CRDS: ResourceKey = ("apiextensions.k8s.io", "customresourcedefinitions")
MUTATING_WEBHOOKS: ResourceKey = ("admissionregistration.k8s.io", "mutatingwebhookconfigurations")
VALIDATING_WEBHOOKS: ResourceKey = (
    "admissionregistration.k8s.io",
    "validatingwebhookconfigurations",
)
INGRESSES: ResourceKey = ("networking.k8s.io", "ingresses")
SERVICES: ResourceKey = ("", "services")
_SERVER_OWNED = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "resourceVersion",
    "selfLink",
)
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_CONFIG_KEY_NAME = re.compile(r"^[-._a-zA-Z0-9]+$")


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def new_uid() -> str:
    """A random version-4 UUID string, like ``str(uuid.uuid4())`` at a third of the cost:
    the same 122 random bits, formatted without building a ``UUID``."""
    h = os.urandom(16).hex()
    # Version nibble 4; variant bits 10xx (RFC 4122) on the first nibble of the 4th group.
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def timestamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@attrs.frozen
class DeleteOptions:
    """The parts of ``DeleteOptions`` the emulator honours (grace period is accepted only)."""

    propagation_policy: str = "Background"
    precondition_uid: str | None = None
    precondition_rv: str | None = None
    dry_run: bool = False


@attrs.frozen
class Writer:
    """Who writes, for ``metadata.managedFields`` (:mod:`sim.kubeapi.managed`)."""

    manager: str
    operation: str = managed.UPDATE
    applied: JsonObj | None = None
    """The document of an apply patch."""


@attrs.frozen
class WriteResult:
    """An object after a write, plus what the HTTP layer needs for the response."""

    obj: JsonObj
    # 201 on create, else 200.
    code: int = 200
    warnings: tuple[str, ...] = ()
    # The final state of an object a delete removed (``obj`` is then a Status).
    removed: JsonObj | None = None


Steps = Generator[AdmissionStep, JsonObj | None, WriteResult]


@attrs.frozen
class ListPage:
    items: list[JsonObj]
    resource_version: str
    continue_token: str = ""
    remaining: int | None = None


class Operations:
    """The verbs over a :class:`Store` and a :class:`Registry`."""

    def __init__(
        self,
        *,
        store: Store,
        registry: Registry,
        clock: Clock = utc_now,
        on_removed: Callable[[JsonObj], None] | None = None,
        on_namespace_terminating: Callable[[str], None] | None = None,
        on_dangling_owner: Callable[[str], None] | None = None,
        on_foreground: Callable[[str], None] | None = None,
        on_orphan: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self._clock = clock
        self._on_removed = on_removed
        self._on_namespace_terminating = on_namespace_terminating
        self._on_dangling_owner = on_dangling_owner
        self._on_foreground = on_foreground
        self._on_orphan = on_orphan
        # Server-side apply memory: what each field manager last applied to each object.
        self._applied: dict[tuple[ResourceKey, str, str, str], JsonObj] = {}
        self._uids: dict[str, tuple[ResourceKey, str, str]] = {}
        # Whether a webhook may be interested in (phase, resource type, operation, subresource),
        # from its rules alone: set by the emulator, so writes no rule names skip admission.
        self.admission_filter: Callable[[str, ResourceType, str, str], bool] = _any_admission
        # Per custom object: the stored version and the schema that pruned and defaulted it,
        # so a write can skip re-walking the top-level values it shares with that version.
        self._admitted: dict[tuple[ResourceKey, str, str], tuple[JsonObj, JsonObj]] = {}
        # Service cluster IPs handed out so far (never reused, like a fresh allocator).
        self._next_cluster_ip = 10

    def _allocate_cluster_ip(self) -> str:
        index = self._next_cluster_ip
        self._next_cluster_ip += 1
        return f"10.0.{index // 250}.{index % 250 + 1}"

    def admission_active(self) -> bool:
        """Whether any webhook configuration exists: writes stop at admission points only then,
        so the common case pays nothing for them."""
        store = self.store
        return store.has_any(MUTATING_WEBHOOKS) or store.has_any(VALIDATING_WEBHOOKS)

    def _mutate(
        self,
        rt: ResourceType,
        operation: str,
        namespace: str,
        name: str,
        obj: JsonObj,
        old: JsonObj | None,
        *,
        strict: bool,
        subresource: str | None = None,
    ) -> Generator[AdmissionStep, JsonObj | None, tuple[JsonObj, tuple[str, ...] | None]]:
        """The mutating admission point: webhooks see a custom resource pruned and defaulted,
        as kube-apiserver decodes it before admission. Returns the object to continue with
        and, when a webhook changed it, the warnings of the request's own decoding (``None``
        when unchanged: the request body is decoded again later)."""
        view = obj
        dropped: list[str] = []
        if rt.custom and rt.schema is not None:
            view = copy.deepcopy(obj)
            schema.prune_and_default(view, rt.schema, dropped=dropped)
            if dropped and strict:
                # Refused at decoding, before any webhook (``_admit`` raises it).
                return obj, None
        mutated = yield AdmissionStep(
            MUTATE, operation, rt, namespace, name, view, old, subresource or ""
        )
        if mutated is None or mutated is view:
            return obj, None
        return mutated, tuple(f'unknown field "{path}"' for path in dropped)

    # -- reads -----------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str, name: str) -> JsonObj:
        obj = self.store.get(rt.key, namespace, name)
        if obj is None:
            raise not_found(rt.group, rt.plural, name)
        return obj

    def owner_exists(self, uid: str) -> bool:
        return uid in self._uids

    def locate(self, uid: str) -> tuple[ResourceType, JsonObj] | None:
        """The live object with this uid and its resource type, if any."""
        where = self._uids.get(uid)
        if where is None:
            return None
        key, namespace, name = where
        rts = self.registry.versions_of(key)
        obj = self.store.get(key, namespace, name)
        if not rts or obj is None:
            return None
        return rts[0], obj

    def drop_finalizer(self, rt: ResourceType, obj: JsonObj, finalizer: str) -> None:
        """Remove one finalizer (the collector's own); the object goes when none remain."""
        finalizers = [f for f in obj["metadata"].get("finalizers") or [] if f != finalizer]
        new = copy.deepcopy(obj)
        new["metadata"]["finalizers"] = finalizers
        if not finalizers:
            del new["metadata"]["finalizers"]
        self._commit(rt, obj, new, subresource=None, dry_run=False, strict=False)

    def list_page(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        matcher: Matcher | None = None,
        limit: int = 0,
        continue_token: str = "",
    ) -> ListPage:
        start: tuple[str, str] | None = None
        list_rv = self.store.rv
        if continue_token:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(continue_token.encode()))
                list_rv = int(decoded["rv"])
                start = (str(decoded["start"][0]), str(decoded["start"][1]))
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                raise bad_request("continue key is not valid") from exc
            try:
                self.store.check_rv_available(list_rv)
            except ApiError as exc:
                raise expired(
                    "The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter."
                ) from exc
        items = self.store.items(rt.key, namespace)
        if start is not None:
            items = [o for o in items if _object_name(o) > start]
        if matcher is not None:
            items = [o for o in items if matcher(o)]
        if limit and len(items) > limit:
            page = items[:limit]
            token = base64.urlsafe_b64encode(
                json.dumps({"rv": list_rv, "start": list(_object_name(page[-1]))}).encode()
            ).decode()
            return ListPage(page, str(list_rv), token, len(items) - limit)
        return ListPage(items, str(list_rv))

    # -- create ----------------------------------------------------------------------------

    def create(
        self,
        rt: ResourceType,
        namespace: str,
        body: Any,
        *,
        dry_run: bool = False,
        strict: bool = False,
        owned: bool = False,
        writer: Writer | None = None,
    ) -> WriteResult:
        return drive(
            self.create_steps(
                rt, namespace, body, dry_run=dry_run, strict=strict, owned=owned, writer=writer
            )
        )

    def create_steps(
        self,
        rt: ResourceType,
        namespace: str,
        body: Any,
        *,
        dry_run: bool = False,
        strict: bool = False,
        owned: bool = False,
        writer: Writer | None = None,
    ) -> Steps:
        """:meth:`create`, stopping at its admission points (:mod:`sim.kubeapi.admission`)."""
        obj = self._decode(rt, body, owned=owned)
        meta = obj["metadata"]
        self._check_namespace(rt, namespace, meta)
        requested_name = meta.get("name") or ""
        early: tuple[str, ...] | None = None
        admission = self.admission_active()
        if admission and self.admission_filter(MUTATE, rt, CREATE, ""):
            obj, early = yield from self._mutate(
                rt, CREATE, namespace, requested_name, obj, None, strict=strict
            )
            if not isinstance(obj.get("metadata"), dict):
                raise bad_request("an admission webhook removed metadata")
            meta = obj["metadata"]
            if not rt.namespaced:
                meta.pop("namespace", None)
            else:
                meta["namespace"] = namespace
        if not meta.get("name"):
            prefix = meta.get("generateName")
            if not prefix:
                raise invalid(
                    rt.kind,
                    rt.group,
                    "",
                    [
                        FieldError(
                            "metadata.name",
                            "FieldValueRequired",
                            "Required value: name or generateName is required",
                        )
                    ],
                )
            meta["name"] = prefix + "".join(random.choices(_NAME_CHARS, k=5))
        name = meta["name"]
        self._check_name(rt, name)
        for field in _SERVER_OWNED:
            meta.pop(field, None)
        meta["uid"] = new_uid()
        meta["creationTimestamp"] = timestamp(self._clock())
        if rt.tracks_generation:
            meta["generation"] = 1
        if rt.custom and rt.has_status:
            obj.pop("status", None)
        elif rt.status_via_subresource_only:
            obj["status"] = {"loadBalancer": {}}
        warnings = (early or ()) + self._admit(
            rt, obj, None, strict=strict, mutated=early is not None
        )
        # After mutating admission, as kube-apiserver: validating webhooks see the managers.
        self._record_manager(rt, None, obj, writer, None)
        if admission and self.admission_filter(VALIDATE, rt, CREATE, ""):
            yield AdmissionStep(VALIDATE, CREATE, rt, namespace, name, obj, None)
        # Like etcd's create: a name taken is found at storage time, after validation.
        if self.store.get(rt.key, namespace if rt.namespaced else "", name) is not None:
            raise already_exists(rt.group, rt.plural, name)
        if dry_run:
            return WriteResult(obj, 201, warnings)
        stored = self.store.put(rt.key, obj, None)
        self._uids[meta["uid"]] = (rt.key, meta.get("namespace", ""), name)
        self._remember_admitted(rt, stored)
        refs = meta.get("ownerReferences") or []
        if refs and self._on_dangling_owner is not None:
            for ref in refs:
                if not self.owner_exists(ref.get("uid", "")):
                    # Owner unknown at creation: the collector deletes the object unless an owner
                    # with that uid exists when it looks (as kube's garbage collector does).
                    self._on_dangling_owner(ref.get("uid", ""))
        if rt.key == CRDS:
            self._register_crd(stored)
        return WriteResult(stored, 201, warnings)

    # -- update / patch --------------------------------------------------------------------

    def update(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        strict: bool = False,
        owned: bool = False,
        writer: Writer | None = None,
    ) -> WriteResult:
        return drive(
            self.update_steps(
                rt,
                namespace,
                name,
                body,
                subresource=subresource,
                dry_run=dry_run,
                strict=strict,
                owned=owned,
                writer=writer,
            )
        )

    def update_steps(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        strict: bool = False,
        owned: bool = False,
        writer: Writer | None = None,
    ) -> Steps:
        """:meth:`update`, stopping at its admission points."""
        old = self.get(rt, namespace, name)
        new = self._decode(rt, body, owned=owned)
        body_name = new["metadata"].get("name")
        if body_name and body_name != name:
            raise bad_request(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})"
            )
        rv = new["metadata"].get("resourceVersion")
        if not rv and not rt.allow_unconditional_update:
            raise invalid(
                rt.kind,
                rt.group,
                name,
                [
                    FieldError(
                        "metadata.resourceVersion",
                        "FieldValueInvalid",
                        "Invalid value: 0x0: must be specified for an update",
                    )
                ],
            )
        result = yield from self._commit_steps(
            rt, old, new, subresource=subresource, dry_run=dry_run, strict=strict, writer=writer
        )
        return result

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        content_type: str,
        patch_doc: Any,
        *,
        subresource: str | None = None,
        field_manager: str | None = None,
        dry_run: bool = False,
        strict: bool = False,
        writer: Writer | None = None,
    ) -> WriteResult:
        return drive(
            self.patch_steps(
                rt,
                namespace,
                name,
                content_type,
                patch_doc,
                subresource=subresource,
                field_manager=field_manager,
                dry_run=dry_run,
                strict=strict,
                writer=writer,
            )
        )

    def patch_steps(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        content_type: str,
        patch_doc: Any,
        *,
        subresource: str | None = None,
        field_manager: str | None = None,
        dry_run: bool = False,
        strict: bool = False,
        writer: Writer | None = None,
    ) -> Steps:
        """:meth:`patch`, stopping at its admission points."""
        old = self.store.get(rt.key, namespace if rt.namespaced else "", name)
        if content_type in (patching.APPLY_PATCH, patching.APPLY_PATCH_CBOR):
            applied = yield from self._apply(
                rt, namespace, name, old, patch_doc, subresource, field_manager, dry_run, strict
            )
            return applied
        if old is None:
            raise not_found(rt.group, rt.plural, name)
        if content_type == patching.MERGE_PATCH:
            if not isinstance(patch_doc, dict):
                raise bad_request("merge patch must be a JSON object")
            new = patching.merge_patch(old, patch_doc)
        elif content_type == patching.JSON_PATCH:
            new = patching.json_patch(old, patch_doc)
        elif content_type == patching.STRATEGIC_MERGE_PATCH:
            if rt.custom:
                raise ApiError(
                    415,
                    "UnsupportedMediaType",
                    f"strategic merge patch is not supported for {rt.api_version}, Kind={rt.kind}",
                )
            if not isinstance(patch_doc, dict):
                raise bad_request("strategic merge patch must be a JSON object")
            new = patching.strategic_merge_patch(old, patch_doc)
        else:
            raise unsupported_media_type(content_type)
        if not isinstance(new.get("metadata"), dict):
            raise bad_request("patch removed metadata")
        if rt.custom and content_type == patching.MERGE_PATCH:
            # The merge result holds copies of everything the patch set and shares the rest
            # with ``old``; custom-resource admission replaces changed containers instead of
            # mutating them, so only the metadata dict (changed below) needs its own copy.
            new["metadata"] = dict(new["metadata"])
        else:
            new = copy.deepcopy(new)
        result = yield from self._commit_steps(
            rt, old, new, subresource=subresource, dry_run=dry_run, strict=strict, writer=writer
        )
        return result

    def _apply(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        old: JsonObj | None,
        applied: Any,
        subresource: str | None,
        field_manager: str | None,
        dry_run: bool,
        strict: bool,
    ) -> Steps:
        if not field_manager:
            raise invalid(
                "PatchOptions",
                "meta.k8s.io",
                "",
                [
                    FieldError(
                        "fieldManager",
                        "FieldValueRequired",
                        "Required value: is required for apply patch",
                    )
                ],
            )
        if not isinstance(applied, dict):
            raise bad_request("apply patch must be an object")
        applied_meta = applied.get("metadata") or {}
        if applied_meta.get("name") not in (None, name):
            raise bad_request(
                f"the name of the object ({applied_meta.get('name')}) does not match the name "
                f"on the URL ({name})"
            )
        memory_key = (rt.key, namespace if rt.namespaced else "", name, field_manager)
        if old is None:
            if subresource:
                raise not_found(rt.group, rt.plural, name)
            body = copy.deepcopy(applied)
            body.setdefault("metadata", {})["name"] = name
            result = yield from self.create_steps(
                rt,
                namespace,
                body,
                dry_run=dry_run,
                strict=strict,
                writer=Writer(field_manager, managed.APPLY, applied),
            )
        else:
            previous = self._applied.get(memory_key)
            new = patching.apply_patch(old, applied, previous)
            rv = applied_meta.get("resourceVersion")
            new["metadata"]["resourceVersion"] = rv or old["metadata"]["resourceVersion"]
            result = yield from self._commit_steps(
                rt,
                old,
                new,
                subresource=subresource,
                dry_run=dry_run,
                strict=strict,
                writer=Writer(field_manager, managed.APPLY, applied),
            )
        if not dry_run and result.obj["metadata"].get("uid") in self._uids:
            self._applied[memory_key] = copy.deepcopy(applied)
        return result

    def _commit(
        self,
        rt: ResourceType,
        old: JsonObj,
        new: JsonObj,
        *,
        subresource: str | None,
        dry_run: bool,
        strict: bool,
        writer: Writer | None = None,
    ) -> WriteResult:
        return drive(
            self._commit_steps(
                rt,
                old,
                new,
                subresource=subresource,
                dry_run=dry_run,
                strict=strict,
                writer=writer,
            )
        )

    def _commit_steps(
        self,
        rt: ResourceType,
        old: JsonObj,
        new: JsonObj,
        *,
        subresource: str | None,
        dry_run: bool,
        strict: bool,
        writer: Writer | None = None,
    ) -> Steps:
        """The shared tail of update and patch: preconditions, split, admission, storage."""
        name = old["metadata"]["name"]
        rv = new["metadata"].get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise conflict(rt.group, rt.plural, name, STALE_OBJECT)
        namespace = old["metadata"].get("namespace", "")
        early: tuple[str, ...] | None = None
        admission = self.admission_active()
        sub = subresource or ""
        if admission and self.admission_filter(MUTATE, rt, UPDATE, sub):
            new, early = yield from self._mutate(
                rt, UPDATE, namespace, name, new, old, strict=strict, subresource=subresource
            )
            if not isinstance(new.get("metadata"), dict):
                raise bad_request("an admission webhook removed metadata")
        if subresource == "status":
            status = new.get("status")
            new = {k: v for k, v in old.items() if k != "status"}
            # Custom-resource admission changes only top-level metadata fields; built-in kinds
            # may change nested ones (namespace labels), so they get a deep copy.
            new["metadata"] = dict(old["metadata"]) if rt.custom else copy.deepcopy(old["metadata"])
            if status is not None:
                new["status"] = status
        else:
            meta = new["metadata"]
            old_meta = old["metadata"]
            meta["name"] = name
            if rt.namespaced:
                meta["namespace"] = old_meta["namespace"]
            else:
                meta.pop("namespace", None)
            for field in _SERVER_OWNED:
                if field in old_meta:
                    meta[field] = old_meta[field]
                else:
                    meta.pop(field, None)
            if rt.has_status and (rt.custom or rt.status_via_subresource_only):
                if "status" in old:
                    new["status"] = old["status"]
                else:
                    new.pop("status", None)
            new["apiVersion"] = rt.api_version
            new["kind"] = rt.kind
            self._check_finalizers(rt, old, new)
        if rt.key == NAMESPACES:
            new["spec"] = old.get("spec", {})
            if old["metadata"].get("deletionTimestamp"):
                new.setdefault("status", {})["phase"] = "Terminating"
        warnings = (early or ()) + self._admit(
            rt, new, old, strict=strict, mutated=early is not None
        )
        if rt.tracks_generation and _spec_changed(rt, old, new):
            new["metadata"]["generation"] = int(old["metadata"].get("generation", 0)) + 1
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        # After mutating admission, as kube-apiserver: validating webhooks see the managers.
        self._record_manager(rt, old, new, writer, subresource)
        if admission and self.admission_filter(VALIDATE, rt, UPDATE, sub):
            # Validating admission sees no-op and dry-run updates too, as on kube-apiserver.
            yield AdmissionStep(VALIDATE, UPDATE, rt, namespace, name, new, old, sub)
            if self.store.get(rt.key, namespace, name) is not old:
                raise StaleRead()
        if new == old or dry_run:
            return WriteResult(old if new == old else new, 200, warnings)
        if (
            old["metadata"].get("deletionTimestamp")
            and not new["metadata"].get("finalizers")
            and rt.key != NAMESPACES
        ):
            return WriteResult(self._remove(rt, new), 200, warnings)
        stored = self.store.put(rt.key, new, old)
        self._remember_admitted(rt, stored)
        if rt.key == CRDS:
            self._register_crd(stored)
        return WriteResult(stored, 200, warnings)

    # -- delete ----------------------------------------------------------------------------

    def delete(
        self, rt: ResourceType, namespace: str, name: str, options: DeleteOptions
    ) -> WriteResult:
        return drive(self.delete_steps(rt, namespace, name, options))

    def delete_steps(
        self, rt: ResourceType, namespace: str, name: str, options: DeleteOptions
    ) -> Steps:
        """:meth:`delete`, stopping at its admission points."""
        admission = self.admission_active()
        scope_ns = namespace if rt.namespaced else ""
        obj = self.get(rt, scope_ns, name)
        if admission and self.admission_filter(MUTATE, rt, DELETE, ""):
            # Mutating webhooks are called on DELETE too (with the stored object as oldObject),
            # though there is nothing for them to patch.
            yield AdmissionStep(MUTATE, DELETE, rt, scope_ns, name, None, obj)
            if self.store.get(rt.key, scope_ns, name) is not obj:
                raise StaleRead()
        meta = obj["metadata"]
        if options.precondition_uid and options.precondition_uid != meta["uid"]:
            raise conflict(
                rt.group,
                rt.plural,
                name,
                f"Precondition failed: UID in precondition: {options.precondition_uid}, "
                f"UID in object meta: {meta['uid']}",
            )
        if options.precondition_rv and options.precondition_rv != meta["resourceVersion"]:
            raise conflict(
                rt.group,
                rt.plural,
                name,
                f"Precondition failed: ResourceVersion in precondition: "
                f"{options.precondition_rv}, ResourceVersion in object meta: "
                f"{meta['resourceVersion']}",
            )
        if admission and self.admission_filter(VALIDATE, rt, DELETE, ""):
            yield AdmissionStep(VALIDATE, DELETE, rt, scope_ns, name, None, obj)
            if self.store.get(rt.key, scope_ns, name) is not obj:
                raise StaleRead()
        if options.dry_run:
            return WriteResult(obj, 200)
        if rt.key == NAMESPACES:
            if options.propagation_policy == "Orphan":
                self.orphan_dependents(meta["uid"])
            return self._delete_namespace(rt, obj)
        if meta.get("deletionTimestamp"):
            return WriteResult(obj, 200)
        if options.propagation_policy in ("Orphan", "Foreground"):
            # Like kube-apiserver: the owner stays, marked with the policy's finalizer, and the
            # delete answers it; the collector orphans (or deletes) its dependents, then drops
            # the finalizer.
            finalizer = (
                ORPHAN_FINALIZER if options.propagation_policy == "Orphan" else FOREGROUND_FINALIZER
            )
            new = copy.deepcopy(obj)
            finalizers = list(meta.get("finalizers") or [])
            if finalizer not in finalizers:
                finalizers.append(finalizer)
            new["metadata"]["finalizers"] = finalizers
            new["metadata"]["deletionTimestamp"] = timestamp(self._clock())
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            stored = self.store.put(rt.key, new, obj)
            notify = self._on_orphan if finalizer == ORPHAN_FINALIZER else self._on_foreground
            if notify is not None:
                notify(meta["uid"])
            return WriteResult(stored, 200)
        if meta.get("finalizers"):
            new = copy.deepcopy(obj)
            new["metadata"]["deletionTimestamp"] = timestamp(self._clock())
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            return WriteResult(self.store.put(rt.key, new, obj), 200)
        final = self._remove(rt, obj)
        # Like kube-apiserver's generic store: an immediate delete answers with a Success
        # Status naming the object (its "kind" carries the resource), not the object itself.
        details: JsonObj = {"name": name, "kind": rt.plural, "uid": final["metadata"]["uid"]}
        if rt.group:
            details["group"] = rt.group
        return WriteResult(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": details,
            },
            200,
            removed=final,
        )

    def delete_collection(
        self,
        rt: ResourceType,
        namespace: str | None,
        matcher: Matcher | None,
        options: DeleteOptions,
    ) -> list[JsonObj]:
        return drive(self.delete_collection_steps(rt, namespace, matcher, options))

    def delete_collection_steps(
        self,
        rt: ResourceType,
        namespace: str | None,
        matcher: Matcher | None,
        options: DeleteOptions,
    ) -> Generator[AdmissionStep, JsonObj | None, list[JsonObj]]:
        """:meth:`delete_collection`, stopping at each object's admission points."""
        page = self.list_page(rt, namespace, matcher=matcher)
        deleted = []
        for obj in page.items:
            meta = obj["metadata"]
            try:
                result = yield from self.delete_steps(
                    rt, meta.get("namespace", ""), meta["name"], options
                )
                deleted.append(result.removed or result.obj)
            except ApiError as exc:
                if exc.code != 404:
                    raise
        return deleted

    def _delete_namespace(self, rt: ResourceType, obj: JsonObj) -> WriteResult:
        if not obj["metadata"].get("deletionTimestamp"):
            new = copy.deepcopy(obj)
            new["metadata"]["deletionTimestamp"] = timestamp(self._clock())
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            new.setdefault("status", {})["phase"] = "Terminating"
            obj = self.store.put(rt.key, new, obj)
        if self._on_namespace_terminating is not None:
            self._on_namespace_terminating(obj["metadata"]["name"])
        return WriteResult(obj, 200)

    def namespace_contents(self, namespace: str) -> list[tuple[ResourceType, JsonObj]]:
        found: list[tuple[ResourceType, JsonObj]] = []
        for key in self.store.resource_keys():
            rts = self.registry.versions_of(key)
            if not rts or not rts[0].namespaced:
                continue
            found.extend((rts[0], obj) for obj in self.store.items(key, namespace))
        return found

    def finish_namespace(self, namespace: str) -> bool:
        """Remove a terminating namespace once it is empty; True when it is gone."""
        ns = self.store.get(NAMESPACES, "", namespace)
        if ns is None:
            return True
        if not ns["metadata"].get("deletionTimestamp") or self.namespace_contents(namespace):
            return False
        rt = self.registry.get("", "v1", "namespaces")
        assert rt is not None
        self._remove(rt, ns)
        return True

    def _remove(self, rt: ResourceType, obj: JsonObj) -> JsonObj:
        final = self.store.remove(rt.key, obj)
        meta = obj["metadata"]
        self._uids.pop(meta.get("uid", ""), None)
        ns, name = meta.get("namespace", ""), meta["name"]
        self._admitted.pop((rt.key, ns, name), None)
        for memory_key in [k for k in self._applied if k[:3] == (rt.key, ns, name)]:
            del self._applied[memory_key]
        if rt.key == CRDS:
            self._unregister_crd(obj)
        if self._on_removed is not None:
            self._on_removed(final)
        if rt.namespaced and ns:
            namespace = self.store.get(NAMESPACES, "", ns)
            if namespace is not None and namespace["metadata"].get("deletionTimestamp"):
                self.finish_namespace(ns)
        return final

    def orphan_dependents(self, uid: str) -> None:
        """Remove the owner reference to ``uid`` from every object that has one."""
        for key, obj in self.store.all_objects():
            refs = obj["metadata"].get("ownerReferences") or []
            if any(r.get("uid") == uid for r in refs):
                new = copy.deepcopy(obj)
                kept = [r for r in refs if r.get("uid") != uid]
                if kept:
                    new["metadata"]["ownerReferences"] = kept
                else:
                    new["metadata"].pop("ownerReferences", None)
                self.store.put(key, new, obj)

    # -- helpers ---------------------------------------------------------------------------

    def _record_manager(
        self, rt: ResourceType, old: JsonObj | None, new: JsonObj, writer: Writer | None,
        subresource: str | None,
    ) -> None:
        """``managedFields`` after this write; writes of the emulator itself (namespace set-up,
        the garbage collector) keep what was there, as the server's own bookkeeping does."""
        if writer is None:
            if old is not None and "managedFields" in old["metadata"]:
                new["metadata"]["managedFields"] = old["metadata"]["managedFields"]
            return
        managed.record(
            old, new, manager=writer.manager, operation=writer.operation,
            time=timestamp(self._clock()), subresource=subresource,
            has_status=rt.has_status, applied=writer.applied,
        )

    def _decode(self, rt: ResourceType, body: Any, *, owned: bool) -> JsonObj:
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object")
        # A body freshly decoded from a request is ours to change; anything else is copied.
        obj = body if owned else copy.deepcopy(body)
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        if (
            api_version
            and kind
            and (
                kind != rt.kind
                or (
                    api_version.split("/")[0] != (rt.group or "v1")
                    and api_version != rt.api_version
                )
            )
        ):
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({rt.api_version})"
            )
        obj["apiVersion"] = rt.api_version
        obj["kind"] = rt.kind
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        return obj

    def _check_namespace(self, rt: ResourceType, namespace: str, meta: JsonObj) -> None:
        if not rt.namespaced:
            meta.pop("namespace", None)
            return
        body_ns = meta.get("namespace")
        if body_ns and body_ns != namespace:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        meta["namespace"] = namespace
        ns = self.store.get(NAMESPACES, "", namespace)
        if ns is None:
            raise not_found("", "namespaces", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise forbidden(
                rt.group,
                rt.plural,
                meta.get("name", ""),
                f"unable to create new content in namespace {namespace} because it is being "
                f"terminated",
            )

    def _check_name(self, rt: ResourceType, name: str) -> None:
        pattern = _CONFIG_KEY_NAME if rt.plural in ("configmaps", "secrets") else _SUBDOMAIN
        if len(name) > 253 or not pattern.match(name):
            raise invalid(
                rt.kind,
                rt.group,
                name,
                [
                    FieldError(
                        "metadata.name",
                        "FieldValueInvalid",
                        f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist '
                        f"of lower case alphanumeric characters, '-' or '.', and must start and "
                        f"end with an alphanumeric character",
                    )
                ],
            )

    def _check_finalizers(self, rt: ResourceType, old: JsonObj, new: JsonObj) -> None:
        if not old["metadata"].get("deletionTimestamp"):
            return
        before = set(old["metadata"].get("finalizers") or ())
        added = [f for f in new["metadata"].get("finalizers") or () if f not in before]
        if added:
            found = ", ".join(f'"{f}"' for f in added)
            raise invalid(
                rt.kind,
                rt.group,
                old["metadata"]["name"],
                [
                    FieldError(
                        "metadata.finalizers",
                        "FieldValueForbidden",
                        f"Forbidden: no new finalizers can be added if the object is being "
                        f"deleted, found new finalizers []string{{{found}}}",
                    )
                ],
            )

    def _admit(
        self,
        rt: ResourceType,
        obj: JsonObj,
        old: JsonObj | None,
        *,
        strict: bool,
        mutated: bool = False,
    ) -> tuple[str, ...]:
        """Kind-specific defaulting and validation before storage; returns warnings.

        ``mutated``: an admission webhook changed the object; fields it added that the schema
        does not know are dropped silently (the request's own were reported at decoding)."""
        warnings: tuple[str, ...] = ()
        if not rt.custom:
            try:
                microtime.normalise(rt.group, rt.plural, obj)
            except microtime.MicroTimeError as exc:
                raise bad_request(
                    f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: {exc}'
                ) from None
        meta_errors = metadata.validate(obj["metadata"], custom=rt.custom)
        if meta_errors:
            raise invalid(rt.kind, rt.group, obj["metadata"].get("name", ""), meta_errors)
        if rt.custom:
            dropped: list[str] = []
            schema.prune_and_default(
                obj, rt.schema, dropped=dropped, admitted=self._admitted_version(rt, old)
            )
            if dropped and not mutated:
                messages = [f'unknown field "{path}"' for path in dropped]
                if strict:
                    raise bad_request(
                        f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                        "strict decoding error: " + ", ".join(messages)
                    )
                warnings = tuple(messages)
            # Decoding warnings first, then validation's, as kube-apiserver orders them.
            warnings += metadata.finalizer_warnings(
                obj["metadata"], old["metadata"] if old is not None else None
            )
            errors = schema.validate(obj, rt.schema, old=old)
            if errors:
                raise invalid(rt.kind, rt.group, obj["metadata"].get("name", ""), errors)
        elif rt.key == CRDS:
            errors = crds.validate_crd(obj)
            if errors:
                raise invalid(rt.kind, rt.group, obj["metadata"].get("name", ""), errors)
            obj["status"] = crds.crd_status(obj, timestamp(self._clock()))
        elif rt.key in (MUTATING_WEBHOOKS, VALIDATING_WEBHOOKS):
            mutating = rt.key == MUTATING_WEBHOOKS
            webhook_config.apply_defaults(obj, mutating=mutating)
            errors = webhook_config.validate(obj, mutating=mutating)
            if errors:
                raise invalid(rt.kind, rt.group, obj["metadata"].get("name", ""), errors)
        elif rt.key == NAMESPACES:
            meta = obj["metadata"]
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
            if old is None:
                obj["spec"] = {"finalizers": ["kubernetes"]}
                obj["status"] = {"phase": "Active"}
        elif rt.key == INGRESSES:
            errors = networking.validate_ingress(obj)
            if errors:
                raise invalid(rt.kind, rt.group, obj["metadata"].get("name", ""), errors)
        elif rt.key == SERVICES:
            errors = networking.default_service(obj, old, self._allocate_cluster_ip)
            if errors:
                raise invalid(rt.kind, rt.group, obj["metadata"].get("name", ""), errors)
        elif rt.plural == "secrets" and not rt.group:
            string_data = obj.pop("stringData", None)
            if isinstance(string_data, dict):
                data = obj.setdefault("data", {})
                for key, value in string_data.items():
                    data[key] = base64.b64encode(str(value).encode()).decode()
            obj.setdefault("type", "Opaque")
        return warnings

    def _remember_admitted(self, rt: ResourceType, stored: JsonObj) -> None:
        if rt.custom and rt.schema is not None:
            meta = stored["metadata"]
            self._admitted[(rt.key, meta.get("namespace", ""), meta["name"])] = (stored, rt.schema)

    def _admitted_version(self, rt: ResourceType, old: JsonObj | None) -> JsonObj | None:
        """``old`` when it is exactly the version this schema pruned and defaulted."""
        if old is None:
            return None
        meta = old["metadata"]
        entry = self._admitted.get((rt.key, meta.get("namespace", ""), meta["name"]))
        if entry is None or entry[0] is not old or entry[1] is not rt.schema:
            return None
        return old

    def _register_crd(self, crd: JsonObj) -> None:
        types = crds.resource_types(crd)
        if not types:
            return
        self.registry.remove_key(types[0].key)
        for rt in types:
            self.registry.add(rt)
        self.registry.set_version_order(
            types[0].group, [v["name"] for v in crd["spec"]["versions"] if v.get("served", True)]
        )

    def _unregister_crd(self, crd: JsonObj) -> None:
        spec = crd.get("spec") or {}
        key = (spec.get("group", ""), (spec.get("names") or {}).get("plural", ""))
        removed = self.store.drop_collection(key)
        for obj in removed:
            meta = obj["metadata"]
            self._uids.pop(meta.get("uid", ""), None)
            self._admitted.pop((key, meta.get("namespace", ""), meta["name"]), None)
        self.store.close_watches(key)
        self.registry.remove_key(key)


def _any_admission(_phase: str, _rt: ResourceType, _operation: str, _subresource: str) -> bool:
    return True


def _object_name(obj: JsonObj) -> tuple[str, str]:
    meta = obj["metadata"]
    return (meta.get("namespace", ""), meta["name"])


def _spec_changed(rt: ResourceType, old: JsonObj, new: JsonObj) -> bool:
    ignored = {"metadata", "status"} if rt.has_status else {"metadata"}
    keys = (set(old) | set(new)) - ignored
    return any(old.get(k) != new.get(k) for k in keys)
