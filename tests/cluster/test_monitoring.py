"""Monitoring objects (PodMonitor, PrometheusRule) and the Grafana dashboard, offline: structure, what they
select, and that every series they query is one the application or Ray exports."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from app.core import metrics as app_metrics
from cluster import monitoring, validate
from tests.cluster.conftest import find
from tests.conftest import REPO_ROOT

DASHBOARD = REPO_ROOT / "docs" / "grafana" / "rollcall.json"
#: Series of the model deployments (deployments/metrics.py, Ray's metrics API) and Serve's own we query.
DEPLOYMENT_SERIES = {"rollcall_batch_size": "histogram", "rollcall_model_seconds": "histogram",
                     "rollcall_replica_queue_depth": "gauge"}  # fmt: skip
SERVE_SERIES = {"ray_serve_deployment_replica_healthy", "ray_serve_deployment_queued_queries"}
SERIES = re.compile(r"\b((?:ray_)?rollcall_[a-z_]+|ray_serve_[a-z_]+)\b")


def exported() -> set[str]:
    """Every series name Prometheus can see: through Ray (prefix ray_), and a process outside Serve's own."""
    kinds = {spec.name: spec.kind for spec in app_metrics.defined()}
    names: set[str] = set(SERVE_SERIES)
    for name, kind in {**kinds, **DEPLOYMENT_SERIES}.items():
        suffixes = {"counter": ["_total"], "gauge": [""], "histogram": ["_bucket", "_count", "_sum"]}[kind]
        for suffix in suffixes:
            if name in kinds:
                names.add(name + suffix)  # a process outside Serve (prometheus-client)
            names.add("ray_" + name + suffix)  # through Ray's metrics port
    return names


def test_prod_renders_the_monitoring_objects_and_dev_does_not(rendered) -> None:
    for overlay in ("prod", "prod-gpu"):
        docs = rendered[overlay]
        monitor, rule = find(docs, "PodMonitor", "rollcall-ray"), find(docs, "PrometheusRule", "rollcall")
        assert monitor["metadata"]["namespace"] == rule["metadata"]["namespace"] == "rollcall"
        assert monitoring.object_problems(monitor) == monitoring.object_problems(rule) == []
        assert monitoring.selection_problems(docs) == []
    assert not [d for d in rendered["dev"] if d["apiVersion"] == monitoring.API_VERSION]


def test_the_alerts_the_issue_asks_for(rendered) -> None:
    rule = find(rendered["prod"], "PrometheusRule", "rollcall")
    alerts = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r}
    for name in (
        "RollcallHighErrorRate",
        "RollcallCheckinLatencyHigh",
        "RollcallFailedSignInSpike",
        "RollcallUnknownFaceSpike",
    ):
        assert name in alerts, name
    assert 'status=~"5.."' in alerts["RollcallHighErrorRate"]["expr"]
    assert 'outcome="unknown"' in alerts["RollcallUnknownFaceSpike"]["expr"]


def test_every_queried_series_is_exported(rendered) -> None:
    known = exported()
    rule = find(rendered["prod"], "PrometheusRule", "rollcall")
    rule_series = {s for g in rule["spec"]["groups"] for r in g["rules"] for s in SERIES.findall(r["expr"])}
    assert rule_series and rule_series <= known, rule_series - known
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 15
    for prefix in ("ray_", ""):  # the cluster, and a local scrape of /metrics
        found = {s for e in exprs for s in SERIES.findall(e.replace("${prefix}", prefix))}
        local_only = {s for s in found if not s.startswith("ray_")}
        assert local_only <= known, local_only - known
        assert {s for s in found if s.startswith("ray_")} <= known


def test_the_dashboard_is_a_grafana_dashboard() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] == "rollcall-overview" and dashboard["schemaVersion"] >= 30
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "prefix", "kiosk"} <= variables
    titles = " ".join(panel["title"].lower() for panel in dashboard["panels"])
    for topic in (
        "latency",
        "stage",
        "batch",
        "queue",
        "match score",
        "liveness",
        "unknown-face",
        "sign-ins",
    ):
        assert topic in titles, topic
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["targets"] and panel["datasource"]["uid"] == "${datasource}", panel["title"]


def _planted(docs: list[dict[str, Any]], kind: str, change) -> list[str]:
    docs = copy.deepcopy(docs)
    change(find(docs, kind))
    return [str(p) for p in validate.validate_documents(docs) if p.check.startswith(("schema", "monitoring"))]


@pytest.mark.parametrize(
    ("kind", "change", "expected"),
    [
        ("PrometheusRule", lambda d: d["spec"]["groups"][0]["rules"][0].update(fro="5m"), "unknown field"),
        (
            "PrometheusRule",
            lambda d: d["spec"]["groups"][0]["rules"][0]["labels"].pop("severity"),
            "severity",
        ),
        (
            "PrometheusRule",
            lambda d: d["spec"]["groups"][0]["rules"][0].update({"for": "10 minutes"}),
            "duration",
        ),
        ("PrometheusRule", lambda d: d["spec"]["groups"][0]["rules"][0].pop("expr"), "expr"),
        ("PodMonitor", lambda d: d["spec"]["podMetricsEndpoints"][0].update(port="metrix"), "no port named"),
        (
            "PodMonitor",
            lambda d: d["spec"]["selector"]["matchLabels"].update(app="nothing"),
            "selects no pod",
        ),
        ("PodMonitor", lambda d: d["spec"].update(podMetricEndpoints=[]), "unknown field"),
    ],
)
def test_planted_mistakes_are_caught(rendered, kind, change, expected) -> None:
    problems = _planted(rendered["prod"], kind, change)
    assert any(expected in problem for problem in problems), problems
