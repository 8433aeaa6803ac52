"""Readers for the evaluation sets' layouts: LFW pairs files and a folder per identity."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def faces_root() -> Path:
    """The shared face data, ``../shared/faces`` from the repository root unless ROLLCALL_FACES_DIR says."""
    default = Path(__file__).resolve().parents[2].parent / "shared" / "faces"
    return Path(os.environ.get("ROLLCALL_FACES_DIR", default))


@dataclass(frozen=True, slots=True)
class Pair:
    a: Path
    b: Path
    same: bool
    fold: int


def lfw_image(root: Path, name: str, number: str) -> Path:
    return root / name / f"{name}_{int(number):04d}.jpg"


def read_pairs(pairs_file: Path, images: Path) -> list[Pair]:
    """Parse an LFW pairs file: View 1 (``N`` then N same + N different) or View 2 (``folds N``, per fold)."""
    lines = [line.split() for line in pairs_file.read_text().splitlines() if line.strip()]
    header, body = lines[0], lines[1:]
    if len(header) == 1:
        folds, per_fold = 1, int(header[0])
    elif len(header) == 2:
        folds, per_fold = int(header[0]), int(header[1])
    else:
        raise ValueError(f"{pairs_file}: first line must be 'N' or 'FOLDS N', got {' '.join(header)!r}")
    if len(body) != folds * per_fold * 2:
        raise ValueError(f"{pairs_file}: expected {folds * per_fold * 2} pairs, found {len(body)}")
    pairs: list[Pair] = []
    for index, fields in enumerate(body):
        fold = index // (2 * per_fold)
        if len(fields) == 3:
            name, first, second = fields
            pairs.append(Pair(lfw_image(images, name, first), lfw_image(images, name, second), True, fold))
        elif len(fields) == 4:
            name_a, first, name_b, second = fields
            pairs.append(
                Pair(lfw_image(images, name_a, first), lfw_image(images, name_b, second), False, fold)
            )
        else:
            raise ValueError(f"{pairs_file}: line {index + 2} is not an LFW pair: {' '.join(fields)!r}")
    return pairs


def identity_folders(root: Path) -> dict[str, list[Path]]:
    """Map each identity folder to its images, sorted so enrollment/probe splits are reproducible."""
    identities: dict[str, list[Path]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if photos:
            identities[folder.name] = photos
    return identities
