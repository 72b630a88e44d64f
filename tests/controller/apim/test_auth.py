import base64

from controller.apim.auth import Credentials


def test_bearer_wins_over_basic():
    creds = Credentials(bearer_token="tok-123", username="admin", password="admin")
    assert creds.scheme == "bearer"
    assert creds.authorization_header() == "Bearer tok-123"


def test_basic():
    creds = Credentials.basic("admin", "p@ss:word")
    assert creds.scheme == "basic"
    header = creds.authorization_header()
    assert header is not None
    assert base64.b64decode(header.removeprefix("Basic ")) == b"admin:p@ss:word"


def test_no_auth_means_no_header():
    assert Credentials.none().scheme == "none"
    assert Credentials().authorization_header() is None


def test_empty_bearer_token_falls_back_to_basic():
    creds = Credentials(bearer_token="", username="u", password="p")
    assert creds.scheme == "basic"


def test_from_secret_keys():
    creds = Credentials.from_secret({"bearerToken": b"tok", "username": "u", "password": "p"})
    assert creds.authorization_header() == "Bearer tok"
    basic = Credentials.from_secret({"username": b"u", "password": b"p"})
    assert basic.scheme == "basic"
    assert basic.username == "u"
    assert basic.password == "p"


def test_from_secret_cloud_reads_cloud_token_only():
    data = {"cloudToken": "cloud.tok.en", "bearerToken": "other"}
    assert Credentials.from_secret(data, cloud=True).bearer_token == "cloud.tok.en"
    assert Credentials.from_secret(data).bearer_token == "other"


def test_from_secret_without_keys_still_sends_empty_basic_like_upstream():
    creds = Credentials.from_secret({})
    assert creds.scheme == "basic"
    assert creds.authorization_header() == "Basic " + base64.b64encode(b":").decode()


def test_repr_and_str_are_redacted():
    creds = Credentials(bearer_token="tok-secret-1", username="admin", password="pw-secret-2")
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert "tok-secret-1" not in text
        assert "pw-secret-2" not in text
    assert repr(creds) == "Credentials(scheme='bearer')"


def test_secret_values_cover_the_encoded_basic_header():
    creds = Credentials.basic("admin", "pw-secret")
    encoded = base64.b64encode(b"admin:pw-secret").decode()
    assert "pw-secret" in creds.secret_values()
    assert encoded in creds.secret_values()
