"""Offline checks of the Prometheus Operator objects (PodMonitor, PrometheusRule) in the rendered manifests.

No CRD for ``monitoring.coreos.com`` is available offline, so the validation suite checks their structure
here (``cluster.validate.check_schemas`` hands these kinds over): the fields we use and nothing misspelt at
the levels we write, rules with an expression and either ``alert`` or ``record``, a severity and a summary on
every alert, durations Prometheus accepts, and that the PodMonitor selects the Ray pods on a port they name.
PromQL itself is not parsed (no Prometheus here); tests/cluster/test_monitoring.py checks that every series an
expression names is one the application or Ray exports.
"""

from __future__ import annotations

import re
from typing import Any

from cluster.manifests import containers, pod_templates

API_VERSION = "monitoring.coreos.com/v1"
KINDS = frozenset({(API_VERSION, "PodMonitor"), (API_VERSION, "PrometheusRule")})
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
SEVERITIES = frozenset({"critical", "warning", "info"})
_TOP = {"apiVersion", "kind", "metadata", "spec"}
_POD_MONITOR_SPEC = {"selector", "podMetricsEndpoints", "namespaceSelector", "jobLabel", "podTargetLabels"}
_ENDPOINT = {"port", "path", "interval", "scrapeTimeout", "relabelings", "metricRelabelings", "scheme"}
_RULE_GROUP = {"name", "rules", "interval"}
_RULE = {"alert", "record", "expr", "for", "labels", "annotations", "keep_firing_for"}


def _unknown(where: str, found: dict[str, Any], allowed: set[str]) -> list[str]:
    extra = sorted(set(found) - allowed)
    return [f"{where}: unknown field(s) {extra}"] if extra else []


def object_problems(doc: dict[str, Any]) -> list[str]:
    """What is wrong with one PodMonitor or PrometheusRule (strings; empty when it is fine)."""
    problems = _unknown("", doc, _TOP)
    spec = doc.get("spec") or {}
    if doc.get("kind") == "PodMonitor":
        problems += _unknown("spec", spec, _POD_MONITOR_SPEC)
        if not (spec.get("selector") or {}).get("matchLabels"):
            problems.append("spec.selector.matchLabels: required (never scrape every pod)")
        endpoints = spec.get("podMetricsEndpoints") or []
        if not endpoints:
            problems.append("spec.podMetricsEndpoints: at least one")
        for i, endpoint in enumerate(endpoints):
            where = f"spec.podMetricsEndpoints[{i}]"
            problems += _unknown(where, endpoint, _ENDPOINT)
            if not endpoint.get("port"):
                problems.append(f"{where}.port: name the container port")
            for field in ("interval", "scrapeTimeout"):
                if field in endpoint and not DURATION.match(str(endpoint[field])):
                    problems.append(f"{where}.{field}: {endpoint[field]!r} is not a duration")
        return problems
    problems += _unknown("spec", spec, {"groups"})
    names = set()
    for g, group in enumerate(spec.get("groups") or []):
        where = f"spec.groups[{g}]"
        problems += _unknown(where, group, _RULE_GROUP)
        if group.get("name") in names:
            problems.append(f"{where}.name: duplicate {group.get('name')!r}")
        names.add(group.get("name"))
        for r, rule in enumerate(group.get("rules") or []):
            at = f"{where}.rules[{r}]"
            problems += _unknown(at, rule, _RULE)
            if bool(rule.get("alert")) == bool(rule.get("record")):
                problems.append(f"{at}: exactly one of alert and record")
            if not str(rule.get("expr", "")).strip():
                problems.append(f"{at}.expr: required")
            if "for" in rule and not DURATION.match(str(rule["for"])):
                problems.append(f"{at}.for: {rule['for']!r} is not a duration")
            if rule.get("alert"):
                if (rule.get("labels") or {}).get("severity") not in SEVERITIES:
                    problems.append(f"{at}.labels.severity: one of {sorted(SEVERITIES)}")
                if not (rule.get("annotations") or {}).get("summary"):
                    problems.append(f"{at}.annotations.summary: required")
                for key, value in {**(rule.get("labels") or {}), **(rule.get("annotations") or {})}.items():
                    if not isinstance(value, str):
                        problems.append(f"{at}: label/annotation {key} must be a string")
    return problems


def selection_problems(docs: list[dict[str, Any]]) -> list[str]:
    """Each PodMonitor selects some pod template, and those pods name the port it scrapes."""
    problems = []
    templates = list(pod_templates(docs))
    for doc in docs:
        if (doc.get("apiVersion"), doc.get("kind")) != (API_VERSION, "PodMonitor"):
            continue
        wanted = (doc["spec"].get("selector") or {}).get("matchLabels") or {}
        chosen = [t for t in templates if wanted.items() <= (t.labels or {}).items()]
        if not chosen:
            problems.append(f"PodMonitor {doc['metadata']['name']}: selects no pod ({wanted})")
        for endpoint in doc["spec"].get("podMetricsEndpoints") or []:
            for template in chosen:
                ports = {p.get("name") for _, c in containers(template) for p in c.get("ports") or []}
                if endpoint.get("port") not in ports:
                    problems.append(
                        f"PodMonitor {doc['metadata']['name']}: pods of {template.owner['metadata']['name']} "
                        f"have no port named {endpoint.get('port')!r}"
                    )
    return problems
