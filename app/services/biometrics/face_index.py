"""Vector use cases over a ``VectorIndex``: add, search, forget, compact, with names checked and the index
being down answered 503. What erasure, retention and the rebuild use: the vectors, never a model."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TypeVar, cast

from app.core.errors import InvalidInput, NotFound, Unavailable
from app.services.biometrics.ports import Embeddings, Timed, VectorIndex
from models.gallery import GalleryUnavailableError, InvalidNameError, Match, validate_name

_T = TypeVar("_T")
log = logging.getLogger(__name__)


class FaceIndex:
    def __init__(self, index: VectorIndex) -> None:
        self._index = cast(VectorIndex, Timed(index))  # each call's time: rollcall_stage_duration_seconds

    async def add(self, gallery: str, label: str, embeddings: Embeddings) -> list[int]:
        """Store vectors already computed (by the models, or decrypted from PostgreSQL to rebuild Milvus)."""
        check_name(gallery, "gallery")
        check_name(label, "label")
        return await _store(self._index.add(gallery, label, embeddings))

    async def search(
        self, gallery: str, embeddings: Embeddings, roster: frozenset[str] | None = None
    ) -> list[Match]:
        """Best label (or unknown) in ``gallery`` for vectors already computed; among ``roster``'s labels
        only when given."""
        check_name(gallery, "gallery")
        return await _store(self._index.search(gallery, embeddings, roster))

    async def forget(self, gallery: str, label: str) -> int:
        """Remove every vector of ``label`` from ``gallery``; NotFound when there was none."""
        check_name(gallery, "gallery")
        check_name(label, "label")
        deleted = await _store(self._index.delete(gallery, label))
        if deleted == 0:
            raise NotFound(f"no faces enrolled as {label!r} in gallery {gallery!r}", code="label_not_found")
        return deleted

    async def compact(self, wait_s: float) -> str:
        """Make deleted vectors physically gone (``FaceGallery.compact``): ``"completed"``, ``"pending"`` or
        ``"needs_rebuild"``."""
        return await _store(self._index.compact(wait_s))

    async def check(self) -> dict[str, str]:
        return await self._index.check()


def check_name(value: str, field: str) -> None:
    try:
        validate_name(value, field)
    except InvalidNameError as exc:
        raise InvalidInput(exc.message, code=exc.code, field=field) from exc


async def _store(call: Awaitable[_T]) -> _T:
    """Await an index call; its being down becomes ``Unavailable`` (503 + Retry-After)."""
    try:
        return await call
    except GalleryUnavailableError as exc:
        # The reason names internal hosts and ports: it goes to the log, not to the client.
        log.warning("face gallery unavailable: %s", exc.message)
        raise Unavailable("the face gallery is temporarily unavailable", code="gallery_unavailable") from exc
