"""Dependencies the routers declare: the face service, the settings, and safe reading of uploads."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, UploadFile

from app.core.config import Settings
from app.core.errors import TooLarge, UnsupportedMedia
from app.services.faces import FaceService

#: Part content types taken as images; the decoder checks the bytes themselves anyway.
_IMAGE_PART_TYPES = ("image/", "application/octet-stream")


def get_settings(request: Request) -> Settings:
    """The settings the app was built with (kept on ``app.state``, so tests can give their own)."""
    settings: Settings = request.app.state.settings
    return settings


def get_face_service(request: Request) -> FaceService:
    service: FaceService = request.app.state.face_service
    return service


SettingsDep = Annotated[Settings, Depends(get_settings)]
FaceServiceDep = Annotated[FaceService, Depends(get_face_service)]


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
