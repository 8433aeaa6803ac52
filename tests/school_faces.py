"""Real faces for the school-flow tests (domain and integration): three people to enroll, a stranger, and
group frames made of real photos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

#: Three people to enroll (4 usable LFW photos each: 3 to enroll, the 4th to check in) and a stranger.
PEOPLE = {
    "lagos": ("Ricardo_Lagos", [1, 2, 3, 9]),
    "wolfowitz": ("Paul_Wolfowitz", [2, 3, 4, 7]),
    "lopez": ("Jennifer_Lopez", [3, 4, 5, 7]),
}
STRANGER = ("Zhu_Rongji", [4])


def load_photos(faces_dir: Path) -> dict[str, list[bytes]]:
    """``name -> [photo bytes]`` for PEOPLE and ``"stranger"`` (LFW, from ``../shared/faces``)."""
    lfw = faces_dir / "lfw"
    every = {**PEOPLE, "stranger": STRANGER}
    return {
        key: [(lfw / person / f"{person}_{n:04d}.jpg").read_bytes() for n in numbers]
        for key, (person, numbers) in every.items()
    }


def side_by_side(*jpegs: bytes) -> bytes:
    """One frame holding several people (a group check-in), made of real photos placed side by side."""
    images = [cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) for data in jpegs]
    height = max(image.shape[0] for image in images)
    padded = [cv2.copyMakeBorder(im, 0, height - im.shape[0], 0, 0, cv2.BORDER_CONSTANT) for im in images]
    ok, encoded = cv2.imencode(".jpg", np.hstack(padded))
    assert ok
    return encoded.tobytes()
