"""Browser-facing protections on every response: security headers, and CORS for the configured origins only.

The API answers JSON (and CSV/XLSX downloads) to kiosks, staff apps and scripts; no answer of it should ever
be framed, sniffed into another type, cached by a shared cache or sent along as a referrer. Every answer gets
``default-src 'none'`` unless it is a page: the interactive docs (``/docs``, ``/redoc``) load Swagger UI's
and ReDoc's script and style from this origin (``app.api.docs``) and get a policy that allows those (each
page adds the hashes of its own inline scripts); a small HTML page of the API (the unsubscribe page) may post
its own form. Headers a response sets itself win (the web app sets its own policy, ``app.api.web``): this
middleware only fills in what is missing.

CORS is off unless ``cors_origins`` names origins (a kiosk or staff web app served elsewhere): only those get
``Access-Control-Allow-Origin``; never ``*``, since requests carry credentials.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import Settings

#: On every response.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
}
#: Answers hold personal data: no shared or browser cache keeps them.
NO_STORE = "no-store"
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
#: An HTML answer of the API itself: inline style at most, and its form posts back to this origin.
PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
DOCS_PATHS = ("/docs", "/redoc")


def docs_policy(script_hashes: Iterable[str] = ()) -> str:
    """What the docs pages (``app.api.docs``) load, all from this origin: Swagger UI's and ReDoc's bundles,
    the OpenAPI document, inline styles (both inject them), ``data:`` icons and ReDoc's ``blob:`` worker;
    inline scripts only by the SHA-256 (base64) of each the page holds."""
    allowed = "".join(f" 'sha256-{digest}'" for digest in script_hashes)
    return (
        f"default-src 'none'; script-src 'self'{allowed}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; worker-src blob:; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


#: Anything else under the docs' paths (their assets, a 404 there): no inline script at all.
DOCS_CSP = docs_policy()


class SecurityHeadersMiddleware:
    """Adds ``SECURITY_HEADERS``, a Content-Security-Policy and ``Cache-Control: no-store`` (unless the route
    set its own) to every HTTP response, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = str(scope.get("path", "")).startswith(DOCS_PATHS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                page = headers.get("content-type", "").startswith("text/html")
                policy = DOCS_CSP if docs else PAGE_CSP if page else API_CSP
                headers.setdefault("Content-Security-Policy", policy)
                headers.setdefault("Cache-Control", NO_STORE)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_browser_protections(app: FastAPI, settings: Settings) -> None:
    """Register both middlewares; call it last, so CORS wraps everything (its preflight answers and the
    error answers of the inner middlewares get the headers too)."""
    app.add_middleware(SecurityHeadersMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-API-Key", "X-Request-ID"],
            expose_headers=["Retry-After", "Idempotent-Replayed", "Content-Disposition"],
            max_age=600,
        )
