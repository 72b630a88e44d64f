import copy
import pickle

import pytest

from controller.apim.errors import ApimError, ErrorKind, scrub


@pytest.mark.parametrize(
    ("status", "recoverable"),
    [(400, False), (401, False), (403, True), (404, True), (409, True), (500, True), (503, True)],
)
def test_http_classification(status, recoverable):
    error = ApimError.from_response(method="put", url="http://h/x", status=status, body="")
    assert error.recoverable is recoverable
    assert error.status == status
    assert error.method == "PUT"


@pytest.mark.parametrize("kind", [ErrorKind.TRANSPORT, ErrorKind.TIMEOUT, ErrorKind.RESPONSE])
def test_non_http_failures_are_recoverable(kind):
    assert ApimError(kind=kind, method="GET", url="http://h", message="boom").recoverable


def test_message_comes_from_the_json_body_else_the_status_text():
    with_message = ApimError.from_response(
        method="GET",
        url="http://h/x",
        status=400,
        body='{"httpStatus":400,"message":"Invalid organization or environment"}',
    )
    assert with_message.message == "Invalid organization or environment"
    assert str(with_message) == (
        "request [GET] http://h/x failed with status 400 (Invalid organization or environment): "
        '{"httpStatus":400,"message":"Invalid organization or environment"}'
    )
    bare = ApimError.from_response(method="GET", url="http://h/x", status=401, body="")
    assert str(bare) == "request [GET] http://h/x failed with status 401 (Unauthorized): "


def test_transport_text():
    error = ApimError(
        kind=ErrorKind.TRANSPORT, method="GET", url="http://h/x", message="connection refused"
    )
    assert str(error) == "unable to perform request [GET] http://h/x: (connection refused)"
    assert error.status is None


def test_url_userinfo_is_removed():
    error = ApimError.from_response(
        method="GET", url="http://admin:pw-secret@h/x", status=401, body=""
    )
    assert "pw-secret" not in str(error)
    assert "pw-secret" not in repr(error)
    assert error.url == "http://h/x"


def test_long_bodies_are_truncated_in_the_text():
    error = ApimError.from_response(method="GET", url="http://h", status=502, body="x" * 5000)
    assert len(str(error)) < 1200
    assert error.body == "x" * 5000


def test_severe_errors_of_a_rejected_import():
    error = ApimError.from_response(
        method="PUT", url="http://h", status=400, body='{"severe":["bad plan"],"warning":["w"]}'
    )
    assert error.severe_errors == ("bad plan",)
    assert error.message == "Bad Request"


def test_survives_pickle_and_copy():
    error = ApimError.from_response(method="GET", url="http://h", status=409, body="{}")
    for clone in (pickle.loads(pickle.dumps(error)), copy.copy(error)):
        assert str(clone) == str(error)
        assert clone.status == 409


def test_scrub():
    assert scrub("token abc123 and abc123", ["abc123"]) == "token <redacted> and <redacted>"
    assert scrub("a b", ["a"]) == "a b"  # too short to scrub meaningfully
