"""The gallery's pure logic: name validation (filter injection), collection naming, hit aggregation."""

from __future__ import annotations

import numpy as np
import pytest

from models.gallery import (
    NAME_PATTERN,
    FaceGallery,
    InvalidNameError,
    InvalidVectorsError,
    aggregate,
    collection_name,
    validate_name,
)


@pytest.mark.parametrize("name", ["school-1", "class_7b", "st.mary:year-3", "a", "x" * 128, "42"])
def test_valid_names_pass(name: str) -> None:
    assert validate_name(name, "gallery") == name


@pytest.mark.parametrize(
    "name",
    ['x" or label != "', "x' or 1==1", "a b", "", "x" * 129, "é", "a\nb", "a\\b", "(a)", "a,b", "a\x00"],
)
def test_unsafe_names_are_rejected(name: str) -> None:
    with pytest.raises(InvalidNameError) as info:
        validate_name(name, "label")
    assert info.value.code == "invalid_label"
    assert "1-128 characters" in info.value.message


def test_pattern_cannot_carry_quotes_or_backslashes() -> None:
    """The filter builder quotes with double quotes; the pattern must never admit what escapes them."""
    for char in "\"'\\ \t\n()[]{}=!<>&|,;":
        assert NAME_PATTERN.fullmatch(f"a{char}b") is None


def test_collection_names_are_valid_and_distinct() -> None:
    names = {collection_name(model) for model in ("sface-2021dec-int8bq-fb143eea", "a.b", "a_b", "a-b")}
    assert len(names) == 4
    for name in names:
        assert name.startswith("faces_")
        assert len(name) <= 255
        assert all(ch.isalnum() or ch == "_" for ch in name)


def test_aggregate_picks_best_label_above_threshold() -> None:
    match = aggregate([("ann", 0.61), ("bob", 0.72), ("ann", 0.70), ("ann", 0.65)], threshold=0.4)
    assert (match.label, match.score, match.hits) == ("bob", 0.72, 1)


def test_aggregate_ties_go_to_more_hits() -> None:
    match = aggregate([("ann", 0.7), ("bob", 0.7), ("bob", 0.5)], threshold=0.4)
    assert match.label == "bob" and match.hits == 2


def test_aggregate_below_threshold_is_unknown_with_score() -> None:
    match = aggregate([("ann", 0.31), ("bob", 0.2)], threshold=0.4)
    assert match.label is None and match.score == pytest.approx(0.31) and not match.known


def test_aggregate_without_hits_is_unknown_without_score() -> None:
    match = aggregate([], threshold=0.4)
    assert match.label is None and match.score is None


def test_vectors_are_checked_before_any_connection() -> None:
    gallery = FaceGallery("http://127.0.0.1:9", "m", 4)  # never connected: checks come first
    with pytest.raises(InvalidVectorsError):
        gallery.add("g", "l", np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(InvalidVectorsError):
        gallery.search("g", np.array([[np.nan, 0, 0, 1]], dtype=np.float32))
    with pytest.raises(InvalidNameError):
        gallery.add("bad gallery", "l", np.ones((1, 4), dtype=np.float32))
    assert gallery.add("g", "l", np.zeros((0, 4), dtype=np.float32)) == []
