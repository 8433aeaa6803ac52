"""Gallery endpoints: enroll a face under a label, identify faces, forget a label."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, UploadFile

from app.api.deps import FaceServiceDep, SettingsDep, read_image, require_multipart
from app.api.errors import error_responses
from app.api.schemas import (
    NAME_DESCRIPTION,
    DeleteResponse,
    EnrollResponse,
    FaceOut,
    IdentifiedFace,
    IdentifyResponse,
)
from app.api.security import require
from app.core.enums import Role
from app.services.identity.principal import Principal

# Raw gallery access bypasses consent (the school flows, enrollment with consent and check-in, are the way for
# everyone else): admins only, and only inside their own school's namespace (see ``scoped``).
_admin = require(Role.admin)  # one dependable: FastAPI runs it once per request, before the body is read
router = APIRouter(prefix="/v1/galleries", tags=["galleries"], dependencies=[Depends(_admin)])
Admin = Annotated[Principal, Depends(_admin)]


def scoped(
    gallery: Annotated[str, Path(description=NAME_DESCRIPTION, examples=["class-7b"])], admin: Admin
) -> str:
    """The stored gallery name: prefixed with the caller's school, so an admin never reaches another school's
    faces (nor the school's own consented enrollment gallery, which is the bare school id)."""
    return f"{admin.school_id}:{gallery}"


# Validated by the service (422 invalid_gallery / invalid_label with the rule), documented here.
Gallery = Annotated[str, Path(description=NAME_DESCRIPTION, examples=["class-7b"])]
ScopedGallery = Annotated[str, Depends(scoped)]
Label = Annotated[str, Path(description=NAME_DESCRIPTION, examples=["student-0042"])]
ImageFile = Annotated[UploadFile, File(description="A JPEG, PNG, WebP or BMP photo.")]


@router.post(
    "/{gallery}/faces",
    summary="Enroll the face in a photo under a label",
    status_code=201,
    response_model=EnrollResponse,
    responses=error_responses(413, 415, 422, 503),
    dependencies=[Depends(require_multipart)],
)
async def enroll(
    gallery: Gallery,
    stored: ScopedGallery,
    image: ImageFile,
    label: Annotated[str, Form(description=NAME_DESCRIPTION, examples=["student-0042"])],
    service: FaceServiceDep,
    settings: SettingsDep,
) -> EnrollResponse:
    """The photo must hold exactly one face. Enrolling a label again adds another photo of that person."""
    result = await service.enroll(stored, label, await read_image(image, "image", settings.max_upload_bytes))
    return EnrollResponse(
        gallery=gallery,
        label=result.label,
        face_ids=[str(face_id) for face_id in result.face_ids],
        model=result.model,
        face=FaceOut.of(result.face),
    )


@router.post(
    "/{gallery}/identify",
    summary="Identify every face in a photo",
    response_model=IdentifyResponse,
    responses=error_responses(413, 415, 422, 503),
    dependencies=[Depends(require_multipart)],
)
async def identify(
    gallery: Gallery, stored: ScopedGallery, image: ImageFile, service: FaceServiceDep, settings: SettingsDep
) -> IdentifyResponse:
    """Each face with its best match in the gallery, or unknown (`label: null`). No face at all: 422."""
    results = await service.identify(stored, await read_image(image, "image", settings.max_upload_bytes))
    return IdentifyResponse(gallery=gallery, faces=[IdentifiedFace.of(result) for result in results])


@router.delete(
    "/{gallery}/faces/{label}",
    summary="Forget every face enrolled under a label",
    response_model=DeleteResponse,
    responses=error_responses(404, 422, 503),
)
async def forget(
    gallery: Gallery, stored: ScopedGallery, label: Label, service: FaceServiceDep
) -> DeleteResponse:
    """Searches straight after this no longer find the label (404 if nothing was enrolled under it)."""
    deleted = await service.index.forget(stored, label)
    return DeleteResponse(gallery=gallery, label=label, deleted=deleted)
