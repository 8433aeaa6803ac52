"""Structured JSON logs (structlog) for our own code, set up once per process (each Serve replica is one).

Every record of the project's loggers (``app``, ``models``, ``deployments``; stdlib ``logging`` or structlog)
becomes one JSON line on stderr with ``timestamp``, ``level``, ``logger``, ``event``, the ``extra=`` fields,
and ``request_id``: bound per request by the Ingress middleware (structlog contextvars, which
``asyncio.to_thread`` carries into worker threads) and, in the model deployments, taken from Ray Serve's
request context, which Serve propagates through every handle call (the Ingress uses the same id: Serve's
proxy puts it in ``X-Request-ID``, see ``app.api.deps.get_request_id``).

Privacy (tests/domain/school/test_log_leaks.py scans a whole run): values under ``student_id``/``student_ids``
are replaced by keyed pseudonyms (the audit trail's), long strings (an image, a template) are cut, and
access logs name route templates, never raw paths (which carry ids). Nothing logs names or contact details.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import sys
from collections.abc import Callable, MutableMapping
from typing import Any, TextIO

import structlog

PROJECT_LOGGERS = ("app", "models", "deployments", "cluster")
MAX_VALUE_CHARS = 300
_STUDENT_KEYS = frozenset({"student_id", "student_ids"})

_id_key: bytes | None = None
_request_id_fallback: Callable[[], str | None] | None = None


def _pseudonym(value: object) -> str:
    if _id_key is None:
        return "student:[redacted]"
    text = str(value).strip().lower()
    return "student:" + hmac.new(_id_key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _scrub(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Pseudonymise student ids, cut long values (base64 images, vectors), whatever the caller passed."""
    for key, value in list(event.items()):
        if key in _STUDENT_KEYS:
            event[key] = (
                [_pseudonym(v) for v in value] if isinstance(value, list | tuple) else _pseudonym(value)
            )
        elif isinstance(value, str | bytes) and len(value) > MAX_VALUE_CHARS:
            event[key] = f"[{len(value)} characters cut]"
    return event


def _request_id(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    if "request_id" not in event and _request_id_fallback is not None:
        try:
            found = _request_id_fallback()
        except Exception:  # a log line must never fail because the context is unavailable
            found = None
        if found:
            event["request_id"] = found
    return event


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _request_id,
        _scrub,
    ]


def configure_logging(
    level: str,
    *,
    json: bool = True,
    id_hash_key: str | bytes | None = None,
    request_id_fallback: Callable[[], str | None] | None = None,
    stream: TextIO | None = None,
) -> None:
    """Levels and the JSON handler of the project's loggers; structlog's own loggers render the same way.

    ``id_hash_key`` keys student pseudonyms (``Settings.id_hash_key``); ``request_id_fallback`` gives the
    current request id where no contextvar holds one (Serve's request context in a model deployment);
    ``stream`` (default stderr) is where the lines go (tests pass a buffer).
    """
    global _id_key, _request_id_fallback  # one logging set-up per process
    if id_hash_key is not None:
        _id_key = id_hash_key.encode("utf-8") if isinstance(id_hash_key, str) else id_hash_key
    if request_id_fallback is not None:
        _request_id_fallback = request_id_fallback
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    handler.set_name("rollcall-json")
    for name in PROJECT_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(level.upper())
        for old in [h for h in logger.handlers if h.get_name() == "rollcall-json"]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.propagate = False  # one line per record, not a second copy through the root logger
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def bind_request(request_id: str, **values: Any) -> None:
    """Bind the request's id (and other fields) to every log line of this request's context."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id, **values)


def unbind_request() -> None:
    structlog.contextvars.clear_contextvars()


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)
