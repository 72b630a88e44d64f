import pytest

from controller.apim.urls import ApimUrls, join_path, segment, strip_userinfo, with_query


@pytest.mark.parametrize("base", ["http://apim:8083", "http://apim:8083/", "http://apim:8083//"])
def test_default_layout_with_and_without_trailing_slash(base):
    urls = ApimUrls.build(base_url=base, organization_id="DEFAULT", environment_id="DEFAULT")
    assert urls.organization == "http://apim:8083/management/organizations/DEFAULT"
    assert urls.v1 == "http://apim:8083/management/organizations/DEFAULT/environments/DEFAULT"
    assert urls.v2 == "http://apim:8083/management/v2/organizations/DEFAULT/environments/DEFAULT"
    assert urls.automation == (
        "http://apim:8083/automation/organizations/DEFAULT/environments/DEFAULT"
    )


def test_base_url_with_its_own_prefix_keeps_it():
    urls = ApimUrls.build(
        base_url="https://gw.example.com/apim/", organization_id="o1", environment_id="e1"
    )
    assert urls.v1 == "https://gw.example.com/apim/management/organizations/o1/environments/e1"
    assert urls.automation == (
        "https://gw.example.com/apim/automation/organizations/o1/environments/e1"
    )


@pytest.mark.parametrize("path", ["/proxy", "proxy", "/proxy/", "//proxy"])
def test_path_replaces_both_management_and_automation_prefixes(path):
    urls = ApimUrls.build(
        base_url="http://apim:8083", organization_id="o", environment_id="e", path=path
    )
    assert urls.v1 == "http://apim:8083/proxy/organizations/o/environments/e"
    assert urls.v2 == "http://apim:8083/proxy/v2/organizations/o/environments/e"
    # Upstream parity: with a path, {AUTO} equals {V1}.
    assert urls.automation == urls.v1


def test_cloud_prefixes():
    urls = ApimUrls.build(
        base_url="https://eu.cloudgate.gravitee.io",
        organization_id="org",
        environment_id="env",
        cloud=True,
    )
    assert (
        urls.v1 == "https://eu.cloudgate.gravitee.io/apim/rest/organizations/org/environments/env"
    )
    assert urls.v2 == (
        "https://eu.cloudgate.gravitee.io/apim/rest/v2/organizations/org/environments/env"
    )
    assert urls.automation == (
        "https://eu.cloudgate.gravitee.io/apim/automation/organizations/org/environments/env"
    )


def test_userinfo_never_reaches_the_urls():
    urls = ApimUrls.build(
        base_url="http://admin:s3cr3t@apim:8083", organization_id="o", environment_id="e"
    )
    for url in (urls.organization, urls.v1, urls.v2, urls.automation):
        assert "s3cr3t" not in url
        assert "admin" not in url
        assert url.startswith("http://apim:8083/")


@pytest.mark.parametrize("bad", ["", "apim:8083", "ftp://apim", "http://"])
def test_invalid_base_url_is_rejected(bad):
    with pytest.raises(ValueError, match="baseUrl"):
        ApimUrls.build(base_url=bad, organization_id="o", environment_id="e")


def test_missing_ids_are_rejected():
    with pytest.raises(ValueError, match="organization"):
        ApimUrls.build(base_url="http://a", organization_id="", environment_id="e")
    with pytest.raises(ValueError, match="environment"):
        ApimUrls.build(base_url="http://a", organization_id="o", environment_id="")


def test_ids_are_single_path_segments():
    urls = ApimUrls.build(base_url="http://a", organization_id="o/../x", environment_id="e e")
    assert urls.v1 == "http://a/management/organizations/o%2F..%2Fx/environments/e%20e"
    assert segment("default-my-api_1") == "default-my-api_1"


def test_join_path_collapses_slashes_and_resolves_dots():
    assert join_path("http://h/a/", "/b//c/", "./d", "../e") == "http://h/a/b/c/e"
    assert join_path("http://h", "x") == "http://h/x"


def test_query_is_sorted_and_booleans_are_lowercase():
    url = with_query("http://h/p", {"hridContainsUUID": True, "dryRun": False})
    assert url == "http://h/p?dryRun=false&hridContainsUUID=true"
    assert with_query("http://h/p", None) == "http://h/p"
    assert with_query("http://h/p", {"crossId": "a b&c"}) == "http://h/p?crossId=a+b%26c"


def test_strip_userinfo():
    assert strip_userinfo("https://u:p@h:1/x?q=1") == "https://h:1/x?q=1"
    assert strip_userinfo("https://u@h/x") == "https://h/x"
    assert strip_userinfo("https://h/x") == "https://h/x"


@pytest.mark.parametrize(
    ("base_url", "says"),
    [
        (f"http://{'a' * 64}.example.com", "DNS label longer than 63 characters"),
        ("http://bad..host", "is not a valid host name"),
    ],
)
def test_a_host_no_client_can_reach_is_refused_with_the_reason(base_url, says):
    with pytest.raises(ValueError, match=says):
        ApimUrls.build(base_url=base_url, organization_id="DEFAULT", environment_id="DEFAULT")
