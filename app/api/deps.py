"""Dependencies the routers declare: the process's container (``app.container``) and what it holds (face
service, settings, stores), and safe upload reading. Nothing here builds a service."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import redis
from fastapi import Depends, Request, UploadFile
from sqlalchemy import Engine
from sqlmodel import Session

from app.container import Container
from app.core.config import Settings
from app.core.errors import TooLarge, Unavailable, UnsupportedMedia
from app.db.session import transaction
from app.services.biometrics.face_service import FaceService

#: Part content types taken as images; the decoder checks the bytes themselves anyway.
_IMAGE_PART_TYPES = ("image/", "application/octet-stream")


def get_container(request: Request) -> Container:
    """The container ``create_app`` was given (one per process)."""
    container: Container = request.app.state.container
    return container


def get_settings(request: Request) -> Settings:
    return get_container(request).settings


def get_face_service(request: Request) -> FaceService:
    face_service = get_container(request).face_service
    if face_service is None:  # not reached: every app is built over a face service
        raise Unavailable("no face service is configured", code="model_unavailable")
    return face_service


SettingsDep = Annotated[Settings, Depends(get_settings)]
FaceServiceDep = Annotated[FaceService, Depends(get_face_service)]


def get_engine(request: Request) -> Engine:
    """The process's pooled engine; 503 when this deployment has no database configured."""
    engine = get_container(request).engine
    if engine is None:
        raise Unavailable("no database is configured", code="database_unavailable")
    return engine


def get_redis(request: Request) -> redis.Redis:
    """The process's Redis client; 503 when this deployment has no Redis configured."""
    client = get_container(request).redis
    if client is None:
        raise Unavailable("no Redis is configured", code="cache_unavailable")
    return client


EngineDep = Annotated[Engine, Depends(get_engine)]
RedisDep = Annotated[redis.Redis, Depends(get_redis)]


def get_db(engine: EngineDep) -> Iterator[Session]:
    """One transaction per command: it commits when the route function returns (``scope="function"``, so
    before the response is sent: a failed commit is the client's error, never a 200 for lost work) and
    rolls back on any error."""
    with transaction(engine) as session:
        yield session


DbDep = Annotated[Session, Depends(get_db, scope="function")]


def get_request_id(request: Request) -> str:
    """The id the audit trail files this request under: the one the observability middleware gave it (the
    caller's or a proxy's X-Request-ID when it is a sane token, else a new one): one place reads it."""
    request_id: str = request.state.request_id
    return request_id


RequestIdDep = Annotated[str, Depends(get_request_id)]


async def require_multipart(request: Request) -> None:
    """415 unless the body is multipart/form-data (a JSON body would otherwise read as "missing field")."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "multipart/form-data":
        raise UnsupportedMedia(
            "send the image(s) as multipart/form-data",
            received=content_type.split(";", 1)[0][:100],
        )


async def read_image(upload: UploadFile, field: str, max_bytes: int) -> bytes:
    """The part's bytes, after checking its declared type and size (the whole body is limited earlier)."""
    declared = (upload.content_type or "").lower()
    if declared and not declared.startswith(_IMAGE_PART_TYPES):
        raise UnsupportedMedia(f"{field} must be an image, not {declared[:100]}", field=field)
    return await read_upload(upload, field, max_bytes)


async def read_upload(upload: UploadFile, field: str, max_bytes: int) -> bytes:
    """The part's bytes, at most ``max_bytes`` of them (413 ``too_large`` beyond): never read unbounded."""
    if upload.size is not None and upload.size > max_bytes:
        raise TooLarge(
            f"{field} is {upload.size} bytes; the limit is {max_bytes}",
            field=field,
            max_bytes=max_bytes,
        )
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge(f"{field} exceeds {max_bytes} bytes", field=field, max_bytes=max_bytes)
    return data
