"""``ObjectKey``: how one namespaced (or cluster-scoped) object is named everywhere.

The informer caches, their indexes, the work queues, Events and logs all name objects with an
``ObjectKey``, never with a ``"namespace/name"`` string that someone would have to build or split
again. ``str(key)`` gives the familiar ``namespace/name`` form, for messages and annotations.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, NamedTuple


class ObjectKey(NamedTuple):
    """``(namespace, name)``; the namespace is ``""`` for cluster-scoped objects.

    A tuple rather than a class with attributes: it is hashed on every cache write and every
    queue operation, and tuples hash fastest.
    """

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ObjectKey:
        """The key of a Kubernetes object (as decoded JSON)."""
        metadata = obj.get("metadata") or {}
        # Interned: a handful of namespaces are named by every key the caches and indexes
        # keep, and each decoded object brings its own copy of the string.
        return cls(sys.intern(str(metadata.get("namespace") or "")),
                   str(metadata.get("name") or ""))

    @classmethod
    def from_ref(cls, ref: Any, default_namespace: str) -> ObjectKey | None:
        """The key a ``{name, namespace?}`` reference names, or None when it names nothing.

        A reference without a namespace lives in the referrer's namespace.
        """
        if not isinstance(ref, Mapping) or not ref.get("name"):
            return None
        return cls(sys.intern(str(ref.get("namespace") or default_namespace)), str(ref["name"]))

    @classmethod
    def parse(cls, text: str) -> ObjectKey:
        """The key written as ``namespace/name`` (or ``name``) in an annotation or a message.

        Only for text that comes from outside the process; inside it keys are never strings.
        """
        namespace, _, name = text.rpartition("/")
        if not name or "/" in namespace:
            raise ValueError(f"not an object key: {text!r}")
        return cls(namespace, name)
