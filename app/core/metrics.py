"""Prometheus metrics of the Ingress process (prometheus-client), served at ``/metrics``.

One registry per process (each Serve replica is a process). Under Ray Serve the Ingress also mirrors every
series into Ray's metrics (``deployments.metrics.install_ray_mirror``), which Ray exports from each node's
metrics port with the prefix ``ray_`` (``rollcall_http_requests_total`` here is
``ray_rollcall_http_requests_total`` there): that is what the cluster's Prometheus scrapes (all replicas),
while ``/metrics`` shows the one replica that answered (local runs, tests). docs/OBSERVABILITY.md lists them.

Labels stay low-cardinality: route templates (never raw paths), kiosk ids (one per device), stage, channel.
No student id, name or image ever becomes a label.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client import Counter as _Counter
from prometheus_client import Gauge as _Gauge
from prometheus_client import Histogram as _Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0)
log = logging.getLogger(__name__)
SCORE_BUCKETS = (-0.2, 0.0, 0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


class MirrorMetric(Protocol):
    def record(self, value: float, labels: dict[str, str]) -> None: ...


#: (kind, name, documentation, label names, buckets) -> a mirror; set by install_mirror.
MirrorFactory = Callable[[str, str, str, tuple[str, ...], Sequence[float] | None], MirrorMetric]
_mirror_factory: MirrorFactory | None = None
_ALL: list[_Metric] = []


def install_mirror(factory: MirrorFactory | None) -> None:
    """Also record every series through ``factory``'s metrics (Ray's, in a Serve replica)."""
    global _mirror_factory  # one per process, like the registry
    _mirror_factory = factory
    for metric in _ALL:
        metric._mirror = None


class _Bound:
    __slots__ = ("_child", "_labels", "_metric")

    def __init__(self, metric: _Metric, child: Any, labels: dict[str, str]) -> None:
        self._metric, self._child, self._labels = metric, child, labels

    def inc(self, amount: float = 1.0) -> None:
        self._child.inc(amount)
        if self._metric.kind == "gauge":  # the mirror is set to the gauge's new value, not the step
            self._metric._mirrored(self._child._value.get(), self._labels)
        else:
            self._metric._mirrored(amount, self._labels)

    def observe(self, value: float) -> None:
        self._child.observe(value)
        self._metric._mirrored(value, self._labels)

    def set(self, value: float) -> None:
        self._child.set(value)
        self._metric._mirrored(value, self._labels)


class _Metric:
    def __init__(
        self,
        kind: str,
        name: str,
        documentation: str,
        labelnames: tuple[str, ...] = (),
        buckets: Sequence[float] | None = None,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self.kind, self.name, self.documentation = kind, name, documentation
        self.labelnames, self.buckets = labelnames, buckets
        self._mirror: MirrorMetric | None = None
        if kind == "counter":
            self._prom: Any = _Counter(name, documentation, labelnames, registry=registry)
        elif kind == "gauge":
            self._prom = _Gauge(name, documentation, labelnames, registry=registry)
        else:
            self._prom = _Histogram(
                name, documentation, labelnames, buckets=buckets or LATENCY_BUCKETS, registry=registry
            )
        _ALL.append(self)

    def labels(self, *values: str) -> _Bound:
        texts = [str(value) for value in values]
        return _Bound(self, self._prom.labels(*texts), dict(zip(self.labelnames, texts, strict=True)))

    def inc(self, amount: float = 1.0) -> None:
        _Bound(self, self._prom, {}).inc(amount)

    def observe(self, value: float) -> None:
        _Bound(self, self._prom, {}).observe(value)

    def set(self, value: float) -> None:
        _Bound(self, self._prom, {}).set(value)

    def _mirrored(self, value: float, labels: dict[str, str]) -> None:
        if _mirror_factory is None:
            return
        try:
            if self._mirror is None:
                self._mirror = _mirror_factory(
                    self.kind, self.name, self.documentation, self.labelnames, self.buckets
                )
            self._mirror.record(value, labels)
        except Exception as exc:  # metrics must never fail a request; /metrics still has the series
            log.warning("mirroring %s failed: %s", self.name, type(exc).__name__)


def Counter(name: str, documentation: str, labelnames: tuple[str, ...] = ()) -> _Metric:
    return _Metric("counter", name, documentation, labelnames)


def Gauge(name: str, documentation: str, labelnames: tuple[str, ...] = ()) -> _Metric:
    return _Metric("gauge", name, documentation, labelnames)


def Histogram(
    name: str, documentation: str, labelnames: tuple[str, ...] = (), buckets: Sequence[float] | None = None
) -> _Metric:
    return _Metric("histogram", name, documentation, labelnames, buckets)


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
    "Time of one pipeline stage called by the Ingress (decode, detect, embed, liveness, search, record).",
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
    "Refused sign-ins (wrong password or code, locked account, bad kiosk key), by reason.",
    ("reason",),
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
    """A wrong password or code, a locked account, or a bad kiosk key (``reason``: the error code)."""
    FAILED_LOGINS.labels(reason).inc()


def liveness_refused(kiosk: str) -> None:
    LIVENESS_REJECTIONS.labels(kiosk).inc()


def checkin_faces(kiosk: str, mode: str, decided: Sequence[tuple[str, float | None]]) -> None:
    """One answered face check-in: each face's outcome and, when it was matched, its score."""
    for outcome, score in decided:
        CHECKIN_FACES.labels(kiosk, outcome).inc()
        if score is not None:
            MATCH_SCORE.labels(mode).observe(score)


def exposition(registry: CollectorRegistry = REGISTRY) -> tuple[bytes, str]:
    """The text exposition format of ``registry`` and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST
