"""Metrics and logging set-up of a Serve replica: Ray's metrics API, JSON logs with Serve's request id.

Ray exports what is recorded here from every node's metrics port (``metrics``, 8080 in the cluster), with the
prefix ``ray_``; the PodMonitor in ``cluster/base/monitoring`` scrapes it. Serve adds the ``deployment``,
``replica`` and ``application`` labels itself. Besides Serve's own series (``ray_serve_*``: request counts and
latency per deployment, ``ray_serve_actual_batch_size``, ``ray_serve_deployment_queued_queries``...), each
model deployment records:

- ``rollcall_batch_size{stage}``: requests in each batch the model ran (the batching at work);
- ``rollcall_model_seconds{stage}``: time of the model call of one batch (ONNX Runtime, or the Milvus search);
- ``rollcall_replica_queue_depth``: requests inside this replica (waiting for a batch or running).

The Ingress and the Notifier record the series of ``app.core.metrics`` through Ray's API too (``RayBackend``),
and nothing else: their ``/metrics`` is this export, not a second copy.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import SecretStr

from app.core import metrics as app_metrics
from app.core.errors import Unavailable
from app.core.logging import configure_logging
from app.core.metrics import Spec
from app.core.setting_groups import LogOptions

BATCH_BUCKETS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
EXPORT_TIMEOUT_S = 3.0
MODEL_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def serve_request_id() -> str | None:
    """The id of the request this replica is serving (Serve propagates it through handle calls)."""
    from ray import serve

    return serve.context._get_serve_request_context().request_id or None


class _RayRecorder:
    """One ``app.core.metrics`` series in Ray's metrics API."""

    def __init__(self, spec: Spec) -> None:
        from ray.serve import metrics

        self._kind = spec.kind
        # Ray annotates tag_keys as Tuple[str] (one key), not Tuple[str, ...].
        tags: Any = spec.labels
        self._metric: Any
        if spec.kind == "counter":
            self._metric = metrics.Counter(spec.name, description=spec.documentation, tag_keys=tags)
        elif spec.kind == "gauge":
            self._metric = metrics.Gauge(spec.name, description=spec.documentation, tag_keys=tags)
        else:
            bounds = [
                float(b) for b in (spec.buckets or app_metrics.LATENCY_BUCKETS) if b > 0
            ]  # Ray: > 0 only
            self._metric = metrics.Histogram(
                spec.name, description=spec.documentation, boundaries=bounds, tag_keys=tags
            )
        self._gauges: dict[tuple[str, ...], float] = {}  # Ray's Gauge has no inc: this replica's values

    def inc(self, amount: float, labels: Mapping[str, str]) -> None:
        if self._kind == "gauge":
            key = tuple(labels.values())
            self._gauges[key] = self._gauges.get(key, 0.0) + amount
            self._metric.set(self._gauges[key], tags=dict(labels) or None)
        elif amount > 0:
            self._metric.inc(amount, tags=dict(labels) or None)

    def observe(self, value: float, labels: Mapping[str, str]) -> None:
        self._metric.observe(value, tags=dict(labels) or None)

    def set(self, value: float, labels: Mapping[str, str]) -> None:
        self._gauges[tuple(labels.values())] = value
        self._metric.set(value, tags=dict(labels) or None)


class RayBackend:
    """Ray's metrics API, for a Serve replica; ``/metrics`` answers what Ray exports from this replica's node
    (every replica there, and Serve's own ``ray_serve_*`` series): what the cluster's Prometheus scrapes."""

    def recorder(self, spec: Spec) -> app_metrics.Recorder:
        return _RayRecorder(spec)

    async def exposition(self) -> tuple[bytes, str]:
        import ray

        node = ray._private.worker.global_worker.node
        if node is None:  # not inside a Ray worker: nothing was exported
            raise Unavailable("this process is not a Ray worker", code="metrics_unavailable")
        url = f"http://{node.node_ip_address}:{node.metrics_export_port}/metrics"
        try:
            async with httpx.AsyncClient(timeout=EXPORT_TIMEOUT_S) as client:
                answer = await client.get(url)
                answer.raise_for_status()
        except httpx.HTTPError as exc:
            raise Unavailable("Ray's metrics export did not answer", code="metrics_unavailable") from exc
        return answer.content, answer.headers.get("content-type", CONTENT_TYPE_LATEST)


class ReplicaMetrics:
    """A model deployment's own series (see the module docstring)."""

    def __init__(self, stage: str) -> None:
        from ray.serve import metrics

        self._tags = {"stage": stage}
        self._batch = metrics.Histogram(
            "rollcall_batch_size",
            description="Requests in each batch a model deployment ran.",
            boundaries=list(BATCH_BUCKETS),
            tag_keys=("stage",),
        )
        self._seconds = metrics.Histogram(
            "rollcall_model_seconds",
            description="Time of one batch's model call (or one gallery search).",
            boundaries=list(MODEL_BUCKETS),
            tag_keys=("stage",),
        )
        self._queue = metrics.Gauge(
            "rollcall_replica_queue_depth",
            description="Requests inside this replica (waiting for a batch or running).",
            tag_keys=("stage",),
        )
        self._inside = 0

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        """Around one request: the replica's queue depth."""
        self._inside += 1
        self._queue.set(self._inside, tags=self._tags)
        try:
            yield
        finally:
            self._inside -= 1
            self._queue.set(self._inside, tags=self._tags)

    @contextlib.contextmanager
    def batch(self, size: int) -> Iterator[None]:
        """Around one batch's model call: its size and duration."""
        self._batch.observe(float(size), tags=self._tags)
        started = time.perf_counter()
        try:
            yield
        finally:
            self._seconds.observe(time.perf_counter() - started, tags=self._tags)


def setup_replica(logs: LogOptions, id_hash_key: SecretStr | None = None) -> None:
    """Once per replica: JSON logs with Serve's request id (only the Ingress and the Notifier pass the
    pseudonym key), and the app's series recorded through Ray's metrics."""
    app_metrics.use_backend(RayBackend())
    configure_logging(
        logs.level,
        json=logs.json_lines,
        id_hash_key=id_hash_key.get_secret_value() if id_hash_key is not None else None,
        request_id_fallback=serve_request_id,
    )
