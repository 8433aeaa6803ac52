"""The metrics of Rollcall's processes: every series defined once here, recorded through one backend.

Why one backend per process, never two: a Serve replica records through Ray's metrics API
(``deployments.metrics.RayBackend``), which Ray exports from each node's metrics port with the prefix
``ray_`` (``rollcall_http_requests_total`` here is ``ray_rollcall_http_requests_total`` there), for every
replica of the node: what the cluster's Prometheus scrapes, and what the Ingress's ``/metrics`` answers
under Serve.
A process outside Serve (a job, a test's app) keeps the default, prometheus-client, and ``/metrics`` answers
its own registry. docs/OBSERVABILITY.md lists the series.

Labels stay low-cardinality: route templates (never raw paths), kiosk ids (one per device), stage, channel.
No student id, name or image ever becomes a label.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client import Counter as _Counter
from prometheus_client import Gauge as _Gauge
from prometheus_client import Histogram as _Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0)
SCORE_BUCKETS = (-0.2, 0.0, 0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
log = logging.getLogger(__name__)
Kind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True, slots=True)
class Spec:
    """What one series is; a backend makes its recorder from this alone."""

    kind: Kind
    name: str
    documentation: str
    labels: tuple[str, ...] = ()
    buckets: Sequence[float] | None = None


class Recorder(Protocol):
    """One series in one metrics library; ``labels`` names a value for each of the spec's labels."""

    def inc(self, amount: float, labels: Mapping[str, str]) -> None: ...
    def observe(self, value: float, labels: Mapping[str, str]) -> None: ...
    def set(self, value: float, labels: Mapping[str, str]) -> None: ...


class Backend(Protocol):
    """Where a process's series go, and how ``/metrics`` reads them back."""

    def recorder(self, spec: Spec) -> Recorder: ...
    async def exposition(self) -> tuple[bytes, str]: ...


class _PrometheusRecorder:
    def __init__(self, spec: Spec, registry: CollectorRegistry) -> None:
        self._metric: Any
        if spec.kind == "counter":
            self._metric = _Counter(spec.name, spec.documentation, spec.labels, registry=registry)
        elif spec.kind == "gauge":
            self._metric = _Gauge(spec.name, spec.documentation, spec.labels, registry=registry)
        else:
            buckets = spec.buckets or LATENCY_BUCKETS
            self._metric = _Histogram(
                spec.name, spec.documentation, spec.labels, buckets=buckets, registry=registry
            )
        self._labelled = bool(spec.labels)

    def _child(self, labels: Mapping[str, str]) -> Any:
        return self._metric.labels(**labels) if self._labelled else self._metric

    def inc(self, amount: float, labels: Mapping[str, str]) -> None:
        self._child(labels).inc(amount)

    def observe(self, value: float, labels: Mapping[str, str]) -> None:
        self._child(labels).observe(value)

    def set(self, value: float, labels: Mapping[str, str]) -> None:
        self._child(labels).set(value)


class PrometheusBackend:
    """prometheus-client, one registry per process: the default outside Serve."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self._registry = registry
        self._made: dict[str, _PrometheusRecorder] = {}  # a registry takes each name once

    def recorder(self, spec: Spec) -> Recorder:
        if spec.name not in self._made:
            self._made[spec.name] = _PrometheusRecorder(spec, self._registry)
        return self._made[spec.name]

    async def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self._registry), CONTENT_TYPE_LATEST


_DEFAULT = PrometheusBackend()
_backend: Backend = _DEFAULT


def use_backend(backend: Backend | None) -> None:
    """Record every series through ``backend`` from now on (``None``: back to prometheus-client). Called once,
    when a Serve replica starts, before it records anything."""
    global _backend  # one per process, like prometheus-client's registry
    _backend = backend or _DEFAULT
    for series in _ALL:
        series._recorder = None


async def exposition() -> tuple[bytes, str]:
    """What ``/metrics`` answers: the text exposition format of the backend's series, and its content type."""
    return await _backend.exposition()


class _Labelled:
    __slots__ = ("_labels", "_series")

    def __init__(self, series: _Series, labels: dict[str, str]) -> None:
        self._series, self._labels = series, labels

    def inc(self, amount: float = 1.0) -> None:
        self._series._record("inc", amount, self._labels)

    def observe(self, value: float) -> None:
        self._series._record("observe", value, self._labels)

    def set(self, value: float) -> None:
        self._series._record("set", value, self._labels)


class _Series:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._recorder: Recorder | None = None
        _ALL.append(self)

    def labels(self, *values: str) -> _Labelled:
        return _Labelled(self, dict(zip(self.spec.labels, (str(value) for value in values), strict=True)))

    def inc(self, amount: float = 1.0) -> None:
        self._record("inc", amount, {})

    def observe(self, value: float) -> None:
        self._record("observe", value, {})

    def set(self, value: float) -> None:
        self._record("set", value, {})

    def _record(self, how: Literal["inc", "observe", "set"], value: float, labels: Mapping[str, str]) -> None:
        try:
            if self._recorder is None:
                self._recorder = _backend.recorder(self.spec)
            getattr(self._recorder, how)(value, labels)
        except Exception as exc:  # metrics must never fail a request
            log.warning("recording %s failed: %s", self.spec.name, type(exc).__name__)


_ALL: list[_Series] = []


def defined() -> tuple[Spec, ...]:
    """Every series this module defines (the monitoring tests check the alerts and dashboard against it)."""
    return tuple(series.spec for series in _ALL)


def Counter(name: str, documentation: str, labelnames: tuple[str, ...] = ()) -> _Series:
    return _Series(Spec("counter", name, documentation, labelnames))


def Gauge(name: str, documentation: str, labelnames: tuple[str, ...] = ()) -> _Series:
    return _Series(Spec("gauge", name, documentation, labelnames))


def Histogram(
    name: str, documentation: str, labelnames: tuple[str, ...] = (), buckets: Sequence[float] | None = None
) -> _Series:
    return _Series(Spec("histogram", name, documentation, labelnames, buckets))


# -- HTTP (every route, by its template) ------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "rollcall_http_requests",
    "Requests answered, by route template, method and status.",
    ("route", "method", "status"),
)
HTTP_SECONDS = Histogram(
    "rollcall_http_request_duration_seconds",
    "Time to answer a request, by route template.",
    ("route", "method"),
)
HTTP_IN_FLIGHT = Gauge(
    "rollcall_http_in_flight", "Requests being answered by this Ingress replica (queue depth)."
)

# -- the face pipeline, as the Ingress sees it (time in each stage, handle call included) ---------------
STAGE_SECONDS = Histogram(
    "rollcall_stage_duration_seconds",
    "Time of one pipeline stage called by the Ingress (detect, embed, burst, search, enroll, delete).",
    ("stage",),
)
MATCH_SCORE = Histogram(
    "rollcall_match_score",
    "Best cosine score of each face matched at check-in (identify/verify).",
    ("mode",),
    buckets=SCORE_BUCKETS,
)
CHECKIN_FACES = Counter(
    "rollcall_checkin_faces",
    "Faces decided at check-in, by kiosk and outcome (recorded, already_recorded, unknown, ...).",
    ("kiosk", "outcome"),
)
LIVENESS_REJECTIONS = Counter(
    "rollcall_liveness_rejections", "Check-ins refused by the liveness check, by kiosk.", ("kiosk",)
)

# -- security ---------------------------------------------------------------------------------------------
FAILED_LOGINS = Counter(
    "rollcall_failed_logins",
    "Refused sign-ins (wrong password or code, throttled, bad kiosk key), by reason.",
    ("reason",),
)

SIGN_IN_ALERTS = Counter(
    "rollcall_sign_in_alerts",
    "Accounts with many failed sign-ins from all addresses in a window (a distributed guess); none locked.",
)

# -- notifications ------------------------------------------------------------------------------------------
NOTIFICATIONS = Counter(
    "rollcall_notifications", "Delivery attempts by channel and result (sent, retry, dead, skipped).",
    ("channel", "result"),
)  # fmt: skip
NOTIFICATION_SECONDS = Histogram(
    "rollcall_notification_send_seconds", "Time to hand one message to its channel.", ("channel",)
)
NOTIFICATION_QUEUE = Gauge("rollcall_notification_queue", "Deliveries waiting (pending or being sent).")

# -- readiness ----------------------------------------------------------------------------------------------
READY = Gauge(
    "rollcall_dependency_up", "1 when the dependency answered the last /ready check.", ("dependency",)
)


# -- outcomes, recorded by the services where they happen -------------------------------------------------


def sign_in_refused(reason: str) -> None:
    """A wrong password or code, a throttled try, or a bad kiosk key (``reason``: the error code)."""
    FAILED_LOGINS.labels(reason).inc()


def sign_in_alert() -> None:
    SIGN_IN_ALERTS.inc()


def liveness_refused(kiosk: str) -> None:
    LIVENESS_REJECTIONS.labels(kiosk).inc()


def checkin_faces(kiosk: str, mode: str, decided: Sequence[tuple[str, float | None]]) -> None:
    """One answered face check-in: each face's outcome and, when it was matched, its score."""
    for outcome, score in decided:
        CHECKIN_FACES.labels(kiosk, outcome).inc()
        if score is not None:
            MATCH_SCORE.labels(mode).observe(score)
