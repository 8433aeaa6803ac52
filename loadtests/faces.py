"""Real faces for load tests and benchmarks, all from ``../shared/faces`` (``ROLLCALL_FACES_DIR``): people to
enroll, strangers who never are, and the bad frames a kiosk camera really sends (a cut-off upload, a frame
with nobody in it)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.eval.datasets import faces_root

#: Photos an enrollment sends (the API takes 3-5, and refuses it when fewer than 3 pass its quality check).
ENROLL_PHOTOS = 3
MAX_ENROLL_PHOTOS = 5


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    photos: tuple[Path, ...]

    @property
    def enrollment(self) -> tuple[Path, ...]:
        """Up to five photos, keeping one back as a probe when the person has four or more."""
        return self.photos[: min(MAX_ENROLL_PHOTOS, max(ENROLL_PHOTOS, len(self.photos) - 1))]

    @property
    def probes(self) -> tuple[Path, ...]:
        """Photos kept out of the enrollment; a person with exactly three shows their last one again."""
        return self.photos[len(self.enrollment) :] or self.photos[-1:]


@functools.cache
def _lfw() -> tuple[Person, ...]:
    folders = sorted(p for p in (faces_root() / "lfw").iterdir() if p.is_dir())
    return tuple(Person(d.name, tuple(sorted(d.glob("*.jpg")))) for d in folders)


def roster(count: int) -> list[Person]:
    """``count`` LFW people who can be enrolled (three photos or more), those with spare probes first."""
    people = sorted((p for p in _lfw() if len(p.photos) >= ENROLL_PHOTOS), key=lambda p: -len(p.photos))
    if count > len(people):
        raise ValueError(f"only {len(people)} LFW people have {ENROLL_PHOTOS}+ photos; asked for {count}")
    return people[:count]


def strangers(count: int) -> list[Path]:
    """Photos of LFW people with fewer than three photos: never in any roster, so never enrolled."""
    return [p.photos[0] for p in _lfw() if len(p.photos) < ENROLL_PHOTOS][:count]


def corrupt_frame() -> bytes:
    """A real JPEG cut off after its first kilobyte, as a dropped upload arrives."""
    return roster(1)[0].photos[0].read_bytes()[:1024]


def faceless_frame() -> bytes:
    """A real camera picture with nobody in it: the top-left background corner of an LFW photo, scaled to a
    frame's size (the detector finds no face there)."""
    image = cv2.imread(str(roster(1)[0].photos[0]))
    corner = cv2.resize(image[:60, :60], (240, 240), interpolation=cv2.INTER_CUBIC)
    ok, encoded = cv2.imencode(".jpg", corner)
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    return np.asarray(encoded).tobytes()


def clip_people(photos: int = ENROLL_PHOTOS) -> dict[str, list[bytes]]:
    """The people of the liveness clips (the only faces that can answer a head-turn challenge), each with
    ``photos`` of their most frontal frames for an enrollment: without them a live burst is a stranger."""
    from models.eval.clips import clip_paths, encode_jpeg, load_clip

    people = {}
    for path in clip_paths():
        clip = load_clip(path)
        frontal = np.argsort(np.where(np.isnan(clip.parallax), np.inf, np.abs(clip.parallax)))
        chosen = sorted(int(i) for i in frontal[: photos * 10 : 10])  # spread over the clip, not one moment
        people[path.stem.split("_")[-2]] = [encode_jpeg(clip.frames[i]) for i in chosen]
    return people
