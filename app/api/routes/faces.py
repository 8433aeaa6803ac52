"""Stateless face endpoints: detect faces in a photo, verify that two photos show the same person."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, UploadFile

from app.api.deps import FaceServiceDep, SettingsDep, read_image, require_multipart
from app.api.errors import error_responses
from app.api.schemas import DetectResponse, FaceOut, ImageSize, VerifyResponse
from app.api.security import require
from app.core.enums import Role

# Nothing is stored or searched, yet comparing any two faces is biometric processing outside the consent flow
# (enrollment with consent, check-in against the roster): admins only, like the raw galleries. A kiosk key,
# which sits on a tablet in a corridor, must not turn into an unlimited face-comparison service when stolen.
# Authentication runs before the body checks, so an anonymous caller learns nothing from a 415/422.
router = APIRouter(
    prefix="/v1/faces",
    tags=["faces"],
    dependencies=[Depends(require(Role.admin)), Depends(require_multipart)],
)

ImageFile = Annotated[UploadFile, File(description="A JPEG, PNG, WebP or BMP photo.")]


@router.post(
    "/detect",
    summary="Find faces in a photo",
    response_model=DetectResponse,
    responses=error_responses(413, 415, 422, 503),
)
async def detect(image: ImageFile, service: FaceServiceDep, settings: SettingsDep) -> DetectResponse:
    """Every face with its box, five landmarks, detector score and quality figures (none: an empty list)."""
    found = await service.detect(await read_image(image, "image", settings.max_upload_bytes))
    return DetectResponse(
        image=ImageSize(width=found.width, height=found.height),
        faces=[FaceOut.of(face) for face in found.faces],
    )


@router.post(
    "/verify",
    summary="Do two photos show the same person?",
    response_model=VerifyResponse,
    responses=error_responses(413, 415, 422, 503),
)
async def verify(
    image_a: ImageFile, image_b: ImageFile, service: FaceServiceDep, settings: SettingsDep
) -> VerifyResponse:
    """Each photo must hold exactly one face (else 422 `no_face` / `multiple_faces`)."""
    limit = settings.max_upload_bytes
    result = await service.verify(
        await read_image(image_a, "image_a", limit), await read_image(image_b, "image_b", limit)
    )
    return VerifyResponse(same_person=result.same_person, score=result.score, threshold=result.threshold)
