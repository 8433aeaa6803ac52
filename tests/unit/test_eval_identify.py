"""Identification evaluation logic (issue 16): rosters, fusion, tuned thresholds, gallery sizes, groups.

Pure metric functions on hand-made unit vectors; no model is loaded and no face is involved.
"""

from pathlib import Path

import numpy as np
import pytest

from models.eval.encoder import Encoded, FaceEncoder
from models.eval.groups import SIZE_BUCKETS, YAW_BUCKETS, all_pairs, bucket, rates
from models.eval.identify import (
    best_candidates,
    duplicates,
    fuse_probes,
    fusion_groups,
    label_scores,
    mean_templates,
    reachable_sizes,
    roster_mask,
    sample_rosters,
    split_halves,
)
from models.eval.metrics import threshold_at_fpir, tuned_operating_point
from models.fusion import fuse
from models.gallery import aggregate


def _unit(rows: list[list[float]]) -> np.ndarray:
    array = np.asarray(rows, dtype=np.float64)
    return array / np.linalg.norm(array, axis=1, keepdims=True)


# ------------------------------------------------------------------------------------------------ rosters

ENROLLED = [f"s{i:03d}" for i in range(100)]


def test_a_mated_roster_holds_its_own_identity_and_k_distinct_labels():
    truth = ENROLLED[:50] * 4
    for name, roster in zip(truth, sample_rosters(truth, ENROLLED, 30, seed=7), strict=True):
        assert name in roster
        assert len(roster) == len(set(roster)) == 30
        assert set(roster) <= set(ENROLLED)


def test_a_stranger_roster_is_k_distinct_enrolled_labels():
    rosters = sample_rosters([None, "not-enrolled"] * 20, ENROLLED, 30, seed=1)
    assert all(len(set(r)) == 30 and set(r) <= set(ENROLLED) for r in rosters)
    assert "not-enrolled" not in {name for r in rosters for name in r}


def test_rosters_are_reproducible_with_a_seed_and_differ_between_seeds():
    truth = [*ENROLLED[:20], None, None]
    first = sample_rosters(truth, ENROLLED, 10, seed=3)
    assert sample_rosters(truth, list(reversed(ENROLLED)), 10, seed=3) == first  # pool order: irrelevant
    assert sample_rosters(truth, ENROLLED, 10, seed=4) != first


def test_the_other_roster_members_are_drawn_uniformly_not_always_the_neighbours():
    rosters = sample_rosters(["s050"] * 400, ENROLLED, 2, seed=0)
    others = {r[1] for r in rosters}
    assert "s050" not in others
    assert len(others) > 90  # 400 draws of one other label from 99 reach nearly all of them


def test_another_classs_roster_never_holds_the_searchers_own_identity():
    truth = ENROLLED[:50] * 4
    rosters = sample_rosters(truth, ENROLLED, 30, seed=7, include_own=False)
    for name, roster in zip(truth, rosters, strict=True):
        assert name not in roster
        assert len(set(roster)) == 30 and set(roster) <= set(ENROLLED)
    assert sorted(sample_rosters(["b"], ["a", "b", "c"], 30, seed=0, include_own=False)[0]) == ["a", "c"]


def test_a_roster_larger_than_the_gallery_is_the_whole_gallery():
    assert sorted(sample_rosters(["b"], ["a", "b", "c"], 30, seed=0)[0]) == ["a", "b", "c"]
    with pytest.raises(ValueError):
        sample_rosters(["a"], [], 3, seed=0)


def test_roster_search_finds_the_best_label_inside_the_roster_only():
    names = ["a", "b", "c"]
    scores = np.array([[0.9, 0.5, 0.1], [0.9, 0.5, 0.1]])
    mask = roster_mask([["b", "c"], ["a"]], names)
    labels, top = best_candidates(scores, names, np.array([True, True]), mask)
    assert labels == ["b", "a"]
    assert top.tolist() == [0.5, 0.9]


def test_a_search_without_a_face_returns_nobody():
    labels, top = best_candidates(np.array([[0.9, 0.1]]), ["a", "b"], np.array([False]))
    assert labels == [None] and top.tolist() == [-1.0]


def test_label_scores_give_each_label_its_best_vector_as_the_gallery_aggregates():
    vectors = _unit([[1, 0, 0], [0.6, 0.8, 0], [0, 1, 0], [0, 0, 1]])
    vector_labels = ["b", "a", "b", "c"]
    probe = _unit([[1, 1, 0]])
    names, scores = label_scores(probe, vectors, vector_labels)
    assert names == ["a", "b", "c"]
    sims = (probe @ vectors.T)[0]
    assert scores[0] == pytest.approx([sims[1], max(sims[0], sims[2]), sims[3]])
    match = aggregate(list(zip(vector_labels, sims.tolist(), strict=True)), threshold=-1.0)
    assert match.label == names[int(scores[0].argmax())]


# ------------------------------------------------------------------------------------------------ fusion


def test_fuse_returns_a_unit_vector_whatever_the_input_lengths():
    rng = np.random.default_rng(0)
    fused = fuse(rng.normal(size=(5, 128)) * rng.uniform(0.1, 10, size=(5, 1)))
    assert fused.shape == (128,)
    assert fused.dtype == np.float32
    assert np.linalg.norm(fused) == pytest.approx(1.0, abs=1e-6)


def test_fusing_one_vector_gives_its_direction_back():
    vector = np.array([3.0, 4.0, 0.0])
    assert fuse(vector[None, :]) == pytest.approx([0.6, 0.8, 0.0])
    assert fuse(vector) == pytest.approx([0.6, 0.8, 0.0])


def test_fuse_is_the_normalised_weighted_mean_of_unit_vectors():
    vectors = np.array([[1.0, 0.0], [0.0, 5.0]])  # the length of the second must not count
    assert fuse(vectors) == pytest.approx([np.sqrt(0.5), np.sqrt(0.5)])
    weighted = fuse(vectors, np.array([3.0, 1.0]))
    assert weighted == pytest.approx(np.array([3.0, 1.0]) / np.sqrt(10))
    assert fuse(vectors, np.array([1.0, 0.0])) == pytest.approx([1.0, 0.0])  # weight 0: ignored


@pytest.mark.parametrize(
    ("vectors", "weights"),
    [
        (np.zeros((0, 4)), None),
        (np.array([[1.0, 0.0], [0.0, 0.0]]), None),
        (np.array([[1.0, np.nan]]), None),
        (np.array([[1.0, 0.0], [-1.0, 0.0]]), None),  # they cancel out
        (np.array([[1.0, 0.0]]), np.array([1.0, 2.0])),
        (np.array([[1.0, 0.0]]), np.array([-1.0])),
        (np.array([[1.0, 0.0]]), np.array([0.0])),
    ],
)
def test_fuse_refuses_what_has_no_direction(vectors, weights):
    with pytest.raises(ValueError):
        fuse(vectors, weights)


def test_fusion_groups_take_n_consecutive_photos_of_one_identity_and_drop_the_rest():
    owners = ["a"] * 7 + ["b"] * 3 + ["c"] * 2
    assert fusion_groups(owners, 3) == [[0, 1, 2], [3, 4, 5], [7, 8, 9]]
    assert fusion_groups(owners, 1) == [[i] for i in range(12)]


def test_fused_probes_skip_photos_without_a_face_and_weigh_by_detection_score():
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]], dtype=np.float32)
    encoded = Encoded(vectors, np.array([True, True, False, False]), np.array([0.9, 0.3, 0.0, 0.0]))
    fused, found = fuse_probes(encoded, [[0, 1], [2, 3]])
    assert found.tolist() == [True, False]
    assert fused[0] == pytest.approx(np.array([0.9, 0.3]) / np.hypot(0.9, 0.3), abs=1e-6)
    assert fused[1].tolist() == [0.0, 0.0]


def test_mean_templates_are_one_unit_vector_per_label():
    vectors = _unit([[1, 0], [0, 1], [1, 1]])
    names, templates = mean_templates(vectors, ["a", "a", "b"])
    assert names == ["a", "b"]
    assert templates == pytest.approx(_unit([[1, 1], [1, 1]]), abs=1e-6)


# ------------------------------------------------------------------------------------------------ thresholds


def test_the_fpir_threshold_is_chosen_on_the_tune_half_and_reported_on_the_test_half():
    # 200 strangers a half; tune strangers top out at 0.5, test strangers reach 0.8.
    tune_strangers = np.linspace(0.0, 0.5, 200)
    test_strangers = np.linspace(0.0, 0.8, 200)
    mated = np.array([0.45, 0.6, 0.9, 0.45, 0.6, 0.9])
    scores = np.concatenate([tune_strangers, test_strangers, mated])
    truth = [None] * 400 + ["a", "b", "c", "a", "b", "c"]
    labels = ["x"] * 400 + ["a", "b", "c", "a", "b", "c"]
    tune = np.array([True] * 200 + [False] * 200 + [True] * 3 + [False] * 3)
    point = tuned_operating_point(labels, scores, truth, tune, fpir=0.01)
    tune_only = threshold_at_fpir(scores[tune], [t for t, x in zip(truth, tune, strict=True) if x], 0.01)
    assert point.threshold == tune_only
    assert tune_strangers[-3] < point.threshold <= tune_strangers[-2]  # 2 of 200 allowed above
    assert point.tune.fpir == pytest.approx(0.01)
    assert point.test.fpir > 0.3  # the test strangers were never seen: the threshold does not hold for them
    assert point.tune.rank1 == point.test.rank1 == pytest.approx(2 / 3)
    assert point.tune.mated == point.test.mated == 3


def test_the_halves_split_known_and_unknown_identities_each_and_reproducibly():
    known = [f"k{i}" for i in range(48)]
    unknown = [f"u{i}" for i in range(12)]
    halves = split_halves(known, unknown, seed=0)
    assert set(halves) == set(known) | set(unknown)
    assert sum(halves[name] == "tune" for name in known) == 24
    assert sum(halves[name] == "tune" for name in unknown) == 6
    assert split_halves(list(reversed(known)), unknown, seed=0) == halves
    assert split_halves(known, unknown, seed=1) != halves


# ------------------------------------------------------------------------------------------------ sizes


def test_gallery_sizes_between_the_root_and_root_plus_distractors_are_reachable():
    assert reachable_sizes([60, 500, 2000], known=48, distractors=3098) == ([60, 500, 2000], [])
    assert reachable_sizes([2000, 60, 500, 60], known=48, distractors=1000) == ([60, 500], [2000])
    assert reachable_sizes([20, 48], known=48, distractors=0) == ([48], [20])


def test_a_distractor_is_the_same_person_only_when_most_of_the_identitys_photos_agree():
    photos = _unit([[1, 0, 0], [0.9, 0.1, 0], [0.95, 0, 0.1], [0, 1, 0], [0, 0.9, 0.3]])
    owners = ["ann", "ann", "ann", "bob", "bob"]
    candidates = _unit([[1, 0.05, 0], [0.3, 0.3, 1], [0.7, 0.7, 0]])
    # ann's three photos all agree with the first; the second matches nobody; the third is halfway.
    assert duplicates(candidates, photos, owners, threshold=0.9) == ["ann", None, None]
    assert duplicates(candidates[:0], photos, owners) == []


# ------------------------------------------------------------------------------------------------ cache


class _CountingEncoder(FaceEncoder):
    """Stands in for the models: one fixed vector per file name, and a count of real encodes."""

    def __init__(self) -> None:
        class _Named:
            name = "fake-detector"
            model_id = "fake-embedder"
            dim = 2

        super().__init__(_Named(), _Named())  # type: ignore[arg-type]
        self.calls = 0

    def encode(self, paths, subject):  # type: ignore[override]
        self.calls += 1
        values = np.array([[float(Path(p).stem), 1.0] for p in paths], dtype=np.float32)
        n = len(paths)
        return Encoded(values, np.ones(n, bool), np.ones(n), np.zeros((n, 4)), np.zeros((n, 5, 2)))


def test_cached_encodings_come_back_in_the_callers_order_and_are_not_recomputed(tmp_path, monkeypatch):
    monkeypatch.setenv("ROLLCALL_MODEL_CACHE", str(tmp_path))
    encoder = _CountingEncoder()
    paths = [tmp_path / f"{n}.jpg" for n in (3, 1, 2)]
    first = encoder.encode_cached(paths, "center")
    assert first.vectors[:, 0].tolist() == [3.0, 1.0, 2.0]
    again = encoder.encode_cached(list(reversed(paths)), "center")
    assert again.vectors[:, 0].tolist() == [2.0, 1.0, 3.0]
    assert encoder.calls == 1
    assert len(list((tmp_path / "eval").glob("encoded-*.npz"))) == 1
    encoder.encode_cached(paths, "largest")  # another subject rule is another set of vectors
    assert encoder.calls == 2


# ------------------------------------------------------------------------------------------------ groups


def test_buckets_put_each_value_in_the_first_bucket_it_is_below():
    assert bucket(np.array([10, 63.9, 64, 127, 128, 500]), SIZE_BUCKETS) == [
        "<64 px",
        "<64 px",
        "64-127 px",
        "64-127 px",
        ">=128 px",
        ">=128 px",
    ]
    assert bucket(np.array([0, 15, 40]), YAW_BUCKETS) == ["|yaw|<15", "|yaw| 15-35", "|yaw|>=35"]


def test_group_rates_count_misses_and_false_matches_at_the_threshold():
    result = rates(np.array([0.9, 0.2, 0.5, 0.1, 0.6]), np.array([True, True, True, False, False]), 0.5)
    assert (result.genuine, result.false_non_matches, result.impostor, result.false_matches) == (3, 1, 2, 1)
    assert result.fnmr == pytest.approx(1 / 3) and result.fmr == pytest.approx(0.5)


def test_all_pairs_are_every_unordered_pair_once():
    first, second, same = all_pairs(["a", "a", "b"])
    assert list(zip(first.tolist(), second.tolist(), strict=True)) == [(0, 1), (0, 2), (1, 2)]
    assert same.tolist() == [True, False, False]
