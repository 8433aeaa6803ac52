"""Malformed, hostile and unusual images, built in code from a real face photo: what the decoder and the API
are tested against (tests/unit/test_malformed_images.py, tests/domain/school/test_malformed_images_http.py).

Each case says what must come of it: a stable error code (and its HTTP status), or a decoded picture in which
the real face is still found.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

PORTRAIT = "lfw/Aaron_Peirsol/Aaron_Peirsol_0001.jpg"


@dataclass(frozen=True)
class Malformed:
    name: str
    build: Callable[[bytes], bytes]  # from the portrait's JPEG bytes
    code: str | None  # the ImageError / API error code; None: decodes, and the face is found
    status: int = 200

    @property
    def decodes(self) -> bool:
        return self.code is None


def _bgr(jpeg: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)


def _pil(jpeg: bytes) -> Image.Image:
    return Image.open(io.BytesIO(jpeg)).convert("RGB")


def _save(image: Image.Image, format_: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format_, **params)
    return buffer.getvalue()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png(side: int, pixels: bytes) -> bytes:
    """An 8-bit RGB PNG of side x side declared pixels holding ``pixels`` (compressed scanlines)."""
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def png_bomb(side: int = 100_000) -> bytes:
    """A few hundred bytes declaring side x side pixels (10^10 by default): must be refused unread."""
    return _png(side, zlib.compress(b"\0" * 64))


@cache
def huge_png(jpeg: bytes, side: int = 10_000) -> bytes:
    """A real, valid side x side (100 MP) RGB PNG with the face in its corner, written row by row so that
    neither the test nor the file holds 300 MB (black rows compress to almost nothing)."""
    face = _bgr(jpeg)[..., ::-1]  # RGB
    height, width = face.shape[:2]
    black = bytes(side * 3)
    packer = zlib.compressobj(6)
    parts = []
    for row in range(side):
        line = bytearray(black)
        if row < height:
            line[: width * 3] = face[row].tobytes()
        parts.append(packer.compress(b"\0" + bytes(line)))
    parts.append(packer.flush())
    return _png(side, b"".join(parts))


def _png16(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", image.astype(np.uint16) * 257)
    assert ok
    return encoded.tobytes()


def heic_named_jpeg(jpeg: bytes) -> bytes:
    """HEIC's container start (an ISO-BMFF ``ftyp`` box, brand ``heic``) then data: what an iPhone photo
    renamed to .jpg looks like to the decoder."""
    ftyp = struct.pack(">I", 24) + b"ftypheic" + struct.pack(">I", 0) + b"mif1heic"
    return ftyp + struct.pack(">I", 8 + len(jpeg)) + b"mdat" + jpeg


def animated_gif(jpeg: bytes) -> bytes:
    still = _pil(jpeg)
    return _save(still, "GIF", save_all=True, append_images=[still.rotate(8), still.rotate(-8)], loop=0)


def animated_webp(jpeg: bytes) -> bytes:
    still = _pil(jpeg)
    return _save(still, "WEBP", save_all=True, append_images=[still.rotate(4)], quality=90)


CASES = [
    Malformed("zero_bytes", lambda jpeg: b"", "empty", 422),
    Malformed("truncated_jpeg", lambda jpeg: jpeg[: len(jpeg) * 6 // 10], "corrupt", 422),
    Malformed("jpeg_header_only", lambda jpeg: jpeg[:200], "corrupt", 422),
    Malformed("png_bomb_10_gigapixels", lambda jpeg: png_bomb(), "too_many_pixels", 413),
    Malformed("png_100_megapixels", huge_png, "too_many_pixels", 413),
    Malformed("cmyk_jpeg", lambda jpeg: _save(_pil(jpeg).convert("CMYK"), "JPEG", quality=95), None),
    Malformed("png_16bit_colour", lambda jpeg: _png16(_bgr(jpeg)), None),
    Malformed("png_16bit_grey", lambda jpeg: _png16(cv2.cvtColor(_bgr(jpeg), cv2.COLOR_BGR2GRAY)), None),
    Malformed("animated_gif", animated_gif, "not_an_image", 422),
    Malformed("webp", lambda jpeg: _save(_pil(jpeg), "WEBP", quality=90), None),
    Malformed("animated_webp", animated_webp, None),
    Malformed("heic_named_jpeg", heic_named_jpeg, "not_an_image", 422),
]


def portrait(faces_dir: Path) -> bytes:
    return (faces_dir / PORTRAIT).read_bytes()
