"""Response bodies of the HTTP API (OpenAPI's source), built from the services' plain results.

Ids are strings: Milvus ids are 64-bit and exceed JavaScript's exact integer range (2^53).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.services.biometrics.face_service import Identification
from models.detection import DetectedFace
from models.gallery import NAME_RULE


class Box(BaseModel):
    x1: float
    y1: float
    x2: float
    y2: float


class Point(BaseModel):
    x: float
    y: float


class Quality(BaseModel):
    face_size: float = Field(description="Shorter side of the box, px.")
    blur: float = Field(description="Variance of the Laplacian of the aligned crop; low is blurry.")
    brightness: float = Field(description="Mean grey level of the aligned crop, 0-255.")
    contrast: float = Field(description="Standard deviation of that grey level.")
    yaw: float = Field(description="Approximate head turn, degrees.")
    roll: float = Field(description="Head tilt, degrees.")
    pitch: float = Field(description="Approximate nod, degrees; positive looking down.")
    score: float = Field(description="Detector confidence; low when the face is partly hidden.")


class FaceOut(BaseModel):
    box: Box
    landmarks: list[Point] = Field(
        description="Left eye, right eye, nose tip, left and right mouth corner (left of the picture first)."
    )
    score: float = Field(description="Detector confidence, 0-1.")
    quality: Quality

    @classmethod
    def of(cls, detected: DetectedFace) -> FaceOut:
        face = detected.face
        x1, y1, x2, y2 = (float(v) for v in face.box)
        return cls(
            box=Box(x1=x1, y1=y1, x2=x2, y2=y2),
            landmarks=[Point(x=float(x), y=float(y)) for x, y in face.landmarks],
            score=float(face.score),
            quality=Quality(**detected.quality.to_dict()),
        )


class ImageSize(BaseModel):
    width: int
    height: int


class DetectResponse(BaseModel):
    image: ImageSize
    faces: list[FaceOut]


class VerifyResponse(BaseModel):
    same_person: bool
    score: float = Field(description="Cosine similarity of the two faces, -1..1.")
    threshold: float = Field(description="Scores at or above this count as the same person.")


class EnrollResponse(BaseModel):
    gallery: str
    label: str
    face_ids: list[str] = Field(description="Ids of the stored vectors (64-bit, as strings).")
    model: str = Field(description="Embedding model (and version) the vectors belong to.")
    face: FaceOut


class MatchOut(BaseModel):
    label: str | None = Field(description="Best enrolled label, or null when unknown.")
    score: float | None = Field(description="Best similarity seen (null when the gallery is empty).")
    known: bool


class IdentifiedFace(BaseModel):
    face: FaceOut
    match: MatchOut

    @classmethod
    def of(cls, result: Identification) -> IdentifiedFace:
        match = result.match
        return cls(
            face=FaceOut.of(result.face),
            match=MatchOut(label=match.label, score=match.score, known=match.known),
        )


class IdentifyResponse(BaseModel):
    gallery: str
    faces: list[IdentifiedFace]


class DeleteResponse(BaseModel):
    gallery: str
    label: str
    deleted: int = Field(description="How many face vectors were removed.")


class HealthResponse(BaseModel):
    status: str = Field(description='"ok" or "degraded".')
    checks: dict[str, str] = Field(description='Component -> "ok" or what is wrong.')


NAME_DESCRIPTION = f"Gallery (school/class) or label (student) name: {NAME_RULE}."
