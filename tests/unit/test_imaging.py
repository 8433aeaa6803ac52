import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from models.errors import ImageError
from models.imaging import decode_image

MAX_BYTES = 10_000_000
MAX_PIXELS = 25_000_000
PORTRAIT = "lfw/Aaron_Peirsol/Aaron_Peirsol_0001.jpg"


def _decode(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS):
    return decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels)


def _code(data, **limits):
    with pytest.raises(ImageError) as raised:
        _decode(data, **limits)
    return raised.value.code


def _encode(image, format_, **params):
    buffer = io.BytesIO()
    image.save(buffer, format=format_, **params)
    return buffer.getvalue()


def _png_header(width, height):
    """A PNG whose header claims the given size but carries no pixel data at all."""

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_jpeg_decodes_to_bgr(faces_dir):
    data = (faces_dir / PORTRAIT).read_bytes()
    image = _decode(data)
    assert image.shape == (250, 250, 3)
    assert image.dtype == np.uint8
    rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    np.testing.assert_array_equal(image, rgb[..., ::-1])


def test_webp_with_a_jpg_name_decodes(faces_dir):
    assert _decode((faces_dir / "libs/deepface/person_03/img47.jpg").read_bytes()).shape == (1800, 1350, 3)


def test_rgba_png_loses_alpha_onto_white():
    pixels = np.zeros((4, 4, 4), np.uint8)
    pixels[0, 0] = (0, 0, 255, 255)  # opaque blue
    image = _decode(_encode(Image.fromarray(pixels, "RGBA"), "PNG"))
    assert image.shape == (4, 4, 3)
    assert tuple(image[0, 0]) == (255, 0, 0)  # BGR
    assert tuple(image[1, 1]) == (255, 255, 255)


def test_grayscale_becomes_three_channels():
    image = _decode(_encode(Image.new("L", (8, 6), 77), "PNG"))
    assert image.shape == (6, 8, 3)
    assert np.all(image == 77)


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = _encode(Image.new("RGB", (40, 20), (10, 200, 10)), "JPEG", exif=exif)
    assert _decode(data).shape == (40, 20, 3)


def test_empty():
    assert _code(b"") == "empty"


def test_too_many_bytes(faces_dir):
    assert _code((faces_dir / PORTRAIT).read_bytes(), max_bytes=1000) == "too_large"


@pytest.mark.parametrize("side", [6_000, 100_000])
def test_pixel_bomb_is_refused_from_its_header(side):
    assert _code(_png_header(side, side)) == "too_many_pixels"


def test_pixel_limit_applies_to_real_images(faces_dir):
    assert _code((faces_dir / PORTRAIT).read_bytes(), max_pixels=250 * 249) == "too_many_pixels"


@pytest.mark.parametrize("data", [b"hello, world", b"GIF89a" + bytes(32), b"%PDF-1.7\n"])
def test_not_an_image(data):
    assert _code(data) == "not_an_image"


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.05])
def test_truncated_jpeg_is_corrupt_not_half_decoded(faces_dir, fraction):
    data = (faces_dir / PORTRAIT).read_bytes()
    assert _code(data[: int(len(data) * fraction)]) == "corrupt"


def test_header_without_pixels_is_corrupt():
    assert _code(_png_header(64, 64)) == "corrupt"
