import pytest

from controller.apim.cloud import MISSING_CLAIMS_MESSAGE, CloudTokenError, parse_cloud_token

from .jwt_helpers import cloud_token


def test_claims_are_read_without_verification():
    claims = parse_cloud_token(cloud_token({"org": "o1", "envs": ["e1", "e2"], "cpg": "eu"}))
    assert claims.organization_id == "o1"
    assert claims.environment_ids == ("e1", "e2")
    assert claims.base_url == "https://eu.cloudgate.gravitee.io"


@pytest.mark.parametrize(
    "claims",
    [
        {"envs": ["e"], "cpg": "eu"},
        {"org": "o", "cpg": "eu"},
        {"org": "o", "envs": [], "cpg": "eu"},
        {"org": "o", "envs": ["e"]},
        {"org": "o", "envs": "e", "cpg": "eu"},
    ],
)
def test_missing_claims(claims):
    with pytest.raises(CloudTokenError) as info:
        parse_cloud_token(cloud_token(claims))
    assert str(info.value) == MISSING_CLAIMS_MESSAGE


@pytest.mark.parametrize("token", ["not-a-jwt", "a.!!!.c", "a.bm90IGpzb24.c"])
def test_unparsable_token_never_echoes_it(token):
    with pytest.raises(CloudTokenError) as info:
        parse_cloud_token(token)
    assert str(info.value).startswith("cannot parse cloud token:")
    assert token not in str(info.value)


def test_environment_selection():
    single = parse_cloud_token(cloud_token({"org": "o", "envs": ["only"], "cpg": "us"}))
    assert single.pick_environment(None) == "only"
    multi = parse_cloud_token(cloud_token({"org": "o", "envs": ["a", "b"], "cpg": "us"}))
    assert multi.pick_environment("b") == "b"
    with pytest.raises(CloudTokenError) as info:
        multi.pick_environment(None)
    assert str(info.value) == (
        "cloud token contains more than one environment (2), environmentId is then required"
    )
    with pytest.raises(CloudTokenError) as info:
        multi.pick_environment("c")
    assert str(info.value) == (
        "cloud token does not contain environment [c], it must be one of: [a, b]"
    )
