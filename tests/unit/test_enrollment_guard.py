"""The enrollment identity guard's pure decisions (``app.services.enrollment.service``): which photos are
copies of another, which photo is not the same person as the rest, whether new photos are the enrolled face,
and whether they are another student's. Synthetic unit vectors with chosen cosines stand in for faces: these
are decisions on cosines, and the domain tests (tests/domain/school/test_consent_enrollment.py) run them on
real faces."""

from __future__ import annotations

import numpy as np
import pytest

from app.services.enrollment.service import (
    EXACT_SEARCH_MAX,
    find_copies,
    majority_other,
    odd_photos,
    verifies,
)

THRESHOLD = 0.33  # the 1:1 verify threshold of serve_config.yaml
COPY = 0.95  # enroll_duplicate_min's default


def with_cosines(gram: list[list[float]]) -> np.ndarray:
    """Unit vectors whose pairwise cosines are exactly ``gram`` (rows of its Cholesky factor)."""
    matrix = np.array(gram, dtype=np.float64)
    vectors = np.linalg.cholesky(matrix)
    assert np.allclose(vectors @ vectors.T, matrix)
    return vectors.astype(np.float32)


def people(*sizes: int, same: float = 0.7, other: float = 0.1) -> np.ndarray:
    """Photos of several people in order (``sizes`` photos each): ``same`` cosine within a person,
    ``other`` between people."""
    owner = np.repeat(np.arange(len(sizes)), sizes)
    gram = np.where(owner[:, None] == owner[None, :], same, other)
    np.fill_diagonal(gram, 1.0)
    return with_cosines(gram.tolist())


# ---------------------------------------------------------------------- copies


def test_distinct_photos_are_no_copies() -> None:
    # 0.925: the most similar two different LFW photos of one person measured (docs/ENROLLMENT.md)
    vectors = with_cosines([[1, 0.925, 0.7], [0.925, 1, 0.7], [0.7, 0.7, 1]])
    assert find_copies(vectors, COPY) == [None, None, None]


def test_three_copies_of_one_photo_leave_one() -> None:
    vectors = with_cosines([[1, 0.99, 0.98], [0.99, 1, 0.985], [0.98, 0.985, 1]])
    assert find_copies(vectors, COPY) == [None, 0, 0]


def test_a_copy_names_the_original_even_through_another_copy() -> None:
    """The third is within the limit of the second (itself a copy of the first) but not of the first: it is
    still the first photo again, and the first stays the one kept."""
    vectors = with_cosines([[1, 0.96, 0.93], [0.96, 1, 0.97], [0.93, 0.97, 1]])
    assert find_copies(vectors, COPY) == [None, 0, 0]


def test_a_copy_anywhere_in_the_order() -> None:
    vectors = people(1, 1, 1, same=1.0)  # three different people
    copied = np.concatenate([vectors, vectors[1:2]])  # the second sent again, last
    assert find_copies(copied, COPY) == [None, None, None, 1]


def test_the_copy_limit_is_inclusive() -> None:
    vectors = with_cosines([[1, COPY], [COPY, 1]])
    assert find_copies(vectors, COPY) == [None, 0]
    assert find_copies(vectors, COPY + 0.001) == [None, None]


def test_one_photo_is_an_original() -> None:
    assert find_copies(people(1), COPY) == [None]


# ---------------------------------------------------------------------- one person


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5])
def test_photos_of_one_person_are_consistent(count: int) -> None:
    assert odd_photos(people(count), THRESHOLD) == []


@pytest.mark.parametrize(("genuine", "position"), [(2, 0), (2, 1), (2, 2), (3, 0), (3, 3), (4, 2), (4, 4)])
def test_one_intruder_is_named(genuine: int, position: int) -> None:
    vectors = people(genuine, 1)
    order = list(range(genuine))
    order.insert(position, genuine)  # the intruder's vector at ``position``
    assert odd_photos(vectors[order], THRESHOLD) == [position]


def test_a_minority_of_another_person_is_named() -> None:
    """Three of one person and two of another: the two are outside the one largest consistent set."""
    assert odd_photos(people(3, 2), THRESHOLD) == [3, 4]


def test_two_and_two_refuses_them_all() -> None:
    assert odd_photos(people(2, 2), THRESHOLD) == [0, 1, 2, 3]


def test_two_different_photos_refuse_both() -> None:
    assert odd_photos(people(1, 1), THRESHOLD) == [0, 1]


def test_three_people_refuse_them_all() -> None:
    assert odd_photos(people(1, 1, 1), THRESHOLD) == [0, 1, 2]


def test_no_clear_odd_one_names_the_failing_pair_only() -> None:
    """A and B each look like C, but not like each other: removing either fixes it, so neither is "the" odd
    one; both are named, C (which matches everyone) is not."""
    vectors = with_cosines([[1, 0.2, 0.5], [0.2, 1, 0.5], [0.5, 0.5, 1]])
    assert odd_photos(vectors, THRESHOLD) == [0, 1]


def test_the_threshold_is_inclusive() -> None:
    vectors = with_cosines([[1, THRESHOLD, 0.8], [THRESHOLD, 1, 0.8], [0.8, 0.8, 1]])
    assert odd_photos(vectors, THRESHOLD) == []
    assert odd_photos(vectors, THRESHOLD + 0.001) == [0, 1]


def test_large_enrollments_still_name_the_odd_one_within_the_exact_search() -> None:
    vectors = people(EXACT_SEARCH_MAX - 1, 1)
    assert odd_photos(vectors, THRESHOLD) == [EXACT_SEARCH_MAX - 1]


def test_beyond_the_exact_search_every_photo_of_a_failing_pair_is_named() -> None:
    """A school configuring more photos than the search covers still gets a refusal, never a pass."""
    vectors = people(EXACT_SEARCH_MAX, 1)
    assert odd_photos(vectors, THRESHOLD) == list(range(EXACT_SEARCH_MAX + 1))


# ---------------------------------------------------------------------- re-enrollment


def test_new_photos_of_the_enrolled_face_verify() -> None:
    both = people(6)  # one person: three enrolled photos, three new ones
    assert verifies(both[3:], both[:3], THRESHOLD)


def test_photos_of_someone_else_do_not_verify() -> None:
    both = people(3, 3)
    assert not verifies(both[3:], both[:3], THRESHOLD)


def test_every_new_photo_must_verify_not_just_the_best_pair() -> None:
    """One new photo close to a stored one is not enough: a look-alike photo among others would pass a
    best-pair rule (LFW: 1.8 % of other people at 0.33), so each photo is asked."""
    gram = np.full((4, 4), 0.1)
    np.fill_diagonal(gram, 1.0)
    gram[0, 2] = gram[2, 0] = 0.5  # stored 0 and new 2: one pair matches
    gram[2, 3] = gram[3, 2] = 0.6  # the new photos are one person
    vectors = with_cosines(gram.tolist())
    stored, new = vectors[:2], vectors[2:]
    assert not verifies(new, stored, THRESHOLD)
    assert verifies(new[:1], stored, THRESHOLD)


def test_each_new_photo_needs_only_its_best_stored_match() -> None:
    gram = np.full((4, 4), 0.1)
    np.fill_diagonal(gram, 1.0)
    gram[0, 2] = gram[2, 0] = 0.6  # new 2 matches stored 0 only
    gram[1, 3] = gram[3, 1] = 0.6  # new 3 matches stored 1 only
    vectors = with_cosines(gram.tolist())
    assert verifies(vectors[2:], vectors[:2], THRESHOLD)


# ---------------------------------------------------------------------- another student


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["b", "b", "b"], "b"),
        (["b", "b", None], "b"),
        (["b", "b", "own"], "b"),  # re-enrollment: the student's own old templates are no other student
        (["b", None, None], None),  # one photo in three: a look-alike, not a duplicate
        (["b", "c", None], None),  # two students, one photo each: a common face, not one enrolled twice
        (["b", "b", "c", "c"], None),  # half is no majority
        (["b", "b", "b", "c", "c"], "b"),
        (["own", "own", "own"], None),
        ([None, None, None], None),
        ([], None),
    ],
)
def test_a_majority_of_one_other_student(labels: list[str | None], expected: str | None) -> None:
    assert majority_other(labels, "own") == expected
