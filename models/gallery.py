"""Enrolled face vectors in Milvus: add, delete and search within one gallery (a school or class partition).

Pure code over ``pymilvus.MilvusClient`` (no app, no Ray), so the same class serves the Matcher deployment,
``models/eval`` and a notebook, against Milvus Lite (a ``*.db`` path, in-process) or a Milvus server
(``http://host:19530``); the URI alone picks which.

Choices, and why:
- One collection per embedding model version (named after ``model_id``): vectors of two models never share an
  index, and a new model means a new collection filled by re-embedding, not mixed results.
- ``gallery`` is the partition key, so a search only scans that school and galleries stay isolated. A class
  is a filter on the labels of its roster within it (``search(labels=...)``), not a partition of its own:
  a student is in several classes, and a partition per class would store their vectors once per class and
  have to follow every roster change.
- COSINE over an HNSW index: the embedder's vectors are unit length, so this is the cosine similarity the
  thresholds were chosen on, and HNSW stays fast at tens of thousands of faces per collection.
- ``Session`` consistency: a client reads its own inserts (enroll, then identify at once) without paying
  ``Strong``'s ~200 ms a search on the server. Deletes are made visible explicitly (see ``delete``).
- Gallery and label go into filter expressions, so they are validated against a strict pattern that cannot
  carry quotes, spaces or operators: no filter injection, whatever a client sends.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from pymilvus import DataType, MilvusClient, MilvusException

log = logging.getLogger(__name__)

#: What a gallery or label may look like: it is quoted into Milvus filter expressions.
NAME_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
NAME_RULE = "1-128 characters from A-Z a-z 0-9 _ . : -"

_MAX_LENGTH = 128
_MODEL_MAX_LENGTH = 256
# Milvus caps query results at 16384 rows a call; a label (one student) has a handful of vectors.
_QUERY_LIMIT = 16384
_T = TypeVar("_T")
# pymilvus pings every 10 s even when idle; gRPC servers (Milvus Lite's, Milvus' own) answer idle pings
# that frequent with GOAWAY "too_many_pings" after ~30 s and drop the connection (measured), so the next
# search pays a reconnect. Ping only while a call is in flight, and rarely.
_GRPC_OPTIONS = {"grpc.keepalive_time_ms": 60_000, "grpc.keepalive_permit_without_calls": False}


class GalleryError(Exception):
    """Base of what the gallery raises; ``code`` is stable and machine-readable."""

    code = "gallery_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidNameError(GalleryError, ValueError):
    """A gallery or label that does not match ``NAME_PATTERN`` (the caller's mistake, not the store's)."""

    def __init__(self, field: str, value: str) -> None:
        shown = value if len(value) <= 64 else value[:61] + "..."
        super().__init__(f"invalid {field} {shown!r}: use {NAME_RULE}")
        self.code = f"invalid_{field}"
        self.field = field
        self.value = value

    def __reduce__(self) -> tuple[type[InvalidNameError], tuple[str, str]]:
        # Errors cross process boundaries (Ray pickles them); rebuild from the constructor's own arguments.
        return (type(self), (self.field, self.value))


class InvalidVectorsError(GalleryError, ValueError):
    """Vectors of the wrong shape or with NaN/inf: a programming error upstream, refused before storage."""

    code = "invalid_vectors"


class GalleryUnavailableError(GalleryError):
    """Milvus cannot be reached or failed the request; retrying later may succeed."""

    code = "gallery_unavailable"


@dataclass(frozen=True, slots=True)
class Match:
    """The best match of one query vector: ``label`` is None when nobody reaches the threshold.

    ``score`` is the best cosine similarity seen (None when the gallery is empty), reported even for an
    unknown face so callers can log how close it came; ``hits`` counts the label's vectors among the top-k.
    """

    label: str | None
    score: float | None
    hits: int = 0

    @property
    def known(self) -> bool:
        return self.label is not None


def validate_name(value: str, field: str) -> str:
    """Return ``value`` if it is a safe gallery/label name, else raise ``InvalidNameError``."""
    if not isinstance(value, str) or NAME_PATTERN.fullmatch(value) is None:
        raise InvalidNameError(field, str(value))
    return value


def collection_name(model_id: str) -> str:
    """A valid Milvus collection name for ``model_id``: readable prefix plus a hash so "a.b" != "a_b"."""
    readable = re.sub(r"[^A-Za-z0-9_]", "_", model_id)[:96]
    digest = hashlib.sha256(model_id.encode()).hexdigest()[:8]
    return f"faces_{readable}_{digest}"


def aggregate(hits: Sequence[tuple[str, float]], threshold: float) -> Match:
    """Best label among ``(label, similarity)`` hits: a label scores its best hit; more hits break ties."""
    best: dict[str, tuple[float, int]] = {}
    for label, score in hits:
        top, count = best.get(label, (float("-inf"), 0))
        best[label] = (max(top, score), count + 1)
    if not best:
        return Match(label=None, score=None)
    label, (score, count) = max(best.items(), key=lambda item: item[1])
    if score >= threshold:
        return Match(label=label, score=score, hits=count)
    return Match(label=None, score=score)


class FaceGallery:
    """Face vectors of one embedding model, partitioned by gallery. Thread-safe; connects lazily.

    The connection is made on first use and dropped after a failure, so a Milvus server that was down at
    start-up or restarted since is picked up again (its collection reloaded) without restarting the caller.
    """

    def __init__(
        self,
        uri: str,
        model_id: str,
        dim: int,
        *,
        token: str = "",
        timeout_s: float = 10.0,
        hnsw_m: int = 16,
        hnsw_ef_construction: int = 200,
        search_ef: int = 64,
        delete_visible_timeout_s: float = 10.0,
    ) -> None:
        if dim <= 0:
            raise ValueError(f"dim must be positive, got {dim}")
        self.uri = uri
        self.model_id = model_id
        self.dim = dim
        self.collection = collection_name(model_id)
        self._token = token
        self._timeout_s = timeout_s
        self._hnsw = {"M": hnsw_m, "efConstruction": hnsw_ef_construction}
        self._search_ef = search_ef
        self._delete_visible_timeout_s = delete_visible_timeout_s
        self._client: MilvusClient | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ public API

    def add(self, gallery: str, label: str, vectors: np.ndarray) -> list[int]:
        """Store ``vectors`` (N, dim) for ``label`` in ``gallery``; returns their new ids."""
        validate_name(gallery, "gallery")
        validate_name(label, "label")
        rows = self._check_vectors(vectors)
        if not rows:
            return []
        data = [{"gallery": gallery, "label": label, "model": self.model_id, "vector": row} for row in rows]
        result = self._call(lambda client: client.insert(self.collection, data, timeout=self._timeout_s))
        # Milvus Lite searches the rows it has not yet flushed exhaustively: at a school's 10 k vectors 295 ms
        # of CPU a search, 13 ms once every insert is flushed (27 ms an enrollment; loadtests.embedded_search,
        # docs/BENCHMARKS.md). A server seals and indexes by itself.
        if self.is_lite:
            try:
                self._connect().flush(self.collection, timeout=self._timeout_s)
            except Exception as exc:  # the rows are stored: an unflushed insert costs search time only
                log.warning("Milvus Lite flush after insert failed: %s", _describe(exc))
        return [int(pk) for pk in result["ids"]]

    def delete(self, gallery: str, label: str) -> int:
        """Remove every vector of ``label`` in ``gallery``; returns how many there were (0 if none).

        Ids are looked up first and deleted by id, which counts exactly on Milvus Lite (whose ``delete``
        returns ids) and the server (which returns a count). The lookup is ``Strong`` and repeated until the
        label is gone: Milvus 2.3 returns no timestamp for a delete, so ``Session`` reads do not yet see it,
        and a search straight after the delete would still find the student. Deletes are rare; they pay
        ~0.4 s so every later search is correct. (Physically gone only after compaction.)
        """
        validate_name(gallery, "gallery")
        validate_name(label, "label")
        expr = f'gallery == "{gallery}" and label == "{label}"'
        deleted: set[int] = set()
        deadline = time.monotonic() + self._delete_visible_timeout_s
        while True:
            rows = self._call(
                lambda client: client.query(
                    self.collection,
                    filter=expr,
                    output_fields=["id"],
                    limit=_QUERY_LIMIT,
                    consistency_level="Strong",
                    timeout=self._timeout_s,
                )
            )
            ids = [int(row["id"]) for row in rows]
            if not ids:
                return len(deleted)
            fresh = [pk for pk in ids if pk not in deleted]
            if fresh:
                self._delete_ids(fresh)
                deleted.update(fresh)
            elif time.monotonic() > deadline:
                raise GalleryUnavailableError(f"deleted {label!r} from {gallery!r}, but it is still visible")
            else:
                time.sleep(0.05)

    def search(
        self,
        gallery: str,
        vectors: np.ndarray,
        *,
        top_k: int = 5,
        threshold: float = 0.4,
        ef: int | None = None,
        labels: Collection[str] | None = None,
    ) -> list[Match]:
        """Best label (or unknown) for each of ``vectors`` (N, dim) among the faces of ``gallery`` only;
        ``ef`` (HNSW search width) overrides the store's default for this call. ``labels``: only among
        these labels' faces (a class's roster; every one validated, as it goes into the filter), nobody
        when empty."""
        validate_name(gallery, "gallery")
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        rows = self._check_vectors(vectors)
        if not rows:
            return []
        expr = f'gallery == "{gallery}"'
        if labels is not None:
            if not labels:
                return [Match(label=None, score=None) for _ in rows]
            listed = ", ".join(f'"{validate_name(label, "label")}"' for label in sorted(labels))
            expr += f" and label in [{listed}]"
        params = {"metric_type": "COSINE", "params": {"ef": max(ef or self._search_ef, top_k)}}
        results = self._call(
            lambda client: client.search(
                self.collection,
                data=rows,
                filter=expr,
                limit=top_k,
                output_fields=["label"],
                search_params=params,
                consistency_level="Session",
                timeout=self._timeout_s,
            )
        )
        return [
            aggregate([(hit["entity"]["label"], float(hit["distance"])) for hit in hits], threshold)
            for hits in results
        ]

    def count(self, gallery: str | None = None) -> int:
        """Vectors stored in ``gallery`` (or in the whole collection when None)."""
        expr = f'gallery == "{validate_name(gallery, "gallery")}"' if gallery is not None else ""
        rows = self._call(
            lambda client: client.query(
                self.collection, filter=expr, output_fields=["count(*)"], timeout=self._timeout_s
            )
        )
        return int(rows[0]["count(*)"]) if rows else 0

    def ping(self) -> None:
        """Raise ``GalleryUnavailableError`` unless Milvus answers and the collection is ready (health)."""
        self._call(lambda client: client.get_load_state(self.collection, timeout=self._timeout_s))

    @property
    def is_lite(self) -> bool:
        """Milvus Lite (a ``*.db`` path in this process) rather than a server."""
        return self.uri.endswith(".db")

    def compact(self, wait_s: float = 60.0) -> str:
        """Make deletions physical (GDPR erasure): flush, then compact, waiting up to ``wait_s``.

        Returns ``"completed"`` (a server rewrote its segments without the deleted rows; the old segment
        files go at its next garbage collection, ``dataCoord.gc.dropTolerance``), ``"pending"`` (still
        running: call again later) or ``"needs_rebuild"`` (Milvus Lite: it accepts ``compact`` but does
        nothing; the flush drops deleted rows that were not yet written to its data files, while rows already
        written stay there until its own size-tiered compaction or ``drop`` and a rebuild from PostgreSQL).
        """

        def run(client: MilvusClient) -> str:
            client.flush(self.collection, timeout=self._timeout_s)
            if self.is_lite:
                return "needs_rebuild"
            job = client.compact(self.collection, timeout=self._timeout_s)
            deadline = time.monotonic() + wait_s
            while client.get_compaction_state(job, timeout=self._timeout_s) != "Completed":
                if time.monotonic() >= deadline:
                    return "pending"
                time.sleep(0.2)
            return "completed"

        return self._call(run)

    def drop(self) -> None:
        """Delete the whole collection, files included (a rebuild re-creates it on the next call)."""
        self._call(lambda client: client.drop_collection(self.collection, timeout=self._timeout_s))
        self.close()  # the next call connects again and creates the collection afresh

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # closing a dead connection must not mask the caller's own error
                log.debug("closing the Milvus client failed", exc_info=True)

    # ------------------------------------------------------------------ internals

    def _delete_ids(self, ids: list[int]) -> None:
        self._call(lambda client: client.delete(self.collection, ids=ids, timeout=self._timeout_s))

    def _check_vectors(self, vectors: np.ndarray) -> list[list[float]]:
        array = np.asarray(vectors, dtype=np.float32)
        if array.ndim == 1:
            array = array[None, :]
        if array.ndim != 2 or array.shape[1] != self.dim:
            raise InvalidVectorsError(f"expected vectors of shape (N, {self.dim}), got {array.shape}")
        if not np.isfinite(array).all():
            raise InvalidVectorsError("vectors contain NaN or infinity")
        rows: list[list[float]] = array.tolist()
        return rows

    def _call(self, operation: Callable[[MilvusClient], _T]) -> _T:
        """Run ``operation`` on a connected client; map every store failure to ``GalleryUnavailableError``."""
        client = self._connect()
        try:
            return operation(client)
        except GalleryError:
            raise
        except Exception as exc:  # MilvusException, grpc errors, timeouts: the store failed, not the caller
            # Drop the connection: after a server restart the collection must be loaded again.
            self.close()
            raise GalleryUnavailableError(f"Milvus request failed: {_describe(exc)}") from exc

    def _connect(self) -> MilvusClient:
        with self._lock:
            if self._client is not None:
                return self._client
            try:
                if self.is_lite:  # its directory must exist
                    Path(self.uri).parent.mkdir(parents=True, exist_ok=True)
                client = MilvusClient(
                    uri=self.uri, token=self._token, timeout=self._timeout_s, grpc_options=_GRPC_OPTIONS
                )
                self._ensure_collection(client)
            except Exception as exc:
                raise GalleryUnavailableError(f"cannot open Milvus at {self.uri}: {_describe(exc)}") from exc
            self._client = client
            return client

    def _ensure_collection(self, client: MilvusClient) -> None:
        """Create the collection on first use; (re)load it otherwise (needed after a Lite reopen)."""
        if not client.has_collection(self.collection, timeout=self._timeout_s):
            try:
                self._create_collection(client)
                log.info("created Milvus collection %s (dim %d)", self.collection, self.dim)
                return
            except MilvusException:
                # Another replica may have created it between our check and our create.
                if not client.has_collection(self.collection, timeout=self._timeout_s):
                    raise
        self._check_schema(client)
        client.load_collection(self.collection, timeout=self._timeout_s)
        # After a server restart the collection reports loaded while its recent inserts are still replayed
        # from the log, and a search then silently misses them: an enrolled student answered "unknown"
        # (measured, tests/integration/test_faults.py). A Strong read returns only once everything written
        # so far is searchable (else it times out: 503); once per connection, searches stay Session.
        client.query(
            self.collection,
            filter="",
            output_fields=["count(*)"],
            consistency_level="Strong",
            timeout=self._timeout_s,
        )

    def _create_collection(self, client: MilvusClient) -> None:
        schema = client.create_schema(auto_id=True, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("gallery", DataType.VARCHAR, max_length=_MAX_LENGTH, is_partition_key=True)
        schema.add_field("label", DataType.VARCHAR, max_length=_MAX_LENGTH)
        schema.add_field("model", DataType.VARCHAR, max_length=_MODEL_MAX_LENGTH)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        index = client.prepare_index_params()
        index.add_index(field_name="vector", index_type="HNSW", metric_type="COSINE", params=self._hnsw)
        client.create_collection(
            self.collection,
            schema=schema,
            index_params=index,
            consistency_level="Session",
            num_partitions=16,
            timeout=self._timeout_s,
        )

    def _check_schema(self, client: MilvusClient) -> None:
        """Refuse a same-named collection of another dimension rather than fail on every insert."""
        description: dict[str, Any] = client.describe_collection(self.collection, timeout=self._timeout_s)
        for field in description.get("fields", []):
            if field.get("name") == "vector":
                dim = int(field.get("params", {}).get("dim", self.dim))
                if dim != self.dim:
                    raise GalleryError(
                        f"collection {self.collection} holds {dim}-d vectors, not {self.dim}-d"
                    )


def _describe(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return message.splitlines()[0][:300]
