"""Face use cases: detect, verify two photos, enroll into a gallery, identify, judge a live burst.

Policy lives here, not in routers or deployments: which requests need exactly one face, how a score becomes a
decision, which failures the client sees. Each image is decoded once (with size and pixel limits, off the
event loop, so one large upload does not stall every other request in the ingress); the Detector answers with
aligned crops and quality measures, so nothing here touches pixels after decoding, and only crops (not
frames) go to the embedder. A burst is one Detector call whose answer goes straight on to Liveness.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import cast

import numpy as np

from app.core.errors import InvalidInput, TooLarge, Unavailable
from app.services.biometrics.face_index import FaceIndex, check_name
from app.services.biometrics.ports import Embeddings, FaceModels, ModelInfo, Timed
from models.detection import DetectedFace
from models.errors import ImageError
from models.gallery import Match
from models.imaging import decode_image
from models.liveness import ColourSequence, LivenessVerdict
from models.quality import QualityPolicy

#: ImageError codes that mean "too big" rather than "not usable".
_TOO_LARGE_CODES = frozenset({"too_large", "too_many_pixels"})


@dataclass(frozen=True, slots=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int
    #: A check-in burst is many frames at once: each is held to a camera frame's size (about 1080p), so one
    #: request cannot make the ingress decode and track gigapixels.
    frame_max_pixels: int = 2_100_000


@dataclass(frozen=True, slots=True)
class ImageFaces:
    """The faces of one decoded image, with their aligned crops (row i belongs to faces[i])."""

    width: int
    height: int
    faces: list[DetectedFace]
    crops: np.ndarray


@dataclass(frozen=True, slots=True)
class Verification:
    same_person: bool
    score: float
    threshold: float
    face_a: DetectedFace
    face_b: DetectedFace


@dataclass(frozen=True, slots=True)
class Enrollment:
    gallery: str
    label: str
    face_ids: list[int]
    model: str
    face: DetectedFace


@dataclass(frozen=True, slots=True)
class Identification:
    face: DetectedFace
    match: Match


@dataclass(frozen=True, slots=True)
class LiveCapture:
    """A judged burst: the verdict, and (when a subject was tracked) the probe face with its vector."""

    verdict: LivenessVerdict
    face: DetectedFace | None
    embeddings: Embeddings | None


class FaceService:
    """The use cases over the ``FaceModels`` and a ``FaceIndex`` (``index``, for the galleries' own use cases;
    the domain's vector work goes to the index directly). ``verify_threshold`` and ``quality`` (the limits
    enrollment and check-in apply) can change live (Serve reconfigure). The threshold has no default: it is
    the Ingress's ``user_config`` (serve_config.yaml), and a 1:1 comparison before it is set answers 503."""

    def __init__(
        self,
        models: FaceModels,
        index: FaceIndex,
        limits: ImageLimits,
        verify_threshold: float | None = None,
        quality: QualityPolicy | None = None,
    ) -> None:
        # each stage's time: rollcall_stage_duration_seconds (a proxy with the models' methods)
        self._models = cast(FaceModels, Timed(models))
        self.index = index
        self._limits = limits
        self._verify_threshold = verify_threshold
        self.quality = quality or QualityPolicy()

    @property
    def verify_threshold(self) -> float:
        if self._verify_threshold is None:
            raise Unavailable("the face service has no verify threshold yet", code="model_unavailable")
        return self._verify_threshold

    @verify_threshold.setter
    def verify_threshold(self, value: float) -> None:
        self._verify_threshold = value

    # ------------------------------------------------------------------ use cases

    async def detect(self, data: bytes) -> ImageFaces:
        """All faces in the image with quality figures; none found is a valid (empty) answer."""
        return await self._faces(data)

    async def verify(self, data_a: bytes, data_b: bytes) -> Verification:
        """Are the single faces of two photos the same person? Cosine of their vectors vs the threshold."""
        # Both images go through detection at once, so the Detector can batch them together.
        faces_a, faces_b = await asyncio.gather(self._faces(data_a), self._faces(data_b))
        one_a, one_b = _exactly_one(faces_a, "image_a"), _exactly_one(faces_b, "image_b")
        embedded = await self._models.embed(np.concatenate([faces_a.crops[:1], faces_b.crops[:1]]))
        vector_a, vector_b = embedded.vectors
        score = float(np.clip(vector_a @ vector_b, -1.0, 1.0))
        threshold = self.verify_threshold
        return Verification(score >= threshold, score, threshold, one_a, one_b)

    async def enroll(self, gallery: str, label: str, data: bytes) -> Enrollment:
        """Store the single face of the photo as ``label`` in ``gallery``."""
        check_name(gallery, "gallery")
        check_name(label, "label")
        found = await self._faces(data)
        face = _exactly_one(found, "image")
        embedded = await self._models.embed(found.crops[:1])
        ids = await self.index.add(gallery, label, embedded)
        return Enrollment(gallery, label, ids, embedded.model.model_id, face)

    async def identify(self, gallery: str, data: bytes) -> list[Identification]:
        """Every face in the photo with its best match in ``gallery`` (or unknown)."""
        check_name(gallery, "gallery")
        found = await self._faces(data)
        if not found.faces:
            raise InvalidInput("no face was found in the image", code="no_face", field="image")
        embedded = await self._models.embed(found.crops)
        matches = await self.index.search(gallery, embedded)
        return [Identification(face, match) for face, match in zip(found.faces, matches, strict=True)]

    async def capture_live(
        self,
        frames: list[bytes],
        action: str,
        times_ms: list[float] | None = None,
        colours: ColourSequence | None = None,
    ) -> LiveCapture:
        """Judge a burst of frames answering the challenge ``action`` (``times_ms``: when each was taken;
        ``colours``: what the kiosk's screen showed meanwhile, from the challenge). Frames are decoded here
        and detected in one Detector call, whose answer goes on to Liveness without coming back here; the
        probe face (with its quality) and its vector come back with the verdict."""
        pixels = self._limits.frame_max_pixels
        images = await asyncio.gather(*(asyncio.to_thread(self._decode, data, pixels) for data in frames))
        result = await self._models.check_burst(action, list(images), times_ms, colours)
        if result.subject is None or result.vector is None or result.model_id is None:
            return LiveCapture(result.verdict, None, None)
        model = ModelInfo(result.model_id, int(result.vector.shape[1]))
        return LiveCapture(result.verdict, result.subject, Embeddings(result.vector, model))

    async def embed(self, crops: np.ndarray) -> Embeddings:
        """Vectors for aligned crops from ``detect``: for use cases that keep the vectors themselves
        (enrollment stores them encrypted; 1:1 check-in compares them with a stored template)."""
        return await self._models.embed(crops)

    async def check(self) -> dict[str, str]:
        models, index = await asyncio.gather(self._models.check(), self.index.check())
        return {**models, **index}

    # ------------------------------------------------------------------ steps

    async def _faces(self, data: bytes) -> ImageFaces:
        image = await asyncio.to_thread(self._decode, data, self._limits.max_pixels)
        (found,) = await self._models.detect([image])
        height, width = image.shape[:2]
        return ImageFaces(width=width, height=height, faces=found.faces, crops=found.crops)

    def _decode(self, data: bytes, max_pixels: int) -> np.ndarray:
        try:
            return decode_image(data, self._limits.max_bytes, max_pixels)
        except ImageError as exc:
            error = TooLarge if exc.code in _TOO_LARGE_CODES else InvalidInput
            raise error(
                exc.message, code=exc.code, max_bytes=self._limits.max_bytes, max_pixels=max_pixels
            ) from exc


def _exactly_one(found: ImageFaces, field: str) -> DetectedFace:
    if not found.faces:
        raise InvalidInput(f"no face was found in {field}", code="no_face", field=field)
    if len(found.faces) > 1:
        raise InvalidInput(
            f"{len(found.faces)} faces were found in {field}; exactly one is required",
            code="multiple_faces",
            field=field,
            faces=len(found.faces),
        )
    return found.faces[0]
