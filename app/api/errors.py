"""Every error leaves as ``{"error": {"code", "message", "details"}}`` with the right status; never a trace.

Handlers cover the app's own errors, FastAPI's validation errors, Starlette's HTTP errors (404, 405, and the
413 of the request body limit) and, last, any other exception: that one is logged with its traceback here
and answered with a bare ``internal_error``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import redis.exceptions
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from app.core.error_codes import ERROR_CODES, openapi_description
from app.core.errors import (
    AppError,
    BadRequest,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    TooLarge,
    Unauthenticated,
    Unavailable,
    UnsupportedMedia,
)

log = logging.getLogger(__name__)
#: The status recorded for a request its client gave up on (nginx's "client closed request"); never sent.
CLIENT_CLOSED = 499

#: A store that is down, restarting or overloaded: PostgreSQL (connection refused or lost, statement
#: timeout, pool exhausted, deadlock) or Redis. The request's transaction was rolled back, so answering 503
#: with Retry-After is safe; nothing was half-written.
DEPENDENCY_DOWN: dict[type[Exception], str] = {
    sqlalchemy.exc.OperationalError: "database_unavailable",
    sqlalchemy.exc.InterfaceError: "database_unavailable",
    sqlalchemy.exc.TimeoutError: "database_unavailable",
    redis.exceptions.ConnectionError: "cache_unavailable",
    redis.exceptions.TimeoutError: "cache_unavailable",
}

STATUS_BY_CATEGORY: dict[type[AppError], int] = {
    BadRequest: 400,
    InvalidInput: 422,
    TooLarge: 413,
    UnsupportedMedia: 415,
    NotFound: 404,
    Unauthenticated: 401,
    Forbidden: 403,
    Conflict: 409,
    RateLimited: 429,
    Unavailable: 503,
}

_CODE_BY_STATUS = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


class ErrorInfo(BaseModel):
    # A str when answering (a code is never refused here); the schema lists the registry's codes, which a
    # test keeps complete (tests/unit/test_error_codes.py).
    code: str = Field(description=openapi_description(), json_schema_extra={"enum": list(ERROR_CODES)})
    message: str = Field(description="Human-readable explanation.")
    details: dict[str, Any] = Field(default_factory=dict, description="Structured context, when any.")


class ErrorResponse(BaseModel):
    """The body of every non-2xx answer."""

    error: ErrorInfo


_DESCRIPTIONS = {
    400: "The request needs fixing: `challenge_required`, `nonce_invalid` (unknown, expired or another "
    "kiosk's challenge).",
    401: "Missing or bad credentials (`not_authenticated`, `invalid_token`, `token_expired`, "
    "`sign_in_revoked`, `invalid_api_key`, `invalid_credentials`, `mfa_required`, `invalid_mfa_code`); "
    "see WWW-Authenticate.",
    429: "Too many attempts (`rate_limited`, `sign_in_throttled`); see Retry-After.",
    403: "The caller's role or scope does not allow this (`forbidden`).",
    409: "Clashes with the current state: a duplicate (`duplicate`), a missing prerequisite "
    "(`consent_required`, `no_open_lesson`), a record still in use (`in_use`), a challenge nonce "
    "already used (`nonce_used`).",
    404: "Not found (`label_not_found`, `not_found`).",
    413: "Upload too large (`too_large`) or too many pixels (`too_many_pixels`).",
    415: "Not multipart/form-data, or a part that is not an image (`unsupported_media_type`).",
    422: "Unusable input: `no_face`, `multiple_faces`, `not_an_image`, `corrupt`, `empty`, "
    "`invalid_gallery`, `invalid_label`, `invalid_request`, `too_few_frames`, `too_many_frames`, "
    "`liveness_failed`, `poor_quality`.",
    503: "A dependency is down (`gallery_unavailable`, `model_unavailable`, `database_unavailable`, "
    "`cache_unavailable`, `liveness_unavailable`); see Retry-After.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting the error body for ``statuses``."""
    return {
        status: {"model": ErrorResponse, "description": _DESCRIPTIONS.get(status, HTTPStatus(status).phrase)}
        for status in statuses
    }


def error_json(
    status: int, code: str, message: str, details: dict[str, Any] | None = None, retry_after_s: int = 5
) -> JSONResponse:
    body = ErrorResponse(error=ErrorInfo(code=code, message=message, details=details or {}))
    headers = {"Retry-After": str(retry_after_s)} if status == 503 else None
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def install_error_handlers(
    app: FastAPI, retry_after_s: int, before_validation: Callable[[Request], Awaitable[None]] | None = None
) -> None:
    """Register the handlers on ``app``; ``retry_after_s`` goes out with every 503. ``before_validation``
    runs before a validation error is answered and may raise instead (the caller's credentials and role:
    FastAPI decodes a JSON body before it runs a route's dependencies, so without it a stranger sending
    malformed JSON would learn about the body before being asked who they are)."""

    async def on_app_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AppError)
        status = next(
            (code for category, code in STATUS_BY_CATEGORY.items() if isinstance(exc, category)), 400
        )
        response = error_json(status, exc.code, exc.message, exc.details, retry_after_s)
        if isinstance(exc, Unauthenticated):
            # RFC 6750: tells clients which scheme to use and why the credentials were refused.
            challenge = f'Bearer error="invalid_token", error_description="{exc.code}"'
            response.headers["WWW-Authenticate"] = challenge
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.retry_after_s)
        return response

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        if before_validation is not None:
            try:
                await before_validation(request)
            except AppError as refused:
                return await on_app_error(request, refused)
        # Only location and message: echoing "input" could send a whole upload back.
        problems = [
            {
                "loc": [str(part) for part in error.get("loc", ())],
                "msg": error.get("msg", ""),
                "type": error.get("type", ""),
            }
            for error in exc.errors()
        ]
        missing = ", ".join(p["loc"][-1] for p in problems if p["type"] == "missing" and p["loc"])
        message = f"missing field(s): {missing}" if missing else "the request is not valid"
        return error_json(422, "invalid_request", message, {"problems": problems}, retry_after_s)

    async def on_http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _CODE_BY_STATUS.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        response = error_json(exc.status_code, code, message, None, retry_after_s)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    async def on_dependency_down(request: Request, exc: Exception) -> JSONResponse:
        code = next(code for category, code in DEPENDENCY_DOWN.items() if isinstance(exc, category))
        # The driver's message names hosts and ports: it goes to the log only.
        log.warning("%s on %s %s: %s", code, request.method, request.url.path, str(exc).splitlines()[0][:300])
        return error_json(503, code, "a storage service is temporarily unavailable", None, retry_after_s)

    async def on_unstorable_value(request: Request, exc: Exception) -> JSONResponse:
        # PostgreSQL refused a value that passed validation (a NUL character in text, a number out of range):
        # the input's fault, not the server's. Rolled back like any error; the driver's text stays in the log.
        reason = str(exc).splitlines()[0][:300]
        log.warning("unstorable value on %s %s: %s", request.method, request.url.path, reason)
        message = "a value in the request cannot be stored (e.g. a NUL character, or a number out of range)"
        return error_json(422, "invalid_value", message, None, retry_after_s)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_json(500, "internal_error", "an internal error occurred", None, retry_after_s)

    async def on_client_gone(request: Request, exc: Exception) -> Response:
        # Nobody is left to answer: not an error of ours, and not a 500 in the metrics or the logs.
        log.info("client closed %s %s before the answer", request.method, request.url.path)
        return Response(status_code=CLIENT_CLOSED)

    app.add_exception_handler(AppError, on_app_error)
    app.add_exception_handler(ClientDisconnect, on_client_gone)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    for category in DEPENDENCY_DOWN:
        app.add_exception_handler(category, on_dependency_down)
    app.add_exception_handler(sqlalchemy.exc.DataError, on_unstorable_value)
    app.add_exception_handler(Exception, on_unexpected)
