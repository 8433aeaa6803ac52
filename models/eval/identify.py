"""1:N open-set identification through the Matcher's own gallery code, on a folder per identity.

Beyond the school-wide search at the root's own size (the original figures, unchanged), it measures what a
school deployment meets (issue 16):

- gallery size: other people's photos (``distractors``, e.g. LFW) enrolled as extra identities, so the same
  probes are searched among 60, 500 or 2,000 identities; distractors are never probes;
- roster search: each search only among K enrolled identities (a class), which holds the probe's own;
- honest thresholds: the FPIR = 1 % threshold is chosen on half of the root's identities (``tune``) and
  reported on the other half (``test``);
- burst fusion (``models.fusion.fuse``) and max-over-templates against mean templates.
"""

from __future__ import annotations

import inspect
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from models.eval.datasets import identity_folders
from models.eval.encoder import Encoded, FaceEncoder
from models.eval.metrics import identification, threshold_at_fpir, tuned_operating_point
from models.fusion import fuse
from models.gallery import FaceGallery, Match

_GALLERY = "eval"
_MEAN_GALLERY = "eval-mean"
#: Distractor labels carry this prefix, so an LFW name can never collide with one of the root's identities.
DISTRACTOR_PREFIX = "distractor:"
#: A school (about 2,000 students) and a mid-sized one, next to the root's own size.
DEFAULT_SIZES = (60, 500, 2000)
TARGET_FPIR = 0.01
#: The Matcher's 1:N threshold in serve_config.yaml (the in-sample FPIR = 1 % point of this evaluation at
#: 48 identities, docs/MODELS.md); every kind of search also reports its figures at it.
MATCHER_THRESHOLD = 0.42
#: Median cosine to a root identity's photos at which a distractor counts as that same person. On CelebA
#: (fast profile) a photo's median to its own identity's other photos is 0.59 (10th percentile 0.41); the
#: highest median of any of 1,952 LFW distractors to another person's photos was 0.42, and the one above
#: 0.5 (0.78) was verified by eye to be the same man under two names.
OVERLAP_MEDIAN = 0.5

Labels = list[str | None]


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
    #: The added figures (tune/test, roster, by_gallery_size, templates, fusion, search, ...), merged into
    #: the JSON object after the keys above, which keep their meaning: school-wide, the root's own size.
    details: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data.update(data.pop("details"))
        return data


# ---------------------------------------------------------------------------------------------- pure helpers


def split_identities(names: list[str], unknown_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Hold out a reproducible random share of identities as strangers who are never enrolled."""
    shuffled = [str(name) for name in np.random.default_rng(seed).permutation(sorted(names))]
    n_unknown = round(len(shuffled) * unknown_fraction)
    return sorted(shuffled[n_unknown:]), sorted(shuffled[:n_unknown])


def split_halves(known: Sequence[str], unknown: Sequence[str], seed: int) -> dict[str, str]:
    """``"tune"`` or ``"test"`` per identity: known and unknown identities are each halved by a seeded
    permutation, so both halves hold mated and non-mated searches, and no person is in both (a threshold
    chosen on someone's photos is not tested on that person's other photos)."""
    rng = np.random.default_rng([seed, 16])  # its own stream: independent of the known/unknown split
    halves: dict[str, str] = {}
    for group in (known, unknown):
        shuffled = [str(name) for name in rng.permutation(sorted(group))]
        cut = (len(shuffled) + 1) // 2
        halves.update({name: "tune" if i < cut else "test" for i, name in enumerate(shuffled)})
    return halves


def sample_rosters(
    truth: Sequence[str | None], enrolled: Sequence[str], k: int, seed: int, *, include_own: bool = True
) -> list[list[str]]:
    """A roster of ``k`` distinct enrolled labels per search, reproducible from ``seed``.

    A mated search's roster holds its own identity and ``k - 1`` others drawn at random (the class the
    student is checking into); a stranger's (or a student whose enrollment failed) is ``k`` random enrolled
    labels. ``include_own=False`` draws ``k`` labels other than the searcher's own: a student of another
    class at this class's kiosk. ``k`` larger than what can be drawn is everything that can.
    """
    pool = sorted(set(enrolled))
    if not pool:
        raise ValueError("a roster needs at least one enrolled identity")
    position = {name: i for i, name in enumerate(pool)}
    rng = np.random.default_rng(seed)
    rosters: list[list[str]] = []
    for name in truth:
        own = position.get(name) if name is not None else None
        if own is None:
            picked = rng.choice(len(pool), size=min(k, len(pool)), replace=False)
        else:
            others = rng.choice(len(pool) - 1, size=min(k - include_own, len(pool) - 1), replace=False)
            others[others >= own] += 1  # skip the own label in the draw without building a list per search
            picked = np.concatenate(([own], others)) if include_own else others
        rosters.append([pool[i] for i in picked])
    return rosters


def reachable_sizes(requested: Sequence[int], known: int, distractors: int) -> tuple[list[int], list[int]]:
    """(sizes that can be built, sizes that cannot): a size is the number of enrolled identities, the root's
    ``known`` ones plus ``size - known`` distractors, so it must lie in ``[known, known + distractors]``."""
    wanted = sorted(set(requested))
    reachable = [size for size in wanted if known <= size <= known + distractors]
    return reachable, [size for size in wanted if size not in reachable]


def label_scores(
    probes: np.ndarray, vectors: np.ndarray, vector_labels: Sequence[str]
) -> tuple[list[str], np.ndarray]:
    """(labels, scores ``(P, L)``): each probe's cosine to each label's best vector, the exact numpy
    counterpart of ``models.gallery.aggregate`` (a label scores its best hit); vectors are unit length."""
    names = sorted(set(vector_labels))
    if not names:
        return [], np.zeros((len(probes), 0))
    position = {name: i for i, name in enumerate(names)}
    column = np.array([position[label] for label in vector_labels])
    order = np.argsort(column, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(column[order]) != 0])
    similarities = np.asarray(probes, dtype=np.float64) @ np.asarray(vectors, dtype=np.float64)[order].T
    return names, np.maximum.reduceat(similarities, starts, axis=1)


def best_candidates(
    scores: np.ndarray, names: Sequence[str], found: np.ndarray, allowed: np.ndarray | None = None
) -> tuple[Labels, np.ndarray]:
    """Each probe's best label among the ``allowed`` ones (``(P, L)`` bool; all when None) and its score;
    a probe without a detected face returns nobody (label None, score -1), as the Matcher would."""
    masked = scores if allowed is None else np.where(allowed, scores, -np.inf)
    if masked.shape[1] == 0:
        return [None] * len(found), np.full(len(found), -1.0)
    best = masked.argmax(axis=1)
    top = masked[np.arange(len(best)), best]
    ok = np.asarray(found, dtype=bool) & np.isfinite(top)
    labels: Labels = [names[j] if hit else None for j, hit in zip(best, ok, strict=True)]
    return labels, np.where(ok, top, -1.0)


def roster_mask(rosters: Sequence[Sequence[str]], names: Sequence[str]) -> np.ndarray:
    """``(P, L)`` bool: which labels each search may return."""
    position = {name: i for i, name in enumerate(names)}
    mask = np.zeros((len(rosters), len(names)), dtype=bool)
    for row, roster in enumerate(rosters):
        mask[row, [position[name] for name in roster]] = True
    return mask


def mean_templates(vectors: np.ndarray, vector_labels: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """One template per label: the mean of its enrolled unit vectors, re-normalised (``fuse`` unweighted)."""
    names = sorted(set(vector_labels))
    labels = np.asarray(vector_labels)
    rows = [fuse(vectors[labels == name]) for name in names]
    return names, np.stack(rows) if rows else np.zeros((0, vectors.shape[1]), dtype=np.float32)


def fusion_groups(owners: Sequence[str], n: int) -> list[list[int]]:
    """Rows of ``n`` consecutive probes of the same identity (photos in file order); an identity's last,
    incomplete group is dropped, so every fused search holds exactly ``n`` photos."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    by_owner: dict[str, list[int]] = {}
    for row, owner in enumerate(owners):
        by_owner.setdefault(owner, []).append(row)
    groups: list[list[int]] = []
    for rows in by_owner.values():
        groups.extend(rows[i : i + n] for i in range(0, len(rows) - n + 1, n))
    return groups


def fuse_probes(encoded: Encoded, groups: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, found) of one fused search per group: the group's detected photos fused with their
    detection scores as weights; a group in which no photo yielded a face is a search with no face."""
    vectors = np.zeros((len(groups), encoded.vectors.shape[1]), dtype=np.float32)
    found = np.zeros(len(groups), dtype=bool)
    scores = encoded.scores if encoded.scores is not None else np.ones(len(encoded.found))
    for i, rows in enumerate(groups):
        hit = [row for row in rows if encoded.found[row]]
        if hit:
            vectors[i] = fuse(encoded.vectors[hit], np.maximum(scores[hit], 1e-6))
            found[i] = True
    return vectors, found


def operating_figures(
    labels: Labels, scores: np.ndarray, truth: Labels, tune: np.ndarray, threshold: float
) -> dict[str, object]:
    """The figures of one kind of search: every search at the fixed ``threshold`` and at the Matcher's, and
    the FPIR = 1 % threshold chosen on the tune half with its figures on both halves."""
    at = identification(labels, scores, truth, threshold)
    matcher = identification(labels, scores, truth, MATCHER_THRESHOLD)
    point = tuned_operating_point(labels, scores, truth, tune, TARGET_FPIR)
    return {
        "at_threshold": {"threshold": threshold, **asdict(at)},
        "at_matcher_threshold": {"threshold": MATCHER_THRESHOLD, **asdict(matcher)},
        "fpir_1pct": {"threshold": point.threshold, "tune": asdict(point.tune), "test": asdict(point.test)},
    }


# ---------------------------------------------------------------------------------------------- the run


def gallery_supports_labels() -> bool:
    """Whether ``FaceGallery.search`` can restrict a search to some labels (``labels=``, issue 16)."""
    return "labels" in inspect.signature(FaceGallery.search).parameters


def duplicates(
    candidates: np.ndarray, photos: np.ndarray, owners: Sequence[str], threshold: float = OVERLAP_MEDIAN
) -> list[str | None]:
    """The root identity each candidate vector is the same person as, or None.

    Public-figure sets overlap (LFW and CelebA share people), and a distractor who is really one of the
    root's people turns that person's searches into "wrong identity" and a stranger's into a hit at ~0.8.
    A candidate is that person when its *median* cosine to the identity's photos reaches ``threshold``:
    a single look-alike photo does not move a median, a real match moves all of them.
    """
    if len(candidates) == 0 or len(photos) == 0:
        return [None] * len(candidates)
    names = sorted(set(owners))
    owner = np.asarray(owners)
    similarities = np.asarray(candidates, dtype=np.float64) @ np.asarray(photos, dtype=np.float64).T
    medians = np.stack([np.median(similarities[:, owner == name], axis=1) for name in names], axis=1)
    best = medians.argmax(axis=1)
    return [names[j] if medians[i, j] >= threshold else None for i, j in enumerate(best)]


@dataclass(slots=True)
class DistractorSet:
    labels: list[str]
    vectors: np.ndarray
    failed_detections: int = 0
    available_identities: int = 0
    #: distractor name -> the root identity it is the same person as (left out of the gallery)
    overlaps: dict[str, str] = field(default_factory=dict)


def distractor_set(
    encoder: FaceEncoder,
    root: Path,
    count: int,
    seed: int,
    root_photos: np.ndarray,
    root_owners: Sequence[str],
) -> DistractorSet:
    """``count`` distractor identities, one vector each, none of them one of the root's people.

    Identities are taken in a seeded random order (not alphabetical, which would favour some names), one
    photo each (the first), centre face; one without a detected face, or the same person as a root identity
    (``duplicates``, over every detected photo of the root), is replaced by the next in the order.
    Encodings are cached on disk, so every gallery size and every run reuses them.
    """
    folders = identity_folders(root)
    order = [str(name) for name in np.random.default_rng([seed, 2000]).permutation(sorted(folders))]
    result = DistractorSet([], np.zeros((0, encoder.embedder.dim), dtype=np.float32))
    result.available_identities = len(order)
    chunks: list[np.ndarray] = []
    start = 0
    while len(result.labels) < count and start < len(order):
        batch = order[start : start + count - len(result.labels)]
        start += len(batch)
        encoded = encoder.encode_cached([folders[name][0] for name in batch], subject="center")
        result.failed_detections += int((~encoded.found).sum())
        same = duplicates(encoded.vectors, root_photos, root_owners)
        keep = encoded.found & np.array([twin is None for twin in same], dtype=bool)
        result.overlaps.update(
            {name: twin for name, twin, ok in zip(batch, same, encoded.found, strict=True) if ok and twin}
        )
        result.labels += [DISTRACTOR_PREFIX + name for name, ok in zip(batch, keep, strict=True) if ok]
        chunks.append(encoded.vectors[keep])
    if chunks:
        result.vectors = np.concatenate(chunks)
    return result


class _Milvus:
    """Searches through the product's ``FaceGallery`` (Milvus Lite, HNSW), one partition per gallery."""

    def __init__(self, gallery: FaceGallery, top_k: int) -> None:
        self.gallery = gallery
        self.top_k = top_k

    def add(self, partition: str, labels: Sequence[str], vectors: np.ndarray) -> None:
        by_label: dict[str, list[int]] = {}
        for row, label in enumerate(labels):
            by_label.setdefault(label, []).append(row)
        for label, rows in by_label.items():
            self.gallery.add(partition, label, vectors[rows])

    def search(
        self,
        partition: str,
        vectors: np.ndarray,
        found: np.ndarray,
        rosters: Sequence[Sequence[str]] | None = None,
    ) -> tuple[Labels, np.ndarray]:
        """Top label and score per search; a search without a face returns nobody (None, -1)."""
        labels: Labels = [None] * len(found)
        scores = np.full(len(found), -1.0)
        rows = np.flatnonzero(found)
        if rosters is None:
            matches = self.gallery.search(partition, vectors[rows], top_k=self.top_k, threshold=-1.0)
        else:  # one call per search: each has its own roster
            # Typed loosely: ``labels=`` is only called for when ``gallery_supports_labels()`` said it exists.
            search: Callable[..., list[Match]] = self.gallery.search
            matches = [
                search(
                    partition,
                    vectors[row : row + 1],
                    top_k=self.top_k,
                    threshold=-1.0,
                    labels=rosters[int(row)],
                )[0]
                for row in rows
            ]
        for row, match in zip(rows, matches, strict=True):
            labels[row] = match.label
            scores[row] = match.score if match.score is not None else -1.0
        return labels, scores


@dataclass(slots=True)
class _Searches:
    """One set of searches (single photos or fused bursts) and what every kind of search needs of them."""

    vectors: np.ndarray  # (P, dim)
    found: np.ndarray  # (P,) a face was detected (fused: in at least one photo)
    truth: Labels  # enrolled identity, None for a stranger
    tune: np.ndarray  # (P,) bool: the search belongs to the tune half
    names: list[str]  # every enrolled label (root and distractors), the columns of ``scores``
    scores: np.ndarray  # (P, L) exact cosine to each label's best vector


def _roster_search(
    milvus: _Milvus, partition: str, searches: _Searches, rosters: Sequence[Sequence[str]], use_labels: bool
) -> tuple[Labels, np.ndarray, float | None]:
    """(labels, scores, agreement): each search among its roster, through ``FaceGallery.search(labels=)``
    when it has that (agreement: share of top labels equal to the exact numpy search), else in numpy."""
    allowed = roster_mask(rosters, searches.names)
    exact_labels, exact_scores = best_candidates(searches.scores, searches.names, searches.found, allowed)
    if not use_labels:
        return exact_labels, exact_scores, None
    labels, scores = milvus.search(partition, searches.vectors, searches.found, rosters)
    agree = float(np.mean([a == b for a, b in zip(labels, exact_labels, strict=True)])) if labels else 1.0
    return labels, scores, agree


def _roster_figures(
    milvus: _Milvus,
    partition: str,
    searches: _Searches,
    pool: Sequence[str],
    k: int,
    seed: int,
    threshold: float,
    use_labels: bool,
) -> dict[str, object]:
    """Roster search at one gallery: each search among ``k`` of ``pool`` (its own identity included).

    ``other_class`` adds the impostor a roster meets most: an enrolled student searched against a roster
    of ``k`` others (another class's kiosk). Those searches are non-mated for the roster, so they join the
    strangers in ``with_other_class``, whose FPIR = 1 % threshold is chosen on many more non-mated searches.
    """
    labels, scores, agree = _roster_search(
        milvus, partition, searches, sample_rosters(searches.truth, pool, k, seed), use_labels
    )
    figures: dict[str, object] = {
        "k": min(k, len(set(pool))),
        **operating_figures(labels, scores, searches.truth, searches.tune, threshold),
    }
    mated = np.array([i for i, name in enumerate(searches.truth) if name is not None], dtype=np.int64)
    if mated.size and len(set(pool)) > 1:
        others = _Searches(
            searches.vectors[mated],
            searches.found[mated],
            [None] * mated.size,
            searches.tune[mated],
            searches.names,
            searches.scores[mated],
        )
        rosters = sample_rosters([searches.truth[i] for i in mated], pool, k, seed + 1, include_own=False)
        o_labels, o_scores, o_agree = _roster_search(milvus, partition, others, rosters, use_labels)
        tuned = figures["fpir_1pct"]["threshold"]  # type: ignore[index]
        test = ~others.tune
        figures["other_class"] = {
            "searches": int(mated.size),
            "fpir_test_at_roster_threshold": identification(
                [o_labels[i] for i in np.flatnonzero(test)], o_scores[test], [None] * int(test.sum()), tuned
            ).fpir,
            "fpir_at_matcher_threshold": identification(
                o_labels, o_scores, others.truth, MATCHER_THRESHOLD
            ).fpir,
            "with_other_class": operating_figures(
                labels + o_labels,
                np.concatenate([scores, o_scores]),
                [*searches.truth, *others.truth],
                np.concatenate([searches.tune, others.tune]),
                threshold,
            ),
        }
        if o_agree is not None and agree is not None:
            agree = (agree * len(labels) + o_agree * len(o_labels)) / (len(labels) + len(o_labels))
    if agree is not None:
        figures["milvus_agrees_with_exact"] = agree
    return figures


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
    distractors: Path | None = None,
    sizes: Sequence[int] | None = None,
    roster: int | None = None,
    fuse_n: int | None = None,
) -> IdentifyReport:
    """Enroll ``enroll`` photos per known identity, then search every other photo (largest face each).

    School-wide searches go through ``FaceGallery`` (Milvus Lite); roster searches too when it accepts
    ``labels=``, else exactly in numpy over the same vectors (the output's ``search`` says which).
    """
    folders = identity_folders(root)
    known, unknown = split_identities(list(folders), unknown_fraction, seed)
    halves = split_halves(known, unknown, seed)
    enroll_paths = [(name, path) for name in known for path in folders[name][:enroll]]
    probe_paths = [(name, path) for name in known for path in folders[name][enroll:]]
    probe_paths += [(name, path) for name in unknown for path in folders[name]]
    owners = [name for name, _ in probe_paths]
    known_set = set(known)
    truth: Labels = [name if name in known_set else None for name in owners]
    tune = np.array([halves[name] == "tune" for name in owners], dtype=bool)

    # Every photo of the root in one cached call: the same file list `groups` encodes, so either fills both.
    everything = encoder.encode_cached([path for _, path in enroll_paths + probe_paths], subject="largest")
    all_owners = [name for name, _ in enroll_paths + probe_paths]
    enrolled = everything.take(np.arange(len(enroll_paths)))
    probes = everything.take(np.arange(len(enroll_paths), len(enroll_paths) + len(probe_paths)))
    vector_labels = [name for (name, _), ok in zip(enroll_paths, enrolled.found, strict=True) if ok]
    vectors = enrolled.vectors[enrolled.found]
    root_labels = sorted(set(vector_labels))

    requested = list(sizes) if sizes else (list(DEFAULT_SIZES) if distractors else [len(root_labels)])
    extra = DistractorSet([], np.zeros((0, vectors.shape[1]), dtype=np.float32))
    if distractors is not None and max(requested) > len(root_labels):
        extra = distractor_set(
            encoder,
            distractors,
            max(requested) - len(root_labels),
            seed,
            everything.vectors[everything.found],
            [owner for owner, ok in zip(all_owners, everything.found, strict=True) if ok],
        )
    d_labels, d_vectors = extra.labels, extra.vectors
    reachable, skipped = reachable_sizes(requested, len(root_labels), len(d_labels))

    all_labels = vector_labels + d_labels
    all_vectors = np.concatenate([vectors, d_vectors])
    names, scores_all = label_scores(probes.vectors, all_vectors, all_labels)
    singles = _Searches(probes.vectors, probes.found, truth, tune, names, scores_all)
    use_labels = gallery_supports_labels()
    # Identities with at least one enrolled vector: the gallery's size (a failed enrollment is not in it).
    details: dict[str, object] = {"gallery_identities": len(root_labels)}

    def members(size: int) -> list[str]:
        return root_labels + d_labels[: size - len(root_labels)]

    with tempfile.TemporaryDirectory(prefix="rollcall-eval-") as tmp:
        # A fresh Milvus Lite file per run: the same gallery code as the Matcher, and nothing left behind.
        gallery = FaceGallery(str(Path(tmp) / "eval.db"), encoder.embedder.model_id, encoder.embedder.dim)
        milvus = _Milvus(gallery, top_k)
        try:
            milvus.add(_GALLERY, vector_labels, vectors)
            school = milvus.search(_GALLERY, probes.vectors, probes.found)
            mean_names, mean_vectors = mean_templates(vectors, vector_labels)
            milvus.add(_MEAN_GALLERY, mean_names, mean_vectors)
            mean_school = milvus.search(_MEAN_GALLERY, probes.vectors, probes.found)

            point = tuned_operating_point(*school, truth, tune, TARGET_FPIR)
            details["threshold_tuned_fpir_1pct"] = point.threshold
            details["tune"] = asdict(point.tune)
            details["test"] = asdict(point.test)
            details["split"] = {
                "tune_identities": sum(half == "tune" for half in halves.values()),
                "test_identities": sum(half == "test" for half in halves.values()),
                "tune_non_mated": int(sum(t is None for t, x in zip(truth, tune, strict=True) if x)),
                "test_non_mated": int(sum(t is None for t, x in zip(truth, tune, strict=True) if not x)),
            }
            if roster:
                details["roster"] = _roster_figures(
                    milvus, _GALLERY, singles, root_labels, roster, seed, threshold, use_labels
                )

            by_size: dict[str, object] = {}
            for size in reachable:
                partition = _GALLERY if size == len(root_labels) else f"size-{size}"
                if partition != _GALLERY:
                    count = len(vector_labels) + size - len(root_labels)
                    milvus.add(partition, all_labels[:count], all_vectors[:count])
                labels_s, scores_s = milvus.search(partition, probes.vectors, probes.found)
                allowed = np.isin(names, members(size))[None, :]
                exact, _ = best_candidates(scores_all, names, probes.found, allowed)
                entry: dict[str, object] = {
                    "identities": size,
                    "distractor_identities": size - len(root_labels),
                    "school": operating_figures(labels_s, scores_s, truth, tune, threshold),
                    # HNSW is approximate: the share of searches whose Milvus top label is the exact one.
                    "milvus_agrees_with_exact": float(
                        np.mean([a == b for a, b in zip(labels_s, exact, strict=True)])
                    ),
                }
                if roster:
                    entry["roster"] = _roster_figures(
                        milvus, partition, singles, members(size), roster, seed, threshold, use_labels
                    )
                by_size[str(size)] = entry
            details["by_gallery_size"] = by_size
            details["skipped_sizes"] = {
                str(
                    size
                ): f"not reachable with {len(root_labels)} root identities + {len(d_labels)} distractors"
                for size in skipped
            }
            details["templates"] = {
                "max": operating_figures(*school, truth, tune, threshold),
                "mean": operating_figures(*mean_school, truth, tune, threshold),
            }
            if fuse_n and fuse_n > 1:
                details["fusion"] = _fusion_figures(
                    milvus,
                    probes,
                    owners,
                    singles,
                    fuse_n,
                    all_vectors,
                    all_labels,
                    root_labels,
                    roster,
                    seed,
                    threshold,
                    use_labels,
                )
        finally:
            gallery.close()

    details["search"] = {
        "school": f"FaceGallery.search (Milvus Lite, HNSW, top_k {top_k})",
        "roster": "FaceGallery.search(labels=...)"
        if use_labels
        else "numpy, exact (no FaceGallery.search labels=)",
        "templates_mean": "FaceGallery.search over one mean vector per identity",
    }
    details["distractors"] = {
        "root": str(distractors) if distractors else None,
        "enrolled": len(d_labels),
        "available_identities": extra.available_identities,
        "failed_detections": extra.failed_detections,
        "photo": "first photo of each identity, centre face",
        "left_out_as_same_person": extra.overlaps,
        "same_person_rule": f"median cosine >= {OVERLAP_MEDIAN} to a root identity's photos",
    }
    labels, scores = school
    result = identification(labels, scores, truth, threshold)
    strict = threshold_at_fpir(scores, truth, TARGET_FPIR)
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
        details=details,
    )


def _fusion_figures(
    milvus: _Milvus,
    probes: Encoded,
    owners: Sequence[str],
    singles: _Searches,
    n: int,
    all_vectors: np.ndarray,
    all_labels: Sequence[str],
    root_labels: Sequence[str],
    roster: int | None,
    seed: int,
    threshold: float,
    use_labels: bool,
) -> dict[str, object]:
    """Burst fusion at the root's size: ``n`` photos of one identity fused into one search, next to the
    same groups searched with their first photo only (the baseline fusion has to beat)."""
    groups = fusion_groups(owners, n)
    vectors, found = fuse_probes(probes, groups)
    firsts = np.array([rows[0] for rows in groups], dtype=np.int64)
    truth: Labels = [singles.truth[row] for row in firsts]
    tune = singles.tune[firsts]
    names, scores = label_scores(vectors, all_vectors, all_labels)
    fused = _Searches(vectors, found, truth, tune, names, scores)
    figures: dict[str, object] = {
        "n": n,
        "weights": "detection score",
        "searches": len(groups),
        "mated_searches": sum(t is not None for t in truth),
        "tune_non_mated": int(sum(t is None for t, x in zip(truth, tune, strict=True) if x)),
        "test_non_mated": int(sum(t is None for t, x in zip(truth, tune, strict=True) if not x)),
        "fused": operating_figures(*milvus.search(_GALLERY, vectors, found), truth, tune, threshold),
        "fused_mean_templates": operating_figures(
            *milvus.search(_MEAN_GALLERY, vectors, found), truth, tune, threshold
        ),
        "first_photo_only": operating_figures(
            *milvus.search(_GALLERY, probes.vectors[firsts], probes.found[firsts]), truth, tune, threshold
        ),
    }
    if roster:
        figures["roster"] = _roster_figures(
            milvus, _GALLERY, fused, root_labels, roster, seed, threshold, use_labels
        )
        first = _Searches(
            probes.vectors[firsts], probes.found[firsts], truth, tune, singles.names, singles.scores[firsts]
        )
        figures["roster_first_photo_only"] = _roster_figures(
            milvus, _GALLERY, first, root_labels, roster, seed, threshold, use_labels
        )
    return figures
