"""The API docs work without internet (issue 19): /docs, /redoc and Swagger UI's OAuth2 redirect page are
public, refer only to same-origin URLs, and every asset they name answers 200 with its type, byte for byte
the installed package's file; each page's policy runs exactly its own inline scripts."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

import pytest

from app.api.docs import ASSETS_DIR

EXPECTED_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".json": "application/json",
}


class References(HTMLParser):
    """Every URL a page loads (src, href, ReDoc's spec-url) and the text of its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_inline = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.urls += [value for name, value in found.items() if name in ("src", "href", "spec-url") and value]
        self._in_inline = tag == "script" and "src" not in found

    def handle_data(self, data: str) -> None:
        if self._in_inline:
            self.inline.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_inline = False


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.mark.parametrize("page", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_the_docs_pages_load_everything_from_this_origin(auth_client, page: str) -> None:
    response = auth_client.get(page)  # no credentials: the docs are public
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert not re.search(r"https?://", response.text)  # no CDN, no font host
    refs = References()
    refs.feed(response.text)
    policy = response.headers["content-security-policy"]
    script_src = next(part for part in policy.split(";") if part.strip().startswith("script-src")).split()
    assert set(script_src) == {"script-src", "'self'", *map(_sha256, refs.inline)}
    if page == "/docs/oauth2-redirect":
        assert refs.inline and not refs.urls
        return
    assert refs.urls
    for url in refs.urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = auth_client.get(url)
        suffix = url[url.rfind(".") :]
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].startswith(EXPECTED_TYPES[suffix]), (url, asset.headers)
        if url.startswith("/docs/assets/"):
            assert asset.content == (ASSETS_DIR / url.rsplit("/", 1)[1]).read_bytes()


def test_swagger_ui_starts_with_this_apps_document(auth_client) -> None:
    refs = References()
    refs.feed(auth_client.get("/docs").text)
    (start,) = refs.inline
    assert "url: '/openapi.json'" in start and "/docs/oauth2-redirect" in start
    assert "/docs/assets/swagger-ui-bundle.js" in refs.urls
    assert auth_client.get("/docs/assets/nothing.js").status_code == 404
    assert auth_client.get("/docs/assets/../../README.md").status_code == 404
