"""Dictionary: key/value entries gateway expressions read, upserted and deleted through the
Automation API (docs/behavior/dictionary.md).

Always addressed by its HRID (``<namespace>-<name>``): dictionaries never had a UUID mode. A
MANUAL dictionary carries its entries; a DYNAMIC one carries an HTTP provider and a polling
trigger, and APIM fills the entries. The type and the block that is set must agree, checked
before anything reaches APIM.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller import vocabulary as v
from controller.apim.dictionaries import delete_dictionary, get_dictionary, upsert_dictionary
from controller.apim.ids import hrid
from controller.apim.results import ImportErrors
from controller.kube.kinds import DICTIONARIES, MANAGEMENT_CONTEXTS
from controller.models.base import given
from controller.models.dictionary import DictionarySpec
from controller.models.validation import FieldError
from controller.reconcilers.framework import conditions as cond
from controller.reconcilers.framework.admission import Review
from controller.reconcilers.framework.builder import Builder
from controller.reconcilers.framework.errors import IllegalStateError
from controller.reconcilers.framework.readback import remote_copy
from controller.reconcilers.framework.runtime import (
    Attempt,
    Cleanup,
    KindLogic,
    Outcome,
    ReadBack,
    RuntimeDeps,
)
from controller.reconcilers.support.admission import context_exists, dry_run, enforce, rules
from controller.reconcilers.support.api_common import automation_status, context_for_cleanup
from controller.reconcilers.support.contexts import ContextClient
from controller.reconcilers.support.references import context_refs, template_sources
from controller.reconcilers.support.templating import TEMPLATING_FINALIZER

NO_CONTEXT = "a context is required to reconcile a dictionary"


def setup(builder: Builder) -> None:
    (
        builder.reconciles(DICTIONARIES, finalizer=v.FINALIZER_DICTIONARY, processing_status=False)
        .references(MANAGEMENT_CONTEXTS, refs=context_refs, follow=True)
        .reads_sources(template_sources, finalizer=TEMPLATING_FINALIZER)
        .admits(DictionarySpec, context_exists, rules(type_rules), remote=dry_run_dictionary)
        .reads_back()
        .complete(Dictionary)
    )


def type_rules(spec: DictionarySpec) -> list[FieldError]:
    """The type and the block that is set must agree (upstream's admission wording)."""
    blocks = {"MANUAL": ("manual", given(spec.manual)), "DYNAMIC": ("dynamic", given(spec.dynamic))}
    if spec.type not in blocks:
        return [FieldError("spec.type", f'unknown dictionary type "{spec.type}"')]
    wanted, has_wanted = blocks[spec.type]
    for other, (field, is_set) in blocks.items():
        if other != spec.type and is_set:
            return [
                FieldError(
                    f"spec.{field}",
                    f"dictionary type is {spec.type} but '{field}' field is set, "
                    f"use '{wanted}' instead",
                )
            ]
    if not has_wanted:
        message = f"dictionary type is {spec.type} but '{wanted}' field is not set"
        return [FieldError(f"spec.{wanted}", message)]
    return []


def body(spec: Mapping[str, Any], ref: str) -> dict[str, Any]:
    """What APIM receives: the spec without the cluster-only reference, named by its HRID."""
    out = {k: value for k, value in spec.items() if k != "contextRef"}
    out["hrid"] = ref
    return out


async def dry_run_dictionary(
    review: Review[DictionarySpec], deps: RuntimeDeps
) -> list[FieldError]:
    """``PUT {AUTO}/dictionaries?dryRun=true`` with the reconcile's body."""

    async def call(context: ContextClient) -> ImportErrors:
        state = await upsert_dictionary(
            context.client, body(review.spec, hrid(review.namespace, review.name)), dry_run=True
        )
        return state.errors

    return await dry_run(review, deps, call)


class Dictionary(KindLogic):
    def __init__(self, deps: RuntimeDeps) -> None:
        self.deps = deps

    async def read_back(self, attempt: Attempt) -> ReadBack | None:
        context = await self.deps.resolver.client_for(attempt)
        if context is None:
            return None
        ref = hrid(attempt.namespace, attempt.name)
        remote = await remote_copy(get_dictionary(context.client, ref))
        return ReadBack("Dictionary", body(attempt.spec, ref), remote)

    async def apply(self, attempt: Attempt) -> Outcome:
        enforce(attempt.spec, DictionarySpec, type_rules)
        context = await self.deps.resolver.client_for(attempt)
        if context is None:  # the schema allows it; there is nowhere to send the dictionary
            raise IllegalStateError(NO_CONTEXT)
        state = await upsert_dictionary(
            context.client, body(attempt.spec, hrid(attempt.namespace, attempt.name))
        )
        return Outcome(
            status=automation_status(state, context),
            conditions=(cond.automation_api_managed(attempt.generation),),
        )

    async def cleanup(self, attempt: Attempt) -> Cleanup:
        ref = hrid(attempt.namespace, attempt.name)
        context, leftovers = await context_for_cleanup(attempt, self.deps, f"dictionary [{ref}]")
        if context is None:
            return Cleanup(leftovers=leftovers)
        await delete_dictionary(context.client, ref)
        return Cleanup()
