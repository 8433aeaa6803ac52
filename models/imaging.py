"""Decode untrusted image bytes into the BGR arrays the models take, refusing anything unsafe or damaged.

Pillow reads the header lazily, so the pixel limit is enforced before a decompression bomb is inflated, and
it raises on a truncated JPEG where a lenient decoder would return a half-grey picture that still "works".
Only common photo formats are accepted: each extra format is more decoder code exposed to uploads.
"""

from __future__ import annotations

import io
import logging

import cv2
import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from models.errors import ImageError

log = logging.getLogger(__name__)

FORMATS = ("JPEG", "PNG", "WEBP", "BMP")


def decode_image(data: bytes, max_bytes: int, max_pixels: int) -> np.ndarray:
    """Return an upright ``(H, W, 3)`` uint8 BGR image, or raise ``ImageError`` with a stable ``code``."""
    if not data:
        raise ImageError("empty", "the image is empty")
    if len(data) > max_bytes:
        raise ImageError("too_large", f"the image is {len(data)} bytes; the limit is {max_bytes}")
    image = _open(data, max_pixels)
    # Pillow's switch for "fill truncated images with grey" is process-global, and some libraries turn it on
    # when imported (face_recognition does): a truncated upload must stay an error here whatever else loaded.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        image.load()
        rgb = _flatten(ImageOps.exif_transpose(image))
    except (OSError, SyntaxError, ValueError) as exc:
        # Pillow's own words stay in the log: they name its internals (decoder states, tile offsets).
        log.debug("image data unreadable: %s", exc)
        raise ImageError("corrupt", "the image data is damaged or truncated") from exc
    return cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2BGR)


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """Open lazily (header only) and enforce the pixel limit before any pixel is decoded."""
    Image.init()  # registers the WebP plugin; a no-op after the first call
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError as exc:
        raise ImageError("not_an_image", f"not a supported image ({', '.join(FORMATS)})") from exc
    except Image.DecompressionBombError as exc:  # Pillow's own, looser limit, checked while opening
        raise ImageError("too_many_pixels", f"the image has more than {max_pixels} pixels") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        log.debug("image header unreadable: %s", exc)
        raise ImageError("corrupt", "the image header is damaged") from exc
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(
            "too_many_pixels", f"the image is {width}x{height} pixels; the limit is {max_pixels} pixels"
        )
    return image


#: Pillow's modes for 16-bit (and 32-bit integer) greyscale, e.g. a 16-bit PNG.
_WIDE_GREY = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, with transparency composited onto white so transparent areas do not turn into black shapes."""
    if image.mode in _WIDE_GREY:
        # Pillow's convert() clips these at 255 (a 16-bit portrait turns white): scale 0-65535 down instead.
        grey = np.asarray(image).astype(np.uint32) // 257
        return Image.fromarray(np.minimum(grey, 255).astype(np.uint8), "L").convert("RGB")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
