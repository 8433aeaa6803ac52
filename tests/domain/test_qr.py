"""QR codes as SVG (issue 19): each picture is a well-formed SVG document whose dark modules are exactly the
symbol segno builds for the content, and which OpenCV's QR reader (already a dependency) reads back as that
content. The TOTP enrolment answer carries the picture of its otpauth:// URI (the one-time code's:
school/test_checkin.py)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import segno

from app.core.qr import ERROR_LEVEL, qr_svg
from tests.domain.authkit import PASSWORD

SVG = "{http://www.w3.org/2000/svg}"
_STEP = re.compile(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?")


def modules_of(svg: str) -> set[tuple[int, int]]:
    """The dark (row, column) cells the SVG draws, read back from segno's one path of horizontal strokes
    (``M``/``m`` move, ``h`` draws a run), quiet zone included."""
    root = ET.fromstring(svg)  # well-formed, or this raises
    assert root.tag == f"{SVG}svg" and root.get("viewBox")
    (line,) = [path for path in root.iter(f"{SVG}path") if path.get("stroke")]
    dark: set[tuple[int, int]] = set()
    x = y = 0.0
    for command, first, second in _STEP.findall(line.get("d", "")):
        if command == "M":
            x, y = float(first), float(second)
        elif command == "m":
            x, y = x + float(first), y + float(second)
        else:
            run = int(float(first))
            dark.update((int(y), int(x) + offset) for offset in range(run))
            x += run
    return dark


def decoded(svg: str) -> str:
    """What a QR reader finds in the picture: the modules drawn 8 pixels each, black on white."""
    size = int((ET.fromstring(svg).get("viewBox") or "").split()[2])
    image = np.full((size, size), 255, np.uint8)
    for row, column in modules_of(svg):
        image[row, column] = 0
    big = cv2.resize(image, (size * 8, size * 8), interpolation=cv2.INTER_NEAREST)
    text, _, _ = cv2.QRCodeDetectorAruco().detectAndDecode(big)  # the sturdier of its two readers
    return str(text)


def symbol_of(content: str, border: int = 4) -> set[tuple[int, int]]:
    """The dark cells of segno's own symbol for ``content`` (at the same error level), shifted by the quiet
    zone."""
    matrix = segno.make(content, error=ERROR_LEVEL, micro=False).matrix
    return {
        (row + border, column + border)
        for row, cells in enumerate(matrix)
        for column, cell in enumerate(cells)
        if cell
    }


def test_the_svg_draws_the_symbol_of_its_content() -> None:
    for content in (
        "rollcall://checkin?code=ABCDE23456",
        "otpauth://totp/Rollcall:a%40b.org?secret=JBSWY3DP",
    ):
        svg = qr_svg(content, "a title")
        assert modules_of(svg) == symbol_of(content) and decoded(svg) == content
        assert ET.fromstring(svg).find(f"{SVG}title").text == "a title"  # type: ignore[union-attr]
    assert modules_of(qr_svg("one", "t")) != modules_of(qr_svg("two", "t"))


def test_the_mfa_setup_answer_carries_the_picture_of_its_uri(auth_client, auth_world) -> None:
    first = auth_client.post(
        "/v1/auth/login", json={"email": "admin@south.example.org", "password": PASSWORD}
    )
    headers = {"Authorization": f"Bearer {first.json()['setup_token']}"}
    setup = auth_client.post("/v1/auth/mfa/setup", headers=headers).json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/")
    assert decoded(setup["qr_svg"]) == setup["otpauth_uri"]
    assert setup["secret"] not in setup["qr_svg"]  # no text form of the secret (title) in the picture
