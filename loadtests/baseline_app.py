"""The peer baseline of ``python -m loadtests.bench``: what a school would otherwise put up, face_recognition
(dlib: HOG detector, 68-landmark alignment, ResNet-34 128-d encoder) as a plain FastAPI app that detects,
encodes and matches linearly against the enrolled encodings (Euclidean distance, the library's 0.6 rule).

Served by uvicorn on 127.0.0.1 (the bench starts it: ``uvicorn loadtests.baseline_app:app --workers N``);
the gallery (labels and encodings, made once by the bench with the same library) comes from the ``.npz`` file
named by ``ROLLCALL_BASELINE_GALLERY``. face_recognition's landmark model has non-commercial terms: it is a
yardstick here, never part of Rollcall.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import numpy as np
from fastapi import FastAPI, File, HTTPException, Request, UploadFile

GALLERY_ENV = "ROLLCALL_BASELINE_GALLERY"
TOLERANCE = 0.6  # face_recognition's default: a distance at most this is the same person


def load_gallery(path: Path) -> tuple[list[str], np.ndarray]:
    data = np.load(path)
    return [str(label) for label in data["labels"]], data["encodings"]


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.labels, app.state.encodings = load_gallery(Path(os.environ[GALLERY_ENV]))
    yield


app = FastAPI(title="face_recognition baseline", lifespan=lifespan)


@app.get("/health")
def health(request: Request) -> dict[str, int]:
    return {"gallery": len(request.app.state.labels)}


@app.post("/identify")
def identify(request: Request, image: Annotated[UploadFile, File()]) -> dict[str, list[dict[str, object]]]:
    """Every face in the photo with its nearest enrolled label, or null beyond the tolerance."""
    import face_recognition

    try:
        pixels = face_recognition.load_image_file(io.BytesIO(image.file.read()))
    except Exception as exc:  # PIL's many decode errors
        raise HTTPException(422, "not a decodable image") from exc
    boxes = face_recognition.face_locations(pixels)
    if not boxes:
        raise HTTPException(422, "no face found")
    labels, encodings = request.app.state.labels, request.app.state.encodings
    faces = []
    for box, encoding in zip(boxes, face_recognition.face_encodings(pixels, boxes), strict=True):
        distances = np.linalg.norm(encodings - encoding, axis=1)
        best = int(np.argmin(distances))
        label = labels[best] if distances[best] <= TOLERANCE else None
        faces.append({"box": list(box), "label": label, "distance": round(float(distances[best]), 4)})
    return {"faces": faces}


def build_gallery(enrolled: list[tuple[str, Path]], out: Path) -> Path:
    """Encode one photo per label with face_recognition (the bench runs this before starting the app)."""
    import face_recognition

    labels, encodings = [], []
    for label, photo in enrolled:
        found = face_recognition.face_encodings(face_recognition.load_image_file(photo))
        if found:
            labels.append(label)
            encodings.append(found[0])
    np.savez(out, labels=np.array(labels), encodings=np.array(encodings))
    return out
