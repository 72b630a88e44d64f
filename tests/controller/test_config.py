import pytest

from controller.config import (
    LEADER_ELECTION_ID,
    Settings,
    SettingsError,
    operator_namespace,
    unimplemented_settings,
)


def test_defaults_match_upstream_binary_defaults():
    s = Settings.from_env({})
    assert s.namespaces == ()
    assert s.watches_all_namespaces
    assert s.enable_leader_election is False
    assert s.leader_election_id == LEADER_ELECTION_ID == "24d975d3.gravitee.io"
    assert s.max_concurrent_reconciles == 4
    assert s.enable_metrics is False
    assert s.metrics_port == 8080
    assert s.probes_port == 8081
    assert s.enable_templating is True
    assert s.enable_drift_detection is True
    assert s.reconcile_strategy == "onSpecChange"
    assert s.apply_crds is False
    assert s.http_client.timeout_seconds == 5.0
    assert s.webhook.service_port == 9443
    assert s.webhook.service_name == "gko-webhook"
    assert s.ingress.classes == ("graviteeio",)
    assert s.logs.format == "json"
    assert s.logs.level == "info"
    assert s.logs.level_case == "upper"
    assert s.logs.timestamp_field == "timestamp"


def test_values_are_read_from_upstream_names():
    s = Settings.from_env({
        "NAMESPACE": "team-a, team-b,,",
        "ENABLE_LEADER_ELECTION": "true",
        "MAX_CONCURRENT_RECONCILES": "1",
        "ENABLE_METRICS": "true",
        "METRICS_PORT": "0",
        "PROBES_PORT": "9000",
        "ENABLE_TEMPLATING": "false",
        "RECONCILE_STRATEGY": "always",
        "HTTP_CLIENT_TIMEOUT_SECONDS": "2.5",
        "LOGS_FORMAT": "console",
        "LOGS_LEVEL": "debug",
        "LOGS_LEVEL_CASE": "lower",
        "LOGS_TIMESTAMP_FORMAT": "epoch-millis",
        "POD_NAMESPACE": "gko",
        "INGRESS_CLASSES": "a,b",
        "INGRESS_GATEWAY_SERVICE": "gravitee/gateway",
    })
    assert s.namespaces == ("team-a", "team-b")
    assert s.enable_leader_election
    assert s.max_concurrent_reconciles == 1
    assert s.enable_metrics
    assert s.metrics_port == 0
    assert s.probes_port == 9000
    assert s.enable_templating is False
    assert s.reconcile_strategy == "always"
    assert s.http_client.timeout_seconds == 2.5
    assert (s.logs.format, s.logs.level, s.logs.level_case) == ("console", "debug", "lower")
    assert s.logs.timestamp_format == "epoch-millis"
    assert s.pod_namespace == "gko"
    assert s.ingress.classes == ("a", "b")
    assert s.ingress.gateway_service == "gravitee/gateway"


@pytest.mark.parametrize("value", ["gateway", "ns/", "/name", "a/b/c", "Bad_NS/gw"])
def test_ingress_gateway_service_must_be_namespace_slash_name(value: str):
    with pytest.raises(SettingsError, match="INGRESS_GATEWAY_SERVICE must be namespace/name"):
        Settings.from_env({"INGRESS_GATEWAY_SERVICE": value})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ENABLE_LEADER_ELECTION", "yes"),
        ("MAX_CONCURRENT_RECONCILES", "0"),
        ("MAX_CONCURRENT_RECONCILES", "four"),
        ("METRICS_PORT", "70000"),
        ("PROBES_PORT", "-1"),
        ("HTTP_CLIENT_TIMEOUT_SECONDS", "soon"),
        ("LOGS_FORMAT", "xml"),
        ("LOGS_LEVEL", "verbose"),
        ("LOGS_TIMESTAMP_FORMAT", "rfc822"),
        ("RECONCILE_STRATEGY", "sometimes"),
    ],
)
def test_malformed_values_are_a_start_up_error_naming_the_variable(name, value):
    with pytest.raises(SettingsError) as info:
        Settings.from_env({name: value})
    assert name in str(info.value)
    assert value in str(info.value)


def test_secure_metrics_and_its_cert_dir_are_read():
    settings = Settings.from_env({"SECURE_METRICS": "true", "METRICS_CERT_DIR": "/certs"})
    assert settings.secure_metrics is True
    assert settings.metrics_cert_dir == "/certs"
    assert Settings.from_env({}).secure_metrics is False


def test_proxy_password_never_appears_in_repr():
    s = Settings.from_env({"HTTP_CLIENT_PROXY_PASSWORD": "hunter2-secret"})
    assert s.http_client.proxy_password == "hunter2-secret"
    assert "hunter2-secret" not in repr(s)


def test_operator_namespace_prefers_pod_namespace_then_service_account_file(tmp_path):
    assert operator_namespace(Settings(pod_namespace="gko")) == "gko"
    sa_file = tmp_path / "namespace"
    sa_file.write_text("from-sa\n")
    assert operator_namespace(Settings(), service_account_namespace_file=str(sa_file)) == "from-sa"
    with pytest.raises(SettingsError, match="POD_NAMESPACE"):
        operator_namespace(Settings(), service_account_namespace_file=str(tmp_path / "missing"))


@pytest.mark.parametrize("value", ["bad,x y", "Team", "a_b", "-a", "a" * 64])
def test_namespace_values_that_are_not_namespace_names_are_refused(value):
    with pytest.raises(SettingsError, match="NAMESPACE must be a comma-separated list"):
        Settings.from_env({"NAMESPACE": value})


def test_unimplemented_settings_name_what_happens_instead():
    from controller.config import unimplemented_settings

    assert unimplemented_settings({}) == []
    assert unimplemented_settings({"ENABLE_INGRESS": "false",
                                   "ENABLE_DRIFT_DETECTION": "false"}) == []
    found = dict(unimplemented_settings({
        "ENABLE_INGRESS": "true", "ENABLE_WEBHOOK": "true", "ENABLE_DRIFT_DETECTION": "true",
        "DRIFT_DETECTION_INTERVAL": "5m", "GATEWAY_API_MATCH_ACROSS_ROUTES": "true",
    }))
    # ENABLE_WEBHOOK is implemented: never reported as ignored.
    assert set(found) == {"ENABLE_DRIFT_DETECTION",
                          "DRIFT_DETECTION_INTERVAL", "GATEWAY_API_MATCH_ACROSS_ROUTES"}


def test_webhook_settings_have_safe_defaults():
    webhook = Settings.from_env({}).webhook
    assert not webhook.enabled
    assert webhook.failure_policy == "Fail"
    assert not webhook.apim_dry_run
    assert webhook.timeout_seconds == 10  # min(HTTP_CLIENT_TIMEOUT_SECONDS + 5, 30)
    assert webhook.apim_dry_run_budget < webhook.timeout_seconds
    assert webhook.cert_dir == "/tmp/webhook-server/certs"
    # unique per install unless named explicitly
    assert webhook.validating_name("team-a") == "gko-validating-webhook-configurations-team-a"
    assert webhook.mutating_name("team-b") == "gko-mutating-webhook-configurations-team-b"


def test_webhook_settings_are_read_with_upstream_names():
    webhook = Settings.from_env({
        "ENABLE_WEBHOOK": "true", "WEBHOOK_NAMESPACE": "gko", "WEBHOOK_SERVICE_NAME": "hooks",
        "WEBHOOK_SERVICE_PORT": "9444", "WEBHOOK_CERT_SECRET_NAME": "gko-webhook-cert",
        "WEBHOOK_SELF_REGISTER_URL": "https://127.0.0.1:9444/", "WEBHOOK_FAILURE_POLICY": "ignore",
        "WEBHOOK_APIM_DRY_RUN": "true", "WEBHOOK_APIM_DRY_RUN_BUDGET_SECONDS": "1.5",
        "HTTP_CLIENT_TIMEOUT_SECONDS": "30",
        "WEBHOOK_VALIDATING_CONFIGURATION_NAME": "mine",
    }).webhook
    assert webhook.enabled
    assert webhook.namespace == "gko"
    assert webhook.service_name == "hooks"
    assert webhook.service_port == 9444
    assert webhook.cert_secret_name == "gko-webhook-cert"
    assert webhook.self_register_url == "https://127.0.0.1:9444"
    assert webhook.failure_policy == "Ignore"
    assert webhook.apim_dry_run
    assert webhook.apim_dry_run_budget == 1.5
    assert webhook.timeout_seconds == 30
    assert webhook.validating_name("gko") == "mine"


@pytest.mark.parametrize(("env", "named"), [
    ({"WEBHOOK_SELF_REGISTER_URL": "http://127.0.0.1:9443"}, "WEBHOOK_SELF_REGISTER_URL"),
    ({"WEBHOOK_SELF_REGISTER_URL": "https://127.0.0.1:9443/hooks"}, "WEBHOOK_SELF_REGISTER_URL"),
    ({"WEBHOOK_FAILURE_POLICY": "Sometimes"}, "WEBHOOK_FAILURE_POLICY"),
    ({"WEBHOOK_TIMEOUT_SECONDS": "31"}, "WEBHOOK_TIMEOUT_SECONDS"),
    ({"WEBHOOK_APIM_DRY_RUN_BUDGET_SECONDS": "10"}, "WEBHOOK_APIM_DRY_RUN_BUDGET_SECONDS"),
])
def test_webhook_settings_refuse_what_cannot_work(env, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)
def test_drift_settings_default_to_report_every_five_minutes_at_ten_calls_per_second():
    drift = Settings.from_env({}).drift
    assert (drift.policy, drift.check_interval, drift.check_rate) == ("report", 300.0, 10.0)


def test_drift_settings_are_read():
    drift = Settings.from_env(
        {"DRIFT_POLICY": "Repair", "DRIFT_CHECK_INTERVAL": "60", "DRIFT_CHECK_RATE": "2.5"}
    ).drift
    assert (drift.policy, drift.check_interval, drift.check_rate) == ("repair", 60.0, 2.5)


@pytest.mark.parametrize(
    ("name", "value"),
    [("DRIFT_POLICY", "fix"), ("DRIFT_CHECK_INTERVAL", "0"), ("DRIFT_CHECK_RATE", "-1")],
)
def test_bad_drift_settings_stop_start_up_naming_the_variable(name: str, value: str):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_our_drift_settings_are_not_reported_as_unimplemented():
    assert unimplemented_settings(
        {"DRIFT_POLICY": "repair", "DRIFT_CHECK_INTERVAL": "60", "DRIFT_CHECK_RATE": "1"}
    ) == []
