"""Detector profiles by name, so deployments and evaluations pick one from configuration.

"fast" is YuNet; "accurate" is MTCNN, imported only when asked for so the fast path never loads its module.
"""

from __future__ import annotations

from pathlib import Path

from models.detectors.yunet import YunetDetector
from models.runtime import RuntimeOptions
from models.types import FaceDetector

PROFILES = ("fast", "accurate")


def load_detector(
    profile: str, cache_dir: Path | None = None, options: RuntimeOptions | None = None
) -> FaceDetector:
    if profile == "fast":
        return YunetDetector.load(cache_dir, options)
    if profile == "accurate":
        from models.detectors.mtcnn import MtcnnDetector

        return MtcnnDetector.load(cache_dir, options)
    raise ValueError(f"unknown detector profile {profile!r}; known: {', '.join(PROFILES)}")
