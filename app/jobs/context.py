"""The stores a job needs, built from the settings as the app builds them (PostgreSQL, Redis, Milvus)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Engine

from app.container import Container, build_container
from app.core.config import Settings
from app.core.crypto import IdHasher
from app.db.session import transaction
from app.services.biometrics.face_index import FaceIndex
from app.services.biometrics.job_index import (
    IndexPipeline,
    model_dims,
    pending_erasure_models,
    rebuild_index,
)
from app.services.biometrics.stores import BiometricStores, TemplateCipher
from app.services.privacy.retention import IndexMaintenance
from models.embedder import SfaceEmbedder
from models.gallery import FaceGallery
from models.runtime import RuntimeOptions


class JobError(Exception):
    """A job that cannot run as configured (the message says what to set)."""


def id_hasher(settings: Settings) -> IdHasher:
    return IdHasher(settings.id_hash_key.get_secret_value().encode("utf-8"))


def database_url(settings: Settings) -> str:
    if not settings.database_url:
        raise JobError("ROLLCALL_DATABASE_URL is not set (the local runner prints it when it starts)")
    return settings.database_url


@contextlib.contextmanager
def engine_for(settings: Settings) -> Iterator[Engine]:
    """The database of a job that needs nothing else (the container's: its audit events continue the app's
    chain, with its keys)."""
    database_url(settings)
    container = build_container(settings)
    assert container.engine is not None  # database_url() refused an unset URL
    try:
        yield container.engine
    finally:
        container.close()


@dataclass
class IndexJobs(IndexMaintenance):
    engine: Engine
    pipeline: IndexPipeline
    cipher: TemplateCipher

    async def rebuild(self) -> None:
        await rebuild_index(self.engine, self.pipeline, self.cipher)


def _open_index(settings: Settings, engine: Engine) -> IndexPipeline:
    """Milvus, with a collection for every model that has templates or erasures still to compact."""
    with transaction(engine) as session:
        models = {**pending_erasure_models(session), **model_dims(session)}
    return IndexPipeline(
        settings.milvus_uri, models, token=settings.milvus_token, timeout_s=settings.milvus_timeout_s
    )


@contextlib.contextmanager
def index_for(settings: Settings, engine: Engine) -> Iterator[IndexJobs]:
    pipeline = _open_index(settings, engine)
    try:
        yield IndexJobs(engine, pipeline, TemplateCipher(settings.keyring()))
    finally:
        pipeline.close()


@contextlib.contextmanager
def indexed_container(settings: Settings) -> Iterator[tuple[Container, IndexPipeline]]:
    """The app's container over the index instead of the models (jobs erase with the app's own commands),
    and that index."""
    if not settings.redis_url:
        raise JobError("ROLLCALL_REDIS_URL is not set")
    with engine_for(settings) as engine:
        pipeline = _open_index(settings, engine)
    container = build_container(settings, index=FaceIndex(pipeline))
    try:
        yield container, pipeline
    finally:
        container.close()
        pipeline.close()


@contextlib.contextmanager
def stores_for(settings: Settings) -> Iterator[tuple[BiometricStores, IndexJobs]]:
    """Every biometric store, as the app has them (see ``indexed_container``)."""
    with indexed_container(settings) as (container, pipeline):
        assert container.engine is not None and container.stores is not None  # both URLs are set
        yield container.stores, IndexJobs(container.engine, pipeline, container.stores.cipher)


@contextlib.contextmanager
def reembed_stores(
    settings: Settings,
) -> Iterator[tuple[SfaceEmbedder, FaceGallery, Callable[[str, int], FaceGallery]]]:
    """The installed embedding model (in this process, as the Embedder deployment loads it), its Milvus
    collection, and a way to open the old models' collections; all closed afterwards."""
    embedder = SfaceEmbedder.load(settings.model_cache, RuntimeOptions(intra_op_threads=settings.ort_threads))
    opened: dict[str, FaceGallery] = {}

    def open_gallery(model_id: str, dim: int) -> FaceGallery:
        if model_id not in opened:
            opened[model_id] = FaceGallery(
                settings.milvus_uri,
                model_id,
                dim,
                token=settings.milvus_token,
                timeout_s=settings.milvus_timeout_s,
            )
        return opened[model_id]

    try:
        yield embedder, open_gallery(embedder.model_id, embedder.dim), open_gallery
    finally:
        for gallery in opened.values():
            gallery.close()
