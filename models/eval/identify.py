"""1:N open-set identification through the Matcher's own gallery code, on a folder per identity."""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from models.eval.datasets import identity_folders
from models.eval.encoder import FaceEncoder
from models.eval.metrics import identification, threshold_at_fpir
from models.gallery import FaceGallery

_GALLERY = "eval"


@dataclass(frozen=True, slots=True)
class IdentifyReport:
    profile: str
    rank1: float
    rank1_closed: float
    fnir: float
    fpir: float
    threshold: float
    probes: int
    mated_probes: int
    non_mated_probes: int
    enrolled_identities: int
    unknown_identities: int
    failed_detections: int
    threshold_at_fpir_1pct: float
    rank1_at_fpir_1pct: float

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def split_identities(names: list[str], unknown_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Hold out a reproducible random share of identities as strangers who are never enrolled."""
    shuffled = [str(name) for name in np.random.default_rng(seed).permutation(sorted(names))]
    n_unknown = round(len(shuffled) * unknown_fraction)
    return sorted(shuffled[n_unknown:]), sorted(shuffled[:n_unknown])


def run_identify(
    encoder: FaceEncoder,
    profile: str,
    root: Path,
    *,
    enroll: int,
    unknown_fraction: float,
    threshold: float,
    top_k: int = 5,
    seed: int = 0,
) -> IdentifyReport:
    """Enroll ``enroll`` photos per known identity, then search every other photo (largest face each)."""
    folders = identity_folders(root)
    known, unknown = split_identities(list(folders), unknown_fraction, seed)
    enroll_paths = [(name, path) for name in known for path in folders[name][:enroll]]
    probe_paths = [(name, path) for name in known for path in folders[name][enroll:]]
    probe_paths += [(None, path) for name in unknown for path in folders[name]]

    with tempfile.TemporaryDirectory(prefix="rollcall-eval-") as tmp:
        # A fresh Milvus Lite file per run: the same gallery code as the Matcher, and nothing left behind.
        gallery = FaceGallery(str(Path(tmp) / "eval.db"), encoder.embedder.model_id, encoder.embedder.dim)
        try:
            enrolled = encoder.encode([path for _, path in enroll_paths], subject="largest")
            for (name, _), vector, found in zip(enroll_paths, enrolled.vectors, enrolled.found, strict=True):
                if found:
                    gallery.add(_GALLERY, name, vector[None, :])
            probes = encoder.encode([path for _, path in probe_paths], subject="largest")
            # A probe with no detected face is a search that returned nobody: a miss, or a correct reject.
            matches = gallery.search(_GALLERY, probes.vectors[probes.found], top_k=top_k, threshold=-1.0)
        finally:
            gallery.close()

    labels: list[str | None] = [None] * len(probe_paths)
    scores = np.full(len(probe_paths), -1.0)
    for row, match in zip(np.flatnonzero(probes.found), matches, strict=True):
        labels[row], scores[row] = match.label, match.score if match.score is not None else -1.0
    truth = [name for name, _ in probe_paths]
    result = identification(labels, scores, truth, threshold)
    strict = threshold_at_fpir(scores, truth, 0.01)
    return IdentifyReport(
        profile=profile,
        rank1=result.rank1,
        rank1_closed=result.rank1_closed,
        fnir=result.fnir,
        fpir=result.fpir,
        threshold=threshold,
        probes=len(probe_paths),
        mated_probes=result.mated,
        non_mated_probes=result.non_mated,
        enrolled_identities=len(known),
        unknown_identities=len(unknown),
        failed_detections=int((~enrolled.found).sum() + (~probes.found).sum()),
        threshold_at_fpir_1pct=strict,
        rank1_at_fpir_1pct=identification(labels, scores, truth, strict).rank1,
    )
