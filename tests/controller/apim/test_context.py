import pytest

from controller.apim.auth import Credentials
from controller.apim.cloud import CloudTokenError
from controller.apim.context import ContextSpec, resolve_context

from .jwt_helpers import cloud_token


def test_plain_context():
    resolved = resolve_context(
        ContextSpec(
            base_url="http://apim:8083",
            organization_id="DEFAULT",
            environment_id="DEFAULT",
            credentials=Credentials.basic("admin", "admin"),
        )
    )
    assert resolved.urls.v2 == (
        "http://apim:8083/management/v2/organizations/DEFAULT/environments/DEFAULT"
    )
    assert resolved.credentials.scheme == "basic"


def test_cloud_token_sets_org_env_base_url_and_bearer():
    token = cloud_token({"org": "acme", "envs": ["prod"], "cpg": "eu"})
    resolved = resolve_context(
        ContextSpec(
            base_url=None,
            organization_id="ignored",
            credentials=Credentials.basic("admin", "admin"),
            cloud_token=token,
        )
    )
    assert resolved.organization_id == "acme"
    assert resolved.environment_id == "prod"
    assert resolved.urls.automation == (
        "https://eu.cloudgate.gravitee.io/apim/automation/organizations/acme/environments/prod"
    )
    assert resolved.credentials.authorization_header() == f"Bearer {token}"


def test_cloud_keeps_a_user_base_url_and_path():
    token = cloud_token({"org": "acme", "envs": ["a", "b"], "cpg": "eu"})
    resolved = resolve_context(
        ContextSpec(
            base_url="http://127.0.0.1:9000",
            environment_id="b",
            path="/rewrite",
            cloud_token=token,
        )
    )
    assert resolved.urls.v1 == "http://127.0.0.1:9000/rewrite/organizations/acme/environments/b"
    with pytest.raises(CloudTokenError):
        resolve_context(ContextSpec(base_url=None, cloud_token=token))


def test_userinfo_becomes_basic_auth_only_without_other_credentials():
    spec = ContextSpec(
        base_url="http://bob:pw-1@apim:8083", organization_id="o", environment_id="e"
    )
    resolved = resolve_context(spec)
    assert resolved.credentials == Credentials.basic("bob", "pw-1")
    assert resolved.base_url == "http://apim:8083"
    explicit = resolve_context(
        ContextSpec(
            base_url="http://bob:pw-1@apim:8083",
            organization_id="o",
            environment_id="e",
            credentials=Credentials.bearer("tok"),
        )
    )
    assert explicit.credentials == Credentials.bearer("tok")


def test_reprs_hold_no_secret():
    token = cloud_token({"org": "acme", "envs": ["prod"], "cpg": "eu"})
    spec = ContextSpec(
        base_url="http://bob:pw-secret@apim:8083",
        organization_id="o",
        environment_id="e",
        credentials=Credentials(bearer_token="tok-secret", username="u", password="pw-2-secret"),
    )
    cloud_spec = ContextSpec(base_url=None, cloud_token=token)
    texts = [repr(spec), repr(resolve_context(spec)), repr(cloud_spec)]
    texts.append(repr(resolve_context(cloud_spec)))
    for text in texts:
        for secret in ("pw-secret", "tok-secret", "pw-2-secret", token):
            assert secret not in text
