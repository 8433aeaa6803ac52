"""1:1 verification on LFW-format pairs files; the threshold is never chosen on the pairs it scores."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from models.eval.datasets import Pair, read_pairs
from models.eval.encoder import FaceEncoder
from models.eval.metrics import accuracy, best_threshold, kfold_accuracy, tar_at_far


@dataclass(frozen=True, slots=True)
class VerifyReport:
    profile: str
    pairs: int
    accuracy: float
    accuracy_std: float
    threshold: float
    threshold_source: str
    tar_at_far_1e_2: float
    tar_at_far_1e_3: float
    failed_detections: int
    images: int

    def to_json(self) -> dict[str, object]:
        """The contract other tools read: keys with hyphens/dots as documented in the issue."""
        data = asdict(self)
        data["tar_at_far_1e-2"] = data.pop("tar_at_far_1e_2")
        data["tar_at_far_1e-3"] = data.pop("tar_at_far_1e_3")
        return data


def pair_scores(encoder: FaceEncoder, pairs: list[Pair]) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Cosine score per pair; a pair whose image yielded no face scores -1 (it is rejected, not dropped)."""
    paths = sorted({p for pair in pairs for p in (pair.a, pair.b)})
    index = {path: i for i, path in enumerate(paths)}
    encoded = encoder.encode(paths, subject="center")
    a = np.array([index[pair.a] for pair in pairs])
    b = np.array([index[pair.b] for pair in pairs])
    scores = np.einsum("ij,ij->i", encoded.vectors[a], encoded.vectors[b])
    scores[~(encoded.found[a] & encoded.found[b])] = -1.0
    return scores, np.array([pair.same for pair in pairs]), int((~encoded.found).sum()), len(paths)


def run_verify(
    encoder: FaceEncoder,
    profile: str,
    pairs_file: Path,
    images: Path,
    threshold: float | None = None,
    train_pairs: Path | None = None,
) -> VerifyReport:
    """Score ``pairs_file``.

    Threshold, first that applies: ``threshold``; chosen on ``train_pairs``; for LFW View 2 (10 folds) chosen
    on the other nine folds per fold; for ``pairsDevTest.txt`` chosen on its sibling ``pairsDevTrain.txt``.
    """
    pairs = read_pairs(pairs_file, images)
    scores, same, failed, n_images = pair_scores(encoder, pairs)
    folds = np.array([pair.fold for pair in pairs])
    sibling = pairs_file.with_name("pairsDevTrain.txt")
    std = 0.0
    if threshold is not None:
        source = "given"
    elif train_pairs is None and len(np.unique(folds)) > 1:
        folded = kfold_accuracy(scores, same, folds)
        threshold, source, std = float(np.mean(folded.thresholds)), "10-fold cross-validation", folded.std
    else:
        dev_test = pairs_file.name == "pairsDevTest.txt" and sibling.exists()
        train_file = train_pairs or (sibling if dev_test else None)
        if train_file is None:
            raise ValueError("give --threshold or --train-pairs: a View 1 file cannot pick its own threshold")
        train_scores, train_same, _, _ = pair_scores(encoder, read_pairs(train_file, images))
        threshold, source = best_threshold(train_scores, train_same), f"chosen on {train_file.name}"
    # Under cross-validation each fold is scored at its own threshold; the mean threshold is only reported.
    acc = folded.mean if source.startswith("10-fold") else accuracy(scores, same, threshold)
    return VerifyReport(
        profile=profile,
        pairs=len(pairs),
        accuracy=acc,
        accuracy_std=std,
        threshold=threshold,
        threshold_source=source,
        tar_at_far_1e_2=tar_at_far(scores, same, 1e-2),
        tar_at_far_1e_3=tar_at_far(scores, same, 1e-3),
        failed_detections=failed,
        images=n_images,
    )
