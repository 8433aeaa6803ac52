"""The interactive API docs, served whole by this app: Swagger UI at ``/docs`` and ReDoc at ``/redoc``.

FastAPI's own pages load their script and style from a CDN, so on a school network without internet (and
on every machine of this project) they stay blank. These are the same pages (FastAPI's ``get_*_html``,
FastAPI's documented self-hosting recipe) pointed at files of an installed package, read from it at run
time: ``fastapi-offline`` 1.7.7 (MIT), which bundles swagger-ui-dist 5.32.6 (Apache-2.0) and ReDoc 2.5.3's
standalone build (MIT). Only its static files are used, not its ``FastAPIOffline`` app factory: this app
builds its own ``FastAPI``.

The assets are a static mount under ``/docs/assets``: a mount is no API route, so the RBAC matrix and the
OpenAPI document do not see it, and the web app's mount at ``/`` already declines everything under ``/docs``.
Each page gets a Content-Security-Policy allowing scripts from this origin plus the SHA-256 of its own inline
script (Swagger UI's start-up call, the OAuth2 redirect's handler), not ``'unsafe-inline'``: anything else
injected into the page does not run. (ReDoc's footer names a logo on its makers' site; the policy blocks it,
so nothing is fetched from outside and the footer shows its text alone.)
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from app.api.headers import docs_policy

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs/assets"
#: The package's own folder of bundled files (swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js,
#: favicon.png); a missing package fails at start-up, not as a blank page.
ASSETS_DIR = files("fastapi_offline") / "static"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def install_docs(app: FastAPI) -> None:
    """Add the two pages, Swagger UI's OAuth2 redirect page and the assets to an app built with
    ``docs_url=None, redoc_url=None`` (the same public paths FastAPI's own pages have)."""
    if app.openapi_url is None or app.swagger_ui_oauth2_redirect_url is None:
        raise ValueError("the docs need the OpenAPI document and Swagger UI's OAuth2 redirect URL")
    openapi_url, redirect_url = app.openapi_url, app.swagger_ui_oauth2_redirect_url
    app.mount(ASSETS_URL, StaticFiles(directory=str(ASSETS_DIR)), name="docs-assets")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root(request)
        return _with_policy(
            get_swagger_ui_html(
                openapi_url=root + openapi_url,
                title=f"{app.title} - Swagger UI",
                oauth2_redirect_url=root + redirect_url,
                swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
                swagger_ui_parameters=app.swagger_ui_parameters,
            )
        )

    async def oauth2_redirect(request: Request) -> HTMLResponse:
        return _with_policy(get_swagger_ui_oauth2_redirect_html())

    async def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        return _with_policy(
            get_redoc_html(
                openapi_url=root + openapi_url,
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
                redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
                with_google_fonts=False,
            )
        )

    app.add_route(DOCS_URL, swagger_ui, include_in_schema=False)
    app.add_route(redirect_url, oauth2_redirect, include_in_schema=False)
    app.add_route(REDOC_URL, redoc, include_in_schema=False)


def _root(request: Request) -> str:
    """The prefix the app is served under (a proxy's ``root_path``), so asset URLs stay same-origin."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _with_policy(page: HTMLResponse) -> HTMLResponse:
    """The page with a policy naming the hashes of exactly its inline scripts."""
    scripts = _INLINE_SCRIPT.findall(bytes(page.body).decode("utf-8"))
    hashes = [
        base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode() for script in scripts
    ]
    page.headers["Content-Security-Policy"] = docs_policy(hashes)
    return page
