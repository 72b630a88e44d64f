"""``[[ secret `name/key` ]]`` and ``[[ configmap `name/key` ]]`` templates in spec strings.

Owns the template language (the subset of Go's text/template that GKO users write, with ``[[``
``]]`` delimiters), its exact error messages, and the pure bookkeeping of which sources a
referencing object uses (docs/behavior/templating.md). It performs no I/O: values come from a
``SourceReader`` (in the operator, the informer caches), and the annotation/finalizer changes on
the sources are computed here but written by the reconcilers.

Supported inside ``[[ ... ]]``: a call ``secret ARG`` / ``configmap ARG`` with a double-quoted
or back-quoted string literal, a bare string literal, comments ``/* ... */`` and the ``-``
whitespace-trim markers. Anything else is reported as a CompileTemplateError instead of being
guessed at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final, Literal, Protocol

import attrs

from controller import jsonfast
from controller.keys import ObjectKey
from controller.reconcilers.framework.errors import CompileTemplateError, ResolveRefError

OPEN: Final = "[["
_OPEN_BYTES: Final = OPEN.encode()
CLOSE: Final = "]]"

SourceKind = Literal["secret", "configmap"]

TEMPLATING_FINALIZER: Final = "finalizers.gravitee.io/templating"
REFERENCES_ANNOTATION: Final = "gravitee.io/references"


@attrs.frozen(order=True)
class SourceRef:
    """A Secret or ConfigMap a template reads, always in the referencing object's namespace."""

    kind: SourceKind
    namespace: str
    name: str

    @property
    def key(self) -> ObjectKey:
        return ObjectKey(self.namespace, self.name)


class SourceReader(Protocol):
    """Reads template sources; values are decoded strings (Secret data already un-base64'd)."""

    def secret_data(self, namespace: str, name: str) -> Mapping[str, str] | None: ...

    def configmap_data(self, namespace: str, name: str) -> Mapping[str, str] | None: ...


@attrs.frozen
class Compiled:
    spec: Any
    sources: frozenset[SourceRef]


# A string literal: "..." with Go/JSON escapes, or `...` raw.
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<dq>"(?:[^"\\]|\\.)*")
      | (?P<raw>`[^`]*`)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<other>\S)
    )""",
    re.VERBOSE,
)


@attrs.frozen
class _Call:
    function: str | None  # None: a bare literal
    argument: str


def _parse_action(body: str) -> _Call | None:
    """Parse the inside of one ``[[ ... ]]``; None for a comment."""
    stripped = body.strip()
    if stripped.startswith("/*"):
        if not stripped.endswith("*/"):
            raise CompileTemplateError("template: unclosed comment")
        return None
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(body):
        match = _TOKEN.match(body, position)
        if match is None:  # only trailing whitespace is left
            break
        position = match.end()
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
    if not tokens:
        raise CompileTemplateError("template: missing value for command")
    if len(tokens) == 1 and tokens[0][0] in ("dq", "raw"):
        return _Call(None, _literal(*tokens[0]))
    head_kind, head = tokens[0]
    if head_kind != "ident":
        raise CompileTemplateError(f"template: unexpected {head!r} in command")
    if head not in ("secret", "configmap"):
        raise CompileTemplateError(f'template: function "{head}" not defined')
    if len(tokens) != 2 or tokens[1][0] not in ("dq", "raw"):
        raise CompileTemplateError(
            f"template: {head} takes exactly one string argument, e.g. {head} `name/key`"
        )
    return _Call(head, _literal(*tokens[1]))


def _literal(kind: str, text: str) -> str:
    if kind == "raw":
        return text[1:-1]
    try:
        value = json.loads(text)
    except ValueError as error:
        raise CompileTemplateError(f"template: bad string literal {text}") from error
    assert isinstance(value, str)
    return value


def _split_argument(kind: SourceKind, argument: str) -> tuple[str, str]:
    if argument == "":
        raise CompileTemplateError(f"empty {kind} name")
    parts = argument.split("/")
    if len(parts) != 2:
        raise CompileTemplateError(f"wrong {kind} name. Example my-{kind}/key1")
    name, key = parts
    if name == "":
        raise CompileTemplateError(f"empty {kind} name")
    return name, key


class _Compiler:
    def __init__(self, namespace: str, reader: SourceReader | None) -> None:
        self.namespace = namespace
        self.reader = reader
        self.sources: set[SourceRef] = set()

    def render(self, text: str) -> str:
        if OPEN not in text:
            return text
        out: list[str] = []
        position = 0
        while True:
            start = text.find(OPEN, position)
            if start < 0:
                out.append(text[position:])
                break
            out.append(text[position:start])
            body_start = start + len(OPEN)
            # "[[- " trims the whitespace before the action.
            if (
                text.startswith("- ", body_start)
                or text.startswith("-\t", body_start)
                or (text.startswith("-\n", body_start))
            ):
                out[-1] = out[-1].rstrip()
                body_start += 1
            end = text.find(CLOSE, body_start)
            if end < 0:
                raise CompileTemplateError("template: unclosed action")
            body_end = end
            trim_after = False
            if end - 1 >= body_start and text[end - 1] == "-" and text[end - 2 : end - 1].isspace():
                trim_after = True
                body_end = end - 1
            call = _parse_action(text[body_start:body_end])
            if call is not None:
                out.append(self._evaluate(call))
            position = end + len(CLOSE)
            if trim_after:
                while position < len(text) and text[position].isspace():
                    position += 1
        return "".join(out)

    def _evaluate(self, call: _Call) -> str:
        if call.function is None:
            return call.argument
        kind: SourceKind = "secret" if call.function == "secret" else "configmap"
        name, key = _split_argument(kind, call.argument)
        ref = SourceRef(kind, self.namespace, name)
        self.sources.add(ref)
        if self.reader is None:
            return ""
        data = (
            self.reader.secret_data(self.namespace, name)
            if kind == "secret"
            else self.reader.configmap_data(self.namespace, name)
        )
        if data is None:
            raise ResolveRefError(f"{kind} [{ref.key}] not found")
        value = data.get(key)
        if not value:
            raise CompileTemplateError(f"key [{key}] not found in {kind} [{ref.key}]")
        return value

    def walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.render(value)
        if isinstance(value, dict):
            # Keys are never templated, only values.
            return {k: self.walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.walk(v) for v in value]
        return value


def compile_spec(spec: Any, *, namespace: str, reader: SourceReader) -> Compiled:
    """Return ``spec`` with every template in every string value replaced by its value.

    The input is not modified. Raises CompileTemplateError (bad template, missing or empty key)
    or ResolveRefError (missing Secret/ConfigMap) on the first failure, as upstream does.
    """
    data = jsonfast.dumps(spec)
    if _OPEN_BYTES not in data:
        # The common case, decided by the C encoder; the round trip is also the cheapest copy.
        return Compiled(jsonfast.loads(data), frozenset())
    compiler = _Compiler(namespace, reader)
    compiled = compiler.walk(spec)
    return Compiled(compiled, frozenset(compiler.sources))


def referenced_sources(spec: Any, *, namespace: str) -> frozenset[SourceRef]:
    """The sources the templates in ``spec`` read, without reading them (for dependency indexes).

    Malformed templates contribute nothing here; ``compile_spec`` reports them.
    """
    if _OPEN_BYTES not in jsonfast.dumps(spec):
        # Runs on every cache update of every object: skip the walk when there is nothing.
        return frozenset()
    compiler = _Compiler(namespace, None)
    try:
        compiler.walk(spec)
    except CompileTemplateError:
        pass
    return frozenset(compiler.sources)


def contains_templates(spec: Any) -> bool:
    if isinstance(spec, str):
        return OPEN in spec
    if isinstance(spec, dict):
        return any(contains_templates(v) for v in spec.values())
    if isinstance(spec, list):
        return any(contains_templates(v) for v in spec)
    return False


# --- Reference bookkeeping on the sources (docs/behavior/templating.md) ----------------------


def users_annotation(plural: str) -> str:
    """``gravitee.io/<lowercase kind>s``, e.g. ``gravitee.io/apidefinitions``."""
    return f"gravitee.io/{plural}"
