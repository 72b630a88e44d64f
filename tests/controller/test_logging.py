import io
import json

import pytest
import structlog

from controller.config import LogSettings
from controller.logging import REDACTED, configure_logging, get_logger, reconcile_context


@pytest.fixture
def capture():
    stream = io.StringIO()
    yield stream
    structlog.reset_defaults()


def lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_lines_use_upstream_keys(capture):
    configure_logging(LogSettings(), stream=capture)
    get_logger("manager").info("starting", workers=4)
    [line] = lines(capture)
    assert line["message"] == "starting"
    assert line["level"] == "INFO"
    assert line["logger"] == "manager"
    assert line["workers"] == 4
    assert "timestamp" in line
    assert line["timestamp"].endswith("Z")


def test_level_filter_case_and_timestamp_knobs(capture):
    configure_logging(
        LogSettings(level="warn", level_case="lower", timestamp_field="ts",
                    timestamp_format="epoch-second"),
        stream=capture,
    )
    log = get_logger("x")
    log.info("dropped")
    log.warning("kept")
    [line] = lines(capture)
    assert line["message"] == "kept"
    assert line["level"] == "warn"
    assert isinstance(line["ts"], float)
    assert line["ts"] > 1.7e9


def test_reconcile_context_binds_identity_to_every_line(capture):
    configure_logging(LogSettings(), stream=capture)
    log = get_logger("reconciler")
    with reconcile_context(controller="apidefinition", namespace="ns", name="api") as rid:
        log.info("inside")
    log.info("outside")
    inside, outside = lines(capture)
    assert inside["controller"] == "apidefinition"
    assert inside["namespace"] == "ns"
    assert inside["name"] == "api"
    assert inside["reconcileID"] == rid
    assert len(rid) == 36
    assert "reconcileID" not in outside


def test_secrets_are_redacted_at_any_depth(capture):
    configure_logging(LogSettings(), stream=capture)
    get_logger("x").info(
        "auth", password="p4ss", headers={"Authorization": "Bearer abc"},
        items=[{"bearerToken": "t0k"}], user="admin",
    )
    [line] = lines(capture)
    assert line["password"] == REDACTED
    assert line["headers"]["Authorization"] == REDACTED
    assert line["items"][0]["bearerToken"] == REDACTED
    assert line["user"] == "admin"
    assert "p4ss" not in capture.getvalue()
    assert "abc" not in capture.getvalue()


def test_exceptions_go_to_stacktrace(capture):
    configure_logging(LogSettings(), stream=capture)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        get_logger("x").exception("failed")
    [line] = lines(capture)
    assert line["level"] == "ERROR"
    assert "RuntimeError: boom" in line["stacktrace"]


def test_console_format_is_not_json(capture):
    configure_logging(LogSettings(format="console"), stream=capture)
    get_logger("x").info("hello", a=1)
    text = capture.getvalue()
    assert "hello" in text
    assert "a=1" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_an_embedded_manager_never_keeps_structlog_defaults_that_print_locals(capsys):
    """structlog's default renderer prints traceback locals (specs, passwords); the manager
    replaces an unconfigured setup with ours, whose tracebacks carry no locals."""
    from controller.logging import ensure_logging_configured

    structlog.reset_defaults()
    try:
        assert not structlog.is_configured()
        ensure_logging_configured(LogSettings())
        assert structlog.is_configured()

        def fail(password: str) -> None:
            raise RuntimeError("boom")

        # Built at run time: a literal would appear in the traceback's quoted source line.
        password = "-".join(("Wr0ng", "Pa55word"))
        try:
            fail(password)
        except RuntimeError:
            get_logger("loop").exception("Reconciler error")
        err = capsys.readouterr().err
        assert "Reconciler error" in err
        assert "RuntimeError: boom" in err
        assert "Wr0ng-Pa55word" not in err
    finally:
        structlog.reset_defaults()
