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


class TooLarge(AppError):
    """The upload exceeds a size or pixel limit."""

    default_code = "too_large"


class UnsupportedMedia(AppError):
    """The body or a part has a content type the endpoint does not take."""

    default_code = "unsupported_media_type"


class NotFound(AppError):
    """The thing addressed does not exist."""

    default_code = "not_found"


class Unavailable(AppError):
    """A dependency (Milvus, a model deployment) is down or overloaded; retrying later may work."""

    default_code = "unavailable"
