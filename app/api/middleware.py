"""Request body limit that answers in the API's JSON error shape.

Checked twice: on the declared Content-Length before anything is read (a 1 GB upload is refused at once), and
on the bytes as they stream in (a chunked body has no length to check). It runs before multipart parsing,
which would otherwise spool the whole body to disk first. (FastAPI's own ``max_body_size`` answers a
too-long Content-Length with plain text, replacing the JSON error; hence this small middleware.)
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import error_json


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once the body passes the limit; FastAPI re-raises HTTPExceptions from body
    reading, so the app's HTTP error handler turns it into the JSON 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body exceeds {max_bytes} bytes")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int, retry_after_s: int = 5) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.retry_after_s = retry_after_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = error_json(
                413,
                "too_large",
                f"the request body is {declared} bytes; the limit is {self.max_bytes}",
                {"max_bytes": self.max_bytes},
                self.retry_after_s,
            )
            await response(scope, receive, send)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)
