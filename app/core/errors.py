"""The errors a client may see, by category, each with a stable machine-readable ``code``.

Services raise these and know nothing about HTTP; ``app.api.errors`` maps each category to a status code and
renders every one as ``{"error": {"code": ..., "message": ..., "details": ...}}``.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Base: ``code`` for machines, ``message`` for people, ``details`` for anything structured."""

    default_code = "error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details


class InvalidInput(AppError):
    """The request is well-formed but its content cannot be used (no face, bad image, bad name)."""

    default_code = "invalid_input"


class BadRequest(AppError):
    """The request is missing something it needs or refers to something that is not valid (an unknown or
    expired challenge nonce): fix the request, do not retry it unchanged."""

    default_code = "bad_request"


class TooLarge(AppError):
    """The upload exceeds a size or pixel limit."""

    default_code = "too_large"


class UnsupportedMedia(AppError):
    """The body or a part has a content type the endpoint does not take."""

    default_code = "unsupported_media_type"


class NotFound(AppError):
    """The thing addressed does not exist."""

    default_code = "not_found"


class Forbidden(AppError):
    """The caller is known but may not do this (a teacher outside their classes, another student's record)."""

    default_code = "forbidden"


class Conflict(AppError):
    """The request clashes with the current state: a duplicate unique value, a missing prerequisite (consent),
    a record that other records still depend on. Retrying unchanged will not help."""

    default_code = "conflict"


class Unauthenticated(AppError):
    """No credentials, or credentials that do not check out (bad password, forged or expired token, revoked
    key). The API answers 401 with ``WWW-Authenticate``; ``code`` says which, e.g. ``token_expired``."""

    default_code = "not_authenticated"


class RateLimited(AppError):
    """Too many attempts (a rate limit, a locked account); ``retry_after_s`` says when to try again."""

    default_code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int, code: str | None = None, **details: Any) -> None:
        super().__init__(message, code=code, retry_after_s=retry_after_s, **details)
        self.retry_after_s = max(1, int(retry_after_s))


class Unavailable(AppError):
    """A dependency (Milvus, a model deployment) is down or overloaded; retrying later may work."""

    default_code = "unavailable"
