"""The web app (kiosk page and staff console, built by Vite into ``web/dist``) served by the ingress at ``/``.

Why a mount and not routes: the API keeps every path it has (an unknown ``/v1`` path stays a JSON 404, a
wrong method a 405), because the mount declines the API's prefixes before matching; the RBAC matrix, which
reads the app's routes, sees no new unprotected route; and Starlette's ``StaticFiles`` brings ETags, ranges
and safe path handling. A path that is not a file and has no extension is a client route of the single-page
app (``/kiosk``, ``/console/students/...``) and gets ``index.html``.

The security-headers middleware (``app.api.headers``) only fills headers a response has not set, so the pages
set their own policy here: scripts, styles and API calls from this origin only, camera frames as ``blob:``,
and the camera allowed for this origin (the kiosk and enrollment use it).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.config import Settings

APP_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
APP_HEADERS = {
    "Content-Security-Policy": APP_CSP,
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=(), payment=()",
}
#: Vite puts content-hashed files under assets/: a new build has new names, so they may be cached for good.
IMMUTABLE = "public, max-age=31536000, immutable"
#: index.html and other unhashed files: revalidate, so a new build is seen at once.
REVALIDATE = "no-cache"

NOT_BUILT = (
    "The web app is not built here: run `npm ci && npm run build` in web/ (scripts/run.sh does). "
    "The API is at /docs."
)


class WebFiles(StaticFiles):
    """The built files, with the single-page app's fallback to ``index.html`` and the pages' headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or PurePosixPath(path).suffix:
                raise
            path = "index.html"
            response = await super().get_response(path, scope)
        response.headers.update(APP_HEADERS)
        response.headers["Cache-Control"] = IMMUTABLE if path.startswith("assets/") else REVALIDATE
        return response


async def not_built(scope: Scope, receive: Receive, send: Send) -> None:
    """A clear 404 (the app's JSON error) instead of a 500 when ``web_dist_dir`` holds no build."""
    raise HTTPException(404, NOT_BUILT)


class WebMount(Mount):
    """A mount at ``/`` that declines every path under the API's own first segments (``/v1``, ``/health``,
    ``/docs``...), so those are matched, or refused with 404/405, exactly as without the web app. The segments
    are read from the app's routes at the first request, when every router (whenever included) is there."""

    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        super().__init__("/", app=app, name="web")
        self._api = api
        self._api_prefixes: frozenset[str] | None = None

    def api_prefixes(self) -> frozenset[str]:
        if self._api_prefixes is None:
            segments = (first_segment(str(route.path)) for route in iter_route_contexts(self._api.routes))
            self._api_prefixes = frozenset(segment for segment in segments if segment != "/")
        return self._api_prefixes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and first_segment(scope["path"]) in self.api_prefixes():
            return Match.NONE, {}
        return super().matches(scope)


def first_segment(path: str) -> str:
    return "/" + path.lstrip("/").split("/", 1)[0]


def install_web_app(app: FastAPI, settings: Settings) -> None:
    """Serve ``settings.web_dist_dir`` at ``/``, behind every route of the API."""
    dist: Path = settings.web_dist_dir
    files = WebFiles(directory=dist) if (dist / "index.html").is_file() else not_built
    app.router.routes.append(WebMount(files, app))
