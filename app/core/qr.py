"""QR codes rendered on the server as SVG (segno 1.6.6, BSD-3-Clause), for the TOTP enrolment URI and the
one-time check-in codes.

Why here and not in the browser: the secret or code is already in the answer, so drawing it server-side adds
no exposure, and the web app (whose policy allows no third-party script) and any other client get a picture
they can show as it is, inline or as ``data:image/svg+xml``. The SVG is a whole document (with its namespace,
a ``viewBox`` so it scales to any size, a white quiet zone and background so it scans on a dark page too).
"""

from __future__ import annotations

import io

import segno

#: Error correction "M" (15 %): what authenticator apps and phone cameras read well at screen sizes; segno
#: raises it when the content still fits the same symbol size.
ERROR_LEVEL = "m"


def qr_svg(content: str, title: str) -> str:
    """``content`` as a QR code in one SVG document; ``title`` is its accessible name (no secret in it)."""
    buffer = io.BytesIO()
    segno.make(content, error=ERROR_LEVEL, micro=False).save(
        buffer, kind="svg", xmldecl=False, omitsize=True, dark="#000", light="#fff", border=4, title=title
    )
    return buffer.getvalue().decode("utf-8")
