"""structlog configuration for the whole operator, and the per-reconcile log context.

This module owns the log line format (the upstream JSON keys ``message``, ``level``, ``logger``,
``stacktrace`` and a configurable timestamp field), level filtering, the redaction of anything
that looks like a credential, and ``reconcile_context`` which binds ``controller``, ``namespace``,
``name`` and ``reconcileID`` for every line logged during one reconcile.

It must never decide what is logged where; callers use ``get_logger(name)`` and log events.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any, Final, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from controller.config import LogSettings

REDACTED: Final = "[REDACTED]"

_SENSITIVE_FRAGMENTS: Final = (
    "password", "secret", "token", "authorization", "credential", "bearer", "apikey",
    "api_key", "privatekey", "private_key",
)

_LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}

# zap (upstream) names the warning level "warn"; structlog calls it "warning".
_LEVEL_NAMES: Final = {"warning": "warn", "critical": "error", "exception": "error"}


def is_sensitive_key(key: str) -> bool:
    """True for keys whose values must never reach a log line (passwords, tokens, ...)."""
    lowered = key.lower().replace("-", "")
    return any(fragment in lowered for fragment in _SENSITIVE_FRAGMENTS)


def redact(value: Any) -> Any:
    """A copy of ``value`` with every sensitive key's value replaced by ``REDACTED``."""
    if isinstance(value, Mapping):
        return {
            key: REDACTED if isinstance(key, str) and is_sensitive_key(key) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def configure_logging(settings: LogSettings, *, stream: TextIO | None = None) -> None:
    """Configure structlog process-wide from ``settings``; safe to call more than once."""
    level_name = "debug" if settings.dev_mode else settings.level
    renderer: Processor
    if settings.format == "console" or settings.dev_mode:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    else:
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
    processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        _rename_logger_name,
        _LevelNamer(upper=settings.level_case == "upper"),
        _Timestamper(field=settings.timestamp_field, style=settings.timestamp_format),
        _redact_event,
        _StacktraceRenderer(),
        structlog.processors.EventRenamer("message"),
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level_name]),
        logger_factory=structlog.WriteLoggerFactory(file=stream or sys.stderr),
        cache_logger_on_first_use=False,
    )


def ensure_logging_configured(settings: LogSettings) -> None:
    """Configure logging unless someone already did.

    structlog's default renderer prints tracebacks with their local variables, which would put
    specs and credentials in the logs; any embedding of the manager (tests, benchmarks, the demo)
    therefore gets our configuration rather than the default.
    """
    if not structlog.is_configured():
        configure_logging(settings)


def get_logger(name: str) -> Any:
    """A logger whose lines carry ``logger=<name>``.

    Lazy: safe at module level, it follows ``configure_logging`` calls made later.
    """
    # ``logger`` itself cannot be an initial value of a lazy structlog logger (it clashes with
    # a parameter name), so it travels as ``logger_name`` and is renamed when rendered.
    return structlog.get_logger(logger_name=name)


def new_reconcile_id() -> str:
    return str(uuid.uuid4())


@contextmanager
def reconcile_context(
    *, controller: str, namespace: str, name: str, reconcile_id: str | None = None
) -> Iterator[str]:
    """Bind the reconcile's identity to every log line emitted inside the block.

    Yields the reconcile ID (a fresh UUID unless one is given). Uses contextvars, so it is
    local to the asyncio task running the reconcile.
    """
    rid = reconcile_id or new_reconcile_id()
    with structlog.contextvars.bound_contextvars(
        controller=controller, namespace=namespace, name=name, reconcileID=rid
    ):
        yield rid


def _rename_logger_name(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    if "logger_name" in event_dict:
        event_dict["logger"] = event_dict.pop("logger_name")
    return event_dict


class _LevelNamer:
    def __init__(self, *, upper: bool) -> None:
        self._upper = upper

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        name = _LEVEL_NAMES.get(method_name, method_name)
        event_dict["level"] = name.upper() if self._upper else name
        return event_dict


class _Timestamper:
    def __init__(self, *, field: str, style: str) -> None:
        self._field = field
        self._style = style
        self._iso = structlog.processors.TimeStamper(fmt="iso", utc=True, key=field)

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        if self._style == "iso-8601":
            return self._iso(logger, method_name, event_dict)
        now_ns = time.time_ns()
        stamp: float | int
        if self._style == "epoch-second":
            stamp = now_ns / 1e9
        elif self._style == "epoch-millis":
            stamp = now_ns / 1e6
        else:
            stamp = now_ns
        event_dict[self._field] = stamp
        return event_dict


def _redact_event(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if is_sensitive_key(key):
            event_dict[key] = REDACTED
        elif isinstance(event_dict[key], Mapping | list | tuple):
            event_dict[key] = redact(event_dict[key])
    return event_dict


class _StacktraceRenderer:
    """Render ``exc_info`` into the upstream ``stacktrace`` key."""

    def __init__(self) -> None:
        self._format = structlog.processors.format_exc_info

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        event_dict = self._format(logger, method_name, event_dict)
        if "exception" in event_dict:
            event_dict["stacktrace"] = event_dict.pop("exception")
        return event_dict
