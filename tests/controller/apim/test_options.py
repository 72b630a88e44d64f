import pytest

from controller.apim.options import ClientOptions, Proxy


def test_defaults():
    options = ClientOptions()
    assert options.timeout_seconds == 5
    assert options.proxy is None
    assert options.ca_bundle is None
    assert options.insecure_skip_verify is False
    assert options.use_system_proxy is False


def test_from_environ():
    options = ClientOptions.from_environ(
        {
            "HTTP_CLIENT_TIMEOUT_SECONDS": "2.5",
            "HTTP_CLIENT_INSECURE_SKIP_CERT_VERIFY": "true",
            "HTTP_CLIENT_TRUSTSTORE_PATH": "/etc/ca.pem",
            "HTTP_CLIENT_PROXY_ENABLED": "true",
            "HTTP_CLIENT_PROXY_URL": "http://proxy:3128",
            "HTTP_CLIENT_PROXY_USERNAME": "pu",
            "HTTP_CLIENT_PROXY_PASSWORD": "pp-secret",
        }
    )
    assert options.timeout_seconds == 2.5
    assert options.insecure_skip_verify is True
    assert options.ca_bundle == "/etc/ca.pem"
    assert options.proxy == Proxy(url="http://proxy:3128", username="pu", password="pp-secret")
    assert "pp-secret" not in repr(options)


def test_booleans_are_true_only_for_exactly_true():
    options = ClientOptions.from_environ(
        {"HTTP_CLIENT_INSECURE_SKIP_CERT_VERIFY": "True", "HTTP_CLIENT_PROXY_ENABLED": "1"}
    )
    assert options.insecure_skip_verify is False
    assert options.proxy is None


def test_system_proxy_flag():
    options = ClientOptions.from_environ(
        {"HTTP_CLIENT_PROXY_ENABLED": "true", "HTTP_CLIENT_PROXY_USE_SYSTEM_PROXY": "true"}
    )
    assert options.use_system_proxy is True
    assert options.proxy is None


def test_bad_timeout():
    with pytest.raises(ValueError, match="HTTP_CLIENT_TIMEOUT_SECONDS"):
        ClientOptions.from_environ({"HTTP_CLIENT_TIMEOUT_SECONDS": "soon"})
    with pytest.raises(ValueError, match="timeout_seconds"):
        ClientOptions(timeout_seconds=0)


def test_proxy_credentials_are_split_out_of_the_url():
    proxy = Proxy.from_url("http://user:pp-secret@proxy:3128")
    assert proxy.url == "http://proxy:3128"
    assert proxy.username == "user"
    assert proxy.password == "pp-secret"
    assert "pp-secret" not in repr(proxy)
    with pytest.raises(ValueError, match="credentials"):
        Proxy(url="http://user:pw@proxy:3128")


def test_from_the_operator_settings_object():
    from controller.config import HttpClientSettings

    settings = HttpClientSettings(
        timeout_seconds=3.0,
        insecure_skip_cert_verify=True,
        truststore_path="/ca.pem",
        proxy_enabled=True,
        proxy_url="http://proxy:3128",
        proxy_username="pu",
        proxy_password="pp-secret",
    )
    options = ClientOptions.from_settings(settings)
    assert options.timeout_seconds == 3.0
    assert options.insecure_skip_verify is True
    assert options.ca_bundle == "/ca.pem"
    assert options.proxy == Proxy(url="http://proxy:3128", username="pu", password="pp-secret")
    assert ClientOptions.from_settings(HttpClientSettings()) == ClientOptions()
