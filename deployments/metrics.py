"""Metrics and logging set-up of a Serve replica: Ray's metrics API, JSON logs with Serve's request id.

Ray exports what is recorded here from every node's metrics port (``metrics``, 8080 in the cluster), with the
prefix ``ray_``; the PodMonitor in ``cluster/base/monitoring`` scrapes it. Serve adds the ``deployment``,
``replica`` and ``application`` labels itself. Besides Serve's own series (``ray_serve_*``: request counts and
latency per deployment, ``ray_serve_actual_batch_size``, ``ray_serve_deployment_queued_queries``...), each
model deployment records:

- ``rollcall_batch_size{stage}``: requests in each batch the model ran (the batching at work);
- ``rollcall_model_seconds{stage}``: time of the model call of one batch (ONNX Runtime, or the Milvus search);
- ``rollcall_replica_queue_depth``: requests inside this replica (waiting for a batch or running).

The Ingress mirrors every series of ``app.core.metrics`` into Ray's as well (``install_ray_mirror``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import SecretStr

from app.core import metrics as app_metrics
from app.core.logging import configure_logging
from app.core.setting_groups import LogOptions

BATCH_BUCKETS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
MODEL_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def serve_request_id() -> str | None:
    """The id of the request this replica is serving (Serve propagates it through handle calls)."""
    from ray import serve

    return serve.context._get_serve_request_context().request_id or None


class _RayMetric:
    """One ``app.core.metrics`` series recorded through Ray's metrics API too."""

    def __init__(
        self,
        kind: str,
        name: str,
        documentation: str,
        labels: tuple[str, ...],
        buckets: Sequence[float] | None,
    ) -> None:
        from ray.serve import metrics

        self.kind = kind
        # a Counter, Gauge or Histogram: ``record`` calls the method of its ``kind``. Ray annotates tag_keys
        # as Tuple[str] (one key), not Tuple[str, ...].
        self._metric: Any
        if kind == "counter":
            self._metric = metrics.Counter(name, description=documentation, tag_keys=labels)  # type: ignore[arg-type]
        elif kind == "gauge":
            self._metric = metrics.Gauge(name, description=documentation, tag_keys=labels)  # type: ignore[arg-type]
        else:
            bounds = [
                float(b) for b in (buckets or app_metrics.LATENCY_BUCKETS) if b > 0
            ]  # Ray: positive only
            self._metric = metrics.Histogram(
                name,
                description=documentation,
                boundaries=bounds,
                tag_keys=labels,  # type: ignore[arg-type]
            )

    def record(self, value: float, labels: dict[str, str]) -> None:
        tags = labels or None
        if self.kind == "counter":
            if value > 0:
                self._metric.inc(value, tags=tags)
        elif self.kind == "gauge":
            self._metric.set(value, tags=tags)
        else:
            self._metric.observe(value, tags=tags)


def install_ray_mirror() -> None:
    app_metrics.install_mirror(_RayMetric)


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
    """Once per replica: JSON logs with Serve's request id; only the Ingress passes the pseudonym key."""
    configure_logging(
        logs.level,
        json=logs.json_lines,
        id_hash_key=id_hash_key.get_secret_value() if id_hash_key is not None else None,
        request_id_fallback=serve_request_id,
    )
