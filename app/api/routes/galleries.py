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
from app.db.tables import Role

# Raw gallery access bypasses consent and school boundaries (a gallery is any name): admins only. The school
# flows (enrollment with consent, check-in) are the way for everyone else.
router = APIRouter(prefix="/v1/galleries", tags=["galleries"], dependencies=[Depends(require(Role.admin))])

# Validated by the service (422 invalid_gallery / invalid_label with the rule), documented here.
Gallery = Annotated[str, Path(description=NAME_DESCRIPTION, examples=["school-1:class-7b"])]
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
    image: ImageFile,
    label: Annotated[str, Form(description=NAME_DESCRIPTION, examples=["student-0042"])],
    service: FaceServiceDep,
    settings: SettingsDep,
) -> EnrollResponse:
    """The photo must hold exactly one face. Enrolling a label again adds another photo of that person."""
    result = await service.enroll(gallery, label, await read_image(image, "image", settings.max_upload_bytes))
    return EnrollResponse(
        gallery=result.gallery,
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
    gallery: Gallery, image: ImageFile, service: FaceServiceDep, settings: SettingsDep
) -> IdentifyResponse:
    """Each face with its best match in the gallery, or unknown (`label: null`). No face at all: 422."""
    results = await service.identify(gallery, await read_image(image, "image", settings.max_upload_bytes))
    return IdentifyResponse(gallery=gallery, faces=[IdentifiedFace.of(result) for result in results])


@router.delete(
    "/{gallery}/faces/{label}",
    summary="Forget every face enrolled under a label",
    response_model=DeleteResponse,
    responses=error_responses(404, 422, 503),
)
async def forget(gallery: Gallery, label: Label, service: FaceServiceDep) -> DeleteResponse:
    """Searches straight after this no longer find the label (404 if nothing was enrolled under it)."""
    deleted = await service.forget(gallery, label)
    return DeleteResponse(gallery=gallery, label=label, deleted=deleted)
