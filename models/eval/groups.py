"""FNMR and FMR by group (issue 16, item 7), with the groups that can honestly be formed here.

A per-demographic report needs demographic labels. None are available: ``/work/shared/faces`` holds LFW
(names and pairs files only) and 60 CelebA identities (numbered folders, without CelebA's attribute file),
and no installed package ships LFW or CelebA attribute annotations (checked: no ``lfw_attributes.txt``,
``list_attr_celeba.txt`` or similar in the environment; downloading them at run time is not allowed).
Guessing gender, age or skin tone with another model would report that model's errors as ours.

What is reported instead, from the data and the detected faces themselves (no new model):
- ``source``: LFW (``pairsDevTest.txt``, centre face, 250x250 deep-funneled crops) against CelebA (every pair
  of the 60 identities' photos, largest face, uncropped web photos);
- ``face_size``: the smaller face of the pair (min of box width and height, pixels), cut at 64 px, the
  enrollment quality gate's minimum, and 128 px;
- ``yaw``: the more turned face of the pair (|yaw| from the five landmarks, ``models.quality.head_pose``),
  cut at 15 degrees and 35 degrees (the enrollment gate's maximum).
A pair is put in the bucket of its worse image. Pairs with an image without a detected face are left out of
the buckets and counted under ``failed_detections``. The buckets are confounded with the source (CelebA
holds nearly all small and turned faces), so each bucket is also split by source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from models.eval.datasets import identity_folders, read_pairs
from models.eval.encoder import Encoded, FaceEncoder
from models.quality import head_pose

NO_ATTRIBUTES = (
    "no demographic labels available: /work/shared/faces and the installed packages hold no LFW or CelebA "
    "attribute annotations (gender, age, ethnicity, skin tone), so groups are by dataset source and by "
    "face size and yaw measured on each detected face"
)
#: (name, upper bound) per bucket, checked in order: a value goes to the first bucket it is below.
SIZE_BUCKETS: tuple[tuple[str, float], ...] = (("<64 px", 64.0), ("64-127 px", 128.0), (">=128 px", np.inf))
YAW_BUCKETS: tuple[tuple[str, float], ...] = (
    ("|yaw|<15", 15.0),
    ("|yaw| 15-35", 35.0),
    ("|yaw|>=35", np.inf),
)

_BUCKETS = {"face_size": SIZE_BUCKETS, "yaw": YAW_BUCKETS}


@dataclass(frozen=True, slots=True)
class Rates:
    genuine: int
    false_non_matches: int
    fnmr: float
    impostor: int
    false_matches: int
    fmr: float


def bucket(values: np.ndarray, buckets: Sequence[tuple[str, float]]) -> list[str]:
    """The name of the first bucket whose upper bound each value is below."""
    names = [name for name, _ in buckets]
    bounds = np.array([upper for _, upper in buckets])
    return [names[int(np.argmax(value < bounds))] for value in np.asarray(values, dtype=np.float64)]


def rates(scores: np.ndarray, same: np.ndarray, threshold: float) -> Rates:
    """FNMR (genuine pairs below the threshold) and FMR (impostor pairs at or above it)."""
    accepted = np.asarray(scores) >= threshold
    same = np.asarray(same, dtype=bool)
    genuine, impostor = int(same.sum()), int((~same).sum())
    misses, false = int((same & ~accepted).sum()), int((~same & accepted).sum())
    return Rates(
        genuine=genuine,
        false_non_matches=misses,
        fnmr=misses / genuine if genuine else 0.0,
        impostor=impostor,
        false_matches=false,
        fmr=false / impostor if impostor else 0.0,
    )


def all_pairs(labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first, second, same) over every unordered pair of distinct images."""
    first, second = np.triu_indices(len(labels), k=1)
    names = np.asarray(labels)
    return first, second, names[first] == names[second]


def face_conditions(encoded: Encoded) -> tuple[np.ndarray, np.ndarray]:
    """(face size in px, |yaw| in degrees) of each image's chosen face; nan where none was found."""
    if encoded.boxes is None or encoded.landmarks is None:
        raise ValueError("face conditions need the detected boxes and landmarks")
    size = np.minimum(encoded.boxes[:, 2] - encoded.boxes[:, 0], encoded.boxes[:, 3] - encoded.boxes[:, 1])
    yaw = np.array([abs(head_pose(points)[0]) for points in encoded.landmarks])
    return np.where(encoded.found, size, np.nan), np.where(encoded.found, yaw, np.nan)


@dataclass(slots=True)
class _PairSet:
    source: str
    scores: np.ndarray
    same: np.ndarray
    size: np.ndarray  # the smaller face of the pair
    yaw: np.ndarray  # the more turned face of the pair


def _pair_set(
    source: str, encoded: Encoded, first: np.ndarray, second: np.ndarray, same: np.ndarray
) -> _PairSet:
    size, yaw = face_conditions(encoded)
    ok = encoded.found[first] & encoded.found[second]
    first, second, same = first[ok], second[ok], same[ok]
    scores = np.einsum("ij,ij->i", encoded.vectors[first], encoded.vectors[second])
    return _PairSet(
        source,
        scores,
        same,
        np.minimum(size[first], size[second]),
        np.maximum(yaw[first], yaw[second]),
    )


def run_groups(
    encoder: FaceEncoder,
    lfw_pairs: Path,
    lfw_images: Path,
    celeba: Path,
    thresholds: Sequence[float],
) -> dict[str, object]:
    """FNMR/FMR per group at each threshold (thresholds fixed beforehand, none chosen on these pairs)."""
    pairs = read_pairs(lfw_pairs, lfw_images)
    lfw_paths = sorted({p for pair in pairs for p in (pair.a, pair.b)})
    index = {path: i for i, path in enumerate(lfw_paths)}
    lfw = encoder.encode_cached(lfw_paths, subject="center")
    lfw_set = _pair_set(
        "lfw",
        lfw,
        np.array([index[pair.a] for pair in pairs]),
        np.array([index[pair.b] for pair in pairs]),
        np.array([pair.same for pair in pairs]),
    )
    folders = identity_folders(celeba)
    celeba_labels = [name for name, photos in folders.items() for _ in photos]
    # The same file list `identify` encodes (every photo of the root, largest face): one cache for both.
    celeba_encoded = encoder.encode_cached(
        [p for photos in folders.values() for p in photos], subject="largest"
    )
    celeba_set = _pair_set("celeba", celeba_encoded, *all_pairs(celeba_labels))

    rows: list[dict[str, object]] = []
    for grouping in ("source", "face_size", "yaw"):
        for source in ("lfw", "celeba") if grouping == "source" else ("all", "lfw", "celeba"):
            sets = [s for s in (lfw_set, celeba_set) if source in ("all", s.source)]
            scores = np.concatenate([s.scores for s in sets])
            same = np.concatenate([s.same for s in sets])
            if grouping == "source":
                members, names = np.full(len(scores), source), [source]
            else:
                condition = np.concatenate(
                    [getattr(s, "size" if grouping == "face_size" else "yaw") for s in sets]
                )
                members = np.asarray(bucket(condition, _BUCKETS[grouping]))
                names = [name for name, _ in _BUCKETS[grouping]]
            for name in names:
                mask = members == name
                at = {f"{t:.3f}": asdict(rates(scores[mask], same[mask], t)) for t in thresholds}
                rows.append({"grouping": grouping, "group": name, "source": source, "at": at})
    return {
        "note": NO_ATTRIBUTES,
        "thresholds": list(thresholds),
        "pairs": {"lfw": f"{lfw_pairs.name}, {len(pairs)} pairs", "celeba": "every pair of photos"},
        "images": {"lfw": len(lfw_paths), "celeba": len(celeba_labels)},
        "failed_detections": {"lfw": int((~lfw.found).sum()), "celeba": int((~celeba_encoded.found).sum())},
        "rows": rows,
    }
