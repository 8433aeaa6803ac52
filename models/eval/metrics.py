"""Biometric figures computed from similarity scores, kept free of I/O so they can be unit-tested exactly.

Conventions: a higher score means "more alike"; a pair or search is accepted when ``score >= threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def best_threshold(scores: np.ndarray, same: np.ndarray) -> float:
    """The threshold that maximises verification accuracy on a development set.

    Candidates are midpoints between consecutive distinct scores, so the choice does not sit on a sample.
    """
    ordered = np.unique(scores)
    if ordered.size == 1:
        return float(ordered[0])
    candidates = np.concatenate(([ordered[0] - 1e-6], (ordered[:-1] + ordered[1:]) / 2, [ordered[-1] + 1e-6]))
    accepted = scores[None, :] >= candidates[:, None]
    correct = (accepted == same[None, :]).sum(axis=1)
    return float(candidates[int(np.argmax(correct))])


def accuracy(scores: np.ndarray, same: np.ndarray, threshold: float) -> float:
    return float(np.mean((scores >= threshold) == same))


def tar_at_far(scores: np.ndarray, same: np.ndarray, far: float) -> float:
    """True accept rate at the lowest threshold whose false accept rate does not exceed ``far``.

    With few impostor pairs the achievable FAR is coarse (500 pairs: steps of 0.2 %), so FAR 1e-3 there means
    "no impostor accepted"; the figure is exact for the set given, not an extrapolation.
    """
    impostor = np.sort(scores[~same])[::-1]
    allowed = int(np.floor(far * impostor.size))
    # Accept strictly above the (allowed+1)-th highest impostor score.
    threshold = impostor[allowed] if allowed < impostor.size else -np.inf
    return float(np.mean(scores[same] > threshold))


@dataclass(frozen=True, slots=True)
class FoldResult:
    accuracies: list[float]
    thresholds: list[float]

    @property
    def mean(self) -> float:
        return float(np.mean(self.accuracies))

    @property
    def std(self) -> float:
        return float(np.std(self.accuracies))


def kfold_accuracy(scores: np.ndarray, same: np.ndarray, folds: np.ndarray) -> FoldResult:
    """LFW View 2 protocol: each fold is scored with the threshold chosen on the other folds."""
    accuracies: list[float] = []
    thresholds: list[float] = []
    for fold in np.unique(folds):
        test = folds == fold
        threshold = best_threshold(scores[~test], same[~test])
        thresholds.append(threshold)
        accuracies.append(accuracy(scores[test], same[test], threshold))
    return FoldResult(accuracies, thresholds)


@dataclass(frozen=True, slots=True)
class IdentificationResult:
    rank1: float  # mated searches whose top candidate is correct and scores >= threshold
    rank1_closed: float  # mated searches whose top candidate is correct, threshold ignored
    fnir: float  # mated searches without the correct identity at rank 1 above threshold
    fpir: float  # non-mated searches returning any candidate above threshold
    mated: int
    non_mated: int


def identification(
    top_labels: list[str | None],
    top_scores: np.ndarray,
    truth: list[str | None],
    threshold: float,
) -> IdentificationResult:
    """Open-set identification figures (ISO/IEC 19795-1 terms) from each probe's best candidate.

    ``truth`` is None for a probe whose identity is not enrolled; ``top_labels`` is None where the gallery
    returned no candidate at all (which counts as a miss for mated and a correct reject for non-mated probes).
    """
    mated = np.array([t is not None for t in truth])
    correct = np.array([lab is not None and lab == t for lab, t in zip(top_labels, truth, strict=True)])
    above = np.array([lab is not None for lab in top_labels]) & (top_scores >= threshold)
    n_mated = int(mated.sum())
    n_non = int((~mated).sum())
    hit = correct & above & mated
    return IdentificationResult(
        rank1=float(hit.sum() / n_mated) if n_mated else 0.0,
        rank1_closed=float((correct & mated).sum() / n_mated) if n_mated else 0.0,
        fnir=float(1 - hit.sum() / n_mated) if n_mated else 0.0,
        fpir=float((above & ~mated).sum() / n_non) if n_non else 0.0,
        mated=n_mated,
        non_mated=n_non,
    )


def threshold_at_fpir(top_scores: np.ndarray, truth: list[str | None], fpir: float) -> float:
    """The lowest threshold at which at most ``fpir`` of the non-mated searches return a candidate.

    This is the operating point NIST FRVT reports (FNIR at FPIR = 0.01): a point on the curve of this set,
    not a threshold tuned for deployment.
    """
    non_mated = np.sort(top_scores[np.array([t is None for t in truth])])[::-1]
    allowed = int(np.floor(fpir * non_mated.size))
    if allowed >= non_mated.size:
        return -np.inf
    return float(np.nextafter(non_mated[allowed], np.inf))


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    """A threshold chosen on one split of the searches and the figures it gives on both splits."""

    threshold: float
    target_fpir: float
    tune: IdentificationResult
    test: IdentificationResult


def tuned_operating_point(
    top_labels: list[str | None],
    top_scores: np.ndarray,
    truth: list[str | None],
    tune: np.ndarray,
    fpir: float = 0.01,
) -> OperatingPoint:
    """Choose the FPIR = ``fpir`` threshold on the searches where ``tune`` is True, score the rest with it.

    ``threshold_at_fpir`` over every search reports a point of that set's own curve, whose FPIR is exact by
    construction; a deployment sets the threshold before it meets its strangers. Choosing it on one half of
    the identities and reporting the other half says what FPIR and FNIR to expect from a threshold fixed in
    advance. With few non-mated searches in the tune half the choice is coarse (under 100 of them, FPIR 1 %
    means "above the highest stranger seen"), and the test FPIR may well exceed the target.
    """
    tune = np.asarray(tune, dtype=bool)
    rows = np.flatnonzero(tune)
    other = np.flatnonzero(~tune)
    scores = np.asarray(top_scores, dtype=np.float64)

    def part(index: np.ndarray) -> tuple[list[str | None], np.ndarray, list[str | None]]:
        return [top_labels[i] for i in index], scores[index], [truth[i] for i in index]

    tune_labels, tune_scores, tune_truth = part(rows)
    threshold = threshold_at_fpir(tune_scores, tune_truth, fpir)
    return OperatingPoint(
        threshold=threshold,
        target_fpir=fpir,
        tune=identification(tune_labels, tune_scores, tune_truth, threshold),
        test=identification(*part(other), threshold),
    )
