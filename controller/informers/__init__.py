"""list+watch, the shared in-memory stores and their indexes, and event-to-key handlers.

Public surface: ``SharedInformers`` (one informer per kind), ``Informer``, ``Store`` with
``add_index``/``by_index``/``keys_by_index``, ``Event``/``EventType``, the handler builders
``enqueue_object``, ``enqueue_mapped``.
Informers never know reconcilers or APIM (import-linter contract).
"""

from controller.informers.events import Event, EventHandler, EventType
from controller.informers.factory import SharedInformers
from controller.informers.handlers import (
    LOW_PRIORITY,
    KeyQueue,
    enqueue_mapped,
    enqueue_object,
)
from controller.informers.informer import Informer, InformerOptions
from controller.informers.reflector import Reflector, ReflectorOptions
from controller.informers.store import (
    NAMESPACE_INDEX,
    IndexFunc,
    IndexInput,
    KubeObject,
    Store,
)

__all__ = [
    "LOW_PRIORITY",
    "NAMESPACE_INDEX",
    "Event",
    "EventHandler",
    "EventType",
    "IndexFunc",
    "IndexInput",
    "Informer",
    "InformerOptions",
    "KeyQueue",
    "KubeObject",
    "Reflector",
    "ReflectorOptions",
    "SharedInformers",
    "Store",
    "enqueue_mapped",
    "enqueue_object",
]
