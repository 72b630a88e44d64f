"""deploy/grafana/gravitee-operator.json: well-formed, and every query reads a metric we expose.

The metric catalogue comes from the operator itself: the families in ``render_metrics()`` (which
lists every declared collector, with or without samples) and the label names of the collectors
registered in ``controller.metrics.REGISTRY``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from controller import metrics
from tests.deploy.rendering import DEPLOY

DASHBOARD = DEPLOY / "grafana" / "gravitee-operator.json"

_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
    "gauge": ("",),
    "info": ("_info",),
}

#: Labels Prometheus attaches to every scraped series (kubernetes_sd / ServiceMonitor).
_TARGET_LABELS = {"job", "instance", "namespace", "pod", "service", "container", "endpoint"}

_PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "by", "without", "rate", "irate", "increase",
    "histogram_quantile", "topk", "bottomk", "abs", "clamp_min", "on", "ignoring",
    "group_left", "group_right", "and", "or", "unless", "offset", "delta", "deriv",
}

_BUILTIN_VARIABLES = {"__rate_interval", "__interval", "__range"}


def _series_catalogue() -> dict[str, set[str]]:
    """Series name -> label names it may carry."""
    labels_by_family: dict[str, set[str]] = {}
    for collector in list(metrics.REGISTRY._collector_to_names):
        names = getattr(collector, "_labelnames", None)
        family = getattr(collector, "_name", None)
        if names is not None and family is not None:
            labels_by_family[family] = set(names)
    catalogue: dict[str, set[str]] = {}
    text = metrics.render_metrics().decode("utf-8")
    for family in text_string_to_metric_families(text):
        labels = labels_by_family.get(family.name, set())
        labels |= {key for sample in family.samples for key in sample.labels}
        for suffix in _SUFFIXES[family.type]:
            series_labels = labels | {"le"} if suffix == "_bucket" else labels
            catalogue[family.name + suffix] = series_labels
    return catalogue


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def _queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in _panels(dashboard)
        for target in panel.get("targets", [])
    ]


def _parse(expr: str) -> tuple[set[str], list[tuple[str, set[str]]], set[str]]:
    """(metric names, [(metric, labels in its selector)], grouping labels) of a PromQL query.

    Enough PromQL for our dashboard: selectors, ranges, aggregations with `by`, functions.
    """
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    selectors = []
    for match in re.finditer(r"([A-Za-z_:][\w:]*)\s*\{([^}]*)\}", text):
        labels = set(re.findall(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)", match.group(2)))
        selectors.append((match.group(1), labels))
    grouping = set()
    for match in re.finditer(r"\b(?:by|without)\s*\(([^)]*)\)", text):
        grouping |= {label.strip() for label in match.group(1).split(",") if label.strip()}
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\w+", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][\w:]*", text):
        word = match.group(0)
        following = text[match.end():].lstrip()
        if word in _PROMQL_WORDS or following.startswith("("):
            continue
        names.add(word)
    return names, selectors, grouping


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def catalogue() -> dict[str, set[str]]:
    return _series_catalogue()


def test_the_parser_sees_metrics_labels_and_grouping() -> None:
    names, selectors, grouping = _parse(
        'histogram_quantile(0.99, sum by (controller, le) (rate('
        'workqueue_queue_duration_seconds_bucket{job=~"$job", name!="x{y}"}[$__rate_interval])))'
    )
    assert names == {"workqueue_queue_duration_seconds_bucket"}
    assert selectors == [("workqueue_queue_duration_seconds_bucket", {"job", "name"})]
    assert grouping == {"controller", "le"}


def test_the_catalogue_knows_the_controller_runtime_series(catalogue: dict[str, set[str]]) -> None:
    assert catalogue["controller_runtime_reconcile_total"] >= {"controller", "result"}
    assert "le" in catalogue["controller_runtime_reconcile_time_seconds_bucket"]
    assert catalogue["rest_client_requests_total"] >= {"code", "method", "host"}
    assert "controller_runtime_reconcile" not in catalogue


def test_every_query_reads_series_the_operator_exposes(
    dashboard: dict[str, Any], catalogue: dict[str, set[str]]
) -> None:
    queries = _queries(dashboard)
    assert queries
    for title, expr in queries:
        names, selectors, grouping = _parse(expr)
        assert names, (title, expr)
        unknown = names - set(catalogue)
        assert not unknown, f"{title}: {sorted(unknown)} is not exposed by controller.metrics"
        for name, labels in selectors:
            extra = labels - catalogue[name] - _TARGET_LABELS
            assert not extra, f"{title}: {name} has no label {sorted(extra)}"
        available = set().union(*(catalogue[name] for name in names)) | _TARGET_LABELS
        assert grouping <= available, f"{title}: cannot group by {sorted(grouping - available)}"


def test_the_required_views_are_there(dashboard: dict[str, Any]) -> None:
    exprs = [expr for _, expr in _queries(dashboard)]
    used = set().union(*(_parse(expr)[0] for expr in exprs))
    assert used >= {
        "controller_runtime_reconcile_total",
        "controller_runtime_reconcile_errors_total",
        "controller_runtime_reconcile_time_seconds_bucket",
        "workqueue_depth",
        "workqueue_queue_duration_seconds_bucket",
        "rest_client_requests_total",
        "apim_client_requests_total",
        "apim_client_request_duration_seconds_bucket",
        "leader_election_master_status",
        "gravitee_operator_not_accepted_objects",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
    }
    for quantile in ("0.50", "0.99"):
        for series in ("controller_runtime_reconcile_time_seconds_bucket",
                       "workqueue_queue_duration_seconds_bucket"):
            assert any(
                expr.startswith(f"histogram_quantile({quantile},") and series in expr
                for expr in exprs
            ), (quantile, series)
    reconcile_rate = [e for e in exprs if "controller_runtime_reconcile_total" in e]
    assert any("by (controller, result)" in e for e in reconcile_rate)
    for quantile in ("0.50", "0.99"):
        assert any(
            expr.startswith(f"histogram_quantile({quantile},")
            and "apim_client_request_duration_seconds_bucket" in expr
            for expr in exprs
        ), quantile
    apim = [e for e in exprs if "apim_client_requests_total" in e]
    assert any("by (host, code)" in e for e in apim)
    not_accepted = [e for e in exprs if "gravitee_operator_not_accepted_objects" in e]
    assert any("by (kind, reason)" in e for e in not_accepted)


def test_every_panel_uses_the_datasource_variable(dashboard: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in _panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"]
    for variable in variables.values():
        if variable["type"] == "query":
            assert variable["datasource"]["uid"] == "${datasource}"


def test_every_referenced_variable_is_defined(dashboard: dict[str, Any]) -> None:
    defined = {v["name"] for v in dashboard["templating"]["list"]} | _BUILTIN_VARIABLES
    text = json.dumps(dashboard)
    referenced = set(re.findall(r"\$\{?(\w+)", text))
    assert referenced <= defined, sorted(referenced - defined)


def test_the_layout_is_a_valid_grid(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "gravitee-operator-py"
    panels = _panels(dashboard)
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0
        assert grid["x"] + grid["w"] <= 24
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps another panel"
                cells.add((x, y))
        assert panel["title"]
        refs = [t["refId"] for t in panel.get("targets", [])]
        assert len(refs) == len(set(refs))
