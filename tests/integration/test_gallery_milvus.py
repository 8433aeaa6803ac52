"""FaceGallery against both stores it must work on: Milvus Lite (in-process file) and a real Milvus server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import numpy as np
import pytest

from cluster.local.stores import free_port
from models.gallery import FaceGallery, GalleryUnavailableError, InvalidNameError
from tests.integration.milvus_server import LoopbackMilvus

pytestmark = pytest.mark.integration

DIM = 128
MODEL_ID = "test-model/v1"


def unit(rng: np.random.Generator, n: int = 1) -> np.ndarray:
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def near(vector: np.ndarray, rng: np.random.Generator, noise: float = 0.3) -> np.ndarray:
    """Another "photo" of the same person: the vector plus noise, renormalised (cosine ~0.95)."""
    moved = vector + noise * unit(rng, len(vector)) * 0.5
    return (moved / np.linalg.norm(moved, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(params=["lite", "server"])
def gallery(request: pytest.FixtureRequest, tmp_path) -> Iterator[FaceGallery]:
    if request.param == "lite":
        uri = str(tmp_path / "gallery.db")
    else:
        server: LoopbackMilvus = request.getfixturevalue("milvus_server")
        uri = server.uri
    store = FaceGallery(uri, MODEL_ID, DIM)
    yield store
    store.close()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def fresh_name(prefix: str) -> str:
    """Server tests share one collection: each test works in galleries nobody else uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_enroll_then_identify_reads_own_writes(gallery: FaceGallery, rng: np.random.Generator) -> None:
    school = fresh_name("school")
    alice, bob = unit(rng), unit(rng)
    ids = gallery.add(school, "alice", np.vstack([alice, near(alice, rng)]))
    gallery.add(school, "bob", bob)
    assert len(ids) == 2 and len(set(ids)) == 2

    # No sleep: Session consistency must make the writes visible to this client's next search.
    matches = gallery.search(school, np.vstack([near(alice, rng), bob, unit(rng)]), top_k=5, threshold=0.4)
    assert [m.label for m in matches] == ["alice", "bob", None]
    assert matches[0].score is not None and matches[0].score > 0.8
    assert matches[0].hits == 2
    assert matches[1].score == pytest.approx(1.0, abs=1e-3)
    assert matches[2].score is not None and matches[2].score < 0.4
    assert gallery.count(school) == 3


def test_threshold_decides_known_or_unknown(gallery: FaceGallery, rng: np.random.Generator) -> None:
    school = fresh_name("school")
    person = unit(rng)
    gallery.add(school, "carol", person)
    probe = near(person, rng, noise=1.2)
    (loose,) = gallery.search(school, probe, threshold=0.0)
    assert loose.label == "carol" and loose.score is not None
    (strict,) = gallery.search(school, probe, threshold=loose.score + 0.01)
    assert strict.label is None
    assert strict.score == pytest.approx(loose.score, abs=1e-4)


def test_galleries_are_isolated(gallery: FaceGallery, rng: np.random.Generator) -> None:
    school_a, school_b = fresh_name("a"), fresh_name("b")
    person = unit(rng)
    gallery.add(school_a, "dave", person)
    (other,) = gallery.search(school_b, person)
    assert other.label is None and other.score is None  # nothing at all in b, not even a weak hit
    (same,) = gallery.search(school_a, person)
    assert same.label == "dave"
    assert gallery.count(school_b) == 0
    assert gallery.delete(school_b, "dave") == 0
    assert gallery.count(school_a) == 1


def test_delete_then_unknown(gallery: FaceGallery, rng: np.random.Generator) -> None:
    school = fresh_name("school")
    erin, frank = unit(rng), unit(rng)
    gallery.add(school, "erin", np.vstack([erin, near(erin, rng), near(erin, rng)]))
    gallery.add(school, "frank", frank)
    assert gallery.delete(school, "erin") == 3
    # Straight after the delete, the same client must no longer find her (GDPR erase; no sleep).
    erin_match, frank_match = gallery.search(school, np.vstack([erin, frank]))
    assert erin_match.label is None
    assert frank_match.label == "frank"
    assert gallery.delete(school, "erin") == 0
    assert gallery.count(school) == 1


def test_a_roster_search_sees_its_labels_only(gallery: FaceGallery, rng: np.random.Generator) -> None:
    school = fresh_name("school")
    hana, ivan, jo = unit(rng), unit(rng), unit(rng)
    for label, person in (("hana", hana), ("ivan", ivan), ("jo", jo)):
        gallery.add(school, label, np.vstack([person, near(person, rng)]))
    probes = np.vstack([near(hana, rng), near(ivan, rng), near(jo, rng)])
    roster = gallery.search(school, probes, threshold=0.4, labels={"hana", "ivan"})
    assert [m.label for m in roster] == ["hana", "ivan", None]  # jo is in the school, not in the roster
    assert roster[2].score is not None and roster[2].score < 0.4  # the best roster face, not jo's
    assert [m.label for m in gallery.search(school, probes, threshold=0.4)] == ["hana", "ivan", "jo"]
    nobody = gallery.search(school, probes, labels=set())
    assert [(m.label, m.score) for m in nobody] == [(None, None)] * 3
    with pytest.raises(InvalidNameError):
        gallery.search(school, probes, labels={'hana" or label != "'})


def test_unsafe_names_are_rejected_before_milvus(gallery: FaceGallery, rng: np.random.Generator) -> None:
    school = fresh_name("school")
    gallery.add(school, "grace", unit(rng))
    for bad in ['x" or gallery != "', "a b", "", "ä", "x" * 129, 'x"']:
        with pytest.raises(InvalidNameError):
            gallery.search(bad, unit(rng))
        with pytest.raises(InvalidNameError):
            gallery.delete(school, bad)
    assert gallery.count(school) == 1  # the injection attempt deleted nothing


def test_lite_reopen_loads_the_collection(lite_uri: str, rng: np.random.Generator) -> None:
    person = unit(rng)
    first = FaceGallery(lite_uri, MODEL_ID, DIM)
    first.add("school", "heidi", person)
    first.close()
    second = FaceGallery(lite_uri, MODEL_ID, DIM)
    try:
        (match,) = second.search("school", person)
        assert match.label == "heidi"
    finally:
        second.close()


def test_models_get_separate_collections(lite_uri: str, rng: np.random.Generator) -> None:
    person = unit(rng)
    old = FaceGallery(lite_uri, "model-a", DIM)
    new = FaceGallery(lite_uri, "model-b", DIM)
    try:
        old.add("school", "ivan", person)
        assert old.collection != new.collection
        (match,) = new.search("school", person)
        assert match.label is None  # a new model never sees the old model's vectors
    finally:
        old.close()
        new.close()


def test_unreachable_server_is_unavailable(rng: np.random.Generator) -> None:
    dead = FaceGallery(f"http://127.0.0.1:{free_port()}", MODEL_ID, DIM, timeout_s=2)
    with pytest.raises(GalleryUnavailableError):
        dead.search("school", unit(rng))
    with pytest.raises(GalleryUnavailableError):
        dead.add("school", "judy", unit(rng))
