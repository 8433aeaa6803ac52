"""Threshold choice and biometric figures: exact values on hand-made scores."""

from pathlib import Path

import numpy as np
import pytest

from models.eval.datasets import read_pairs
from models.eval.identify import split_identities
from models.eval.metrics import (
    accuracy,
    best_threshold,
    identification,
    kfold_accuracy,
    tar_at_far,
    threshold_at_fpir,
)


def test_best_threshold_separates_perfectly_separable_scores():
    scores = np.array([0.9, 0.8, 0.7, 0.3, 0.2, 0.1])
    same = np.array([True, True, True, False, False, False])
    threshold = best_threshold(scores, same)
    assert 0.3 < threshold < 0.7
    assert accuracy(scores, same, threshold) == 1.0


def test_best_threshold_picks_the_accuracy_maximum_with_overlap():
    scores = np.array([0.9, 0.5, 0.6, 0.4, 0.1])
    same = np.array([True, True, False, False, False])
    threshold = best_threshold(scores, same)
    assert accuracy(scores, same, threshold) == pytest.approx(0.8)


def test_tar_at_far_allows_only_the_permitted_false_accepts():
    impostors = np.linspace(0.0, 0.5, 100)  # highest impostor 0.5, next 0.4949...
    genuine = np.array([0.45, 0.52, 0.6, 0.9])
    scores = np.concatenate([genuine, impostors])
    same = np.array([True] * 4 + [False] * 100)
    assert tar_at_far(scores, same, 1e-3) == pytest.approx(0.75)  # zero impostors: must beat 0.5
    assert tar_at_far(scores, same, 1e-2) == pytest.approx(0.75)  # one impostor allowed: beat 0.4949
    assert tar_at_far(scores, same, 0.2) == pytest.approx(1.0)  # 20 allowed: beat 0.399


def test_kfold_scores_each_fold_with_a_threshold_from_the_others():
    rng = np.random.default_rng(0)
    same = np.tile([True, False], 50)
    scores = np.where(same, 0.7, 0.2) + rng.normal(0, 0.01, 100)
    folds = np.repeat(np.arange(10), 10)
    result = kfold_accuracy(scores, same, folds)
    assert len(result.accuracies) == 10
    assert result.mean == 1.0


def test_identification_counts_misses_false_positives_and_empty_searches():
    labels = ["ann", "bob", None, "ann", "cy"]
    scores = np.array([0.9, 0.2, -1.0, 0.8, 0.1])
    truth = ["ann", "bob", "cy", None, None]
    result = identification(labels, scores, truth, threshold=0.5)
    assert result.mated == 3 and result.non_mated == 2
    assert result.rank1 == pytest.approx(1 / 3)  # bob is right but below threshold; cy found nobody
    assert result.rank1_closed == pytest.approx(2 / 3)
    assert result.fnir == pytest.approx(2 / 3)
    assert result.fpir == pytest.approx(1 / 2)  # the stranger matched ann at 0.8


def test_read_pairs_view1_and_view2(tmp_path: Path):
    view1 = tmp_path / "pairsDevTrain.txt"
    view1.write_text("1\nAnn 1 2\nAnn 1 Bob 3\n")
    pairs = read_pairs(view1, tmp_path)
    assert [p.same for p in pairs] == [True, False]
    assert pairs[0].a == tmp_path / "Ann" / "Ann_0001.jpg"
    assert pairs[1].b == tmp_path / "Bob" / "Bob_0003.jpg"

    view2 = tmp_path / "pairs.txt"
    view2.write_text("2 1\nAnn 1 2\nAnn 1 Bob 1\nCy 1 3\nCy 2 Dee 1\n")
    assert [p.fold for p in read_pairs(view2, tmp_path)] == [0, 0, 1, 1]


def test_read_pairs_rejects_a_wrong_count(tmp_path: Path):
    bad = tmp_path / "pairs.txt"
    bad.write_text("2\nAnn 1 2\n")
    with pytest.raises(ValueError, match="expected 4 pairs"):
        read_pairs(bad, tmp_path)


def test_identity_split_is_reproducible_and_disjoint():
    names = [f"id{i}" for i in range(10)]
    known, unknown = split_identities(names, 0.2, seed=0)
    assert split_identities(list(reversed(names)), 0.2, seed=0) == (known, unknown)
    assert len(unknown) == 2 and not set(known) & set(unknown)


def test_threshold_at_fpir_admits_at_most_the_allowed_strangers():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    truth = ["a", None, None, None, None]
    threshold = threshold_at_fpir(scores, truth, 0.25)  # 1 of 4 strangers may pass
    assert identification(["a", "b", "c", "d", "e"], scores, truth, threshold).fpir == pytest.approx(0.25)
    strict = threshold_at_fpir(scores, truth, 0.0)
    assert identification(["a", "b", "c", "d", "e"], scores, truth, strict).fpir == 0.0
    assert 0.8 < strict < 0.9
