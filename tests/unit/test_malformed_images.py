"""The decoder against malformed and unusual images (tests/malformed_images.py): the right error code for each
bad one, the real face for each good one, and refusals that cost neither time nor memory."""

from __future__ import annotations

import resource

import pytest

from models.errors import ImageError
from models.imaging import decode_image
from tests.malformed_images import CASES, Malformed, huge_png, portrait

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # the production default


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_case_decodes_or_gets_its_code(case: Malformed, faces_dir) -> None:
    original = portrait(faces_dir)
    data = case.build(original)
    if case.decodes:
        image = decode_image(data, MAX_BYTES, MAX_PIXELS)
        reference = decode_image(original, MAX_BYTES, MAX_PIXELS)
        assert image.shape[:2] == reference.shape[:2] and image.dtype.name == "uint8"
        # The same picture, give or take compression and colour conversion (a 16-bit grey PNG is grey).
        grey_reference = reference.mean(axis=2)
        assert abs(float(image.mean(axis=2).mean()) - float(grey_reference.mean())) < 8
    else:
        with pytest.raises(ImageError) as raised:
            decode_image(data, MAX_BYTES, MAX_PIXELS)
        assert raised.value.code == case.code


def test_huge_images_are_refused_from_the_header_in_bounded_memory(faces_dir) -> None:
    """100 MP would be 300 MB of pixels: refused before a single row is inflated (the memory shows it; no
    wall-clock limit here: timings are measured in benchmarks, not asserted on a shared machine)."""
    data = huge_png(portrait(faces_dir))
    assert len(data) < 2 * 1024 * 1024  # a small upload: only the pixel limit can stop it
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(20):
        with pytest.raises(ImageError) as raised:
            decode_image(data, MAX_BYTES, MAX_PIXELS)
        assert raised.value.code == "too_many_pixels"
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mib < 50


def test_the_same_100_megapixels_decode_when_allowed(faces_dir) -> None:
    """The image itself is valid: the refusal above is the limit's, not a parse failure."""
    image = decode_image(huge_png(portrait(faces_dir)), MAX_BYTES, 100_000_000)
    assert image.shape == (10_000, 10_000, 3)
