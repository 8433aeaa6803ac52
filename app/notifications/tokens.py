"""Signed tokens and signatures: unsubscribe links (no login needed, cannot be forged) and webhook bodies.

Unsubscribe tokens are ``<contact uuid hex>.<channel>.<mac>`` with an HMAC-SHA256 under a key derived from
``secret_key`` for this one purpose; they do not expire (an old email's link must still work) and say
nothing without the key. Webhook signatures follow the common "timestamped HMAC" scheme: header
``X-Rollcall-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``; receivers recompute it
and refuse old timestamps (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid

from app.core.config import Settings

CHANNEL_ALL = "all"
SIGNATURE_HEADER = "X-Rollcall-Signature"


class BadToken(ValueError):
    pass


def _key(settings: Settings) -> bytes:
    secret = settings.secret_key.get_secret_value().encode("utf-8")
    return hmac.new(secret, b"rollcall/unsubscribe", hashlib.sha256).digest()


def _mac(settings: Settings, contact_id: uuid.UUID, channel: str) -> str:
    message = f"{contact_id.hex}.{channel}".encode("ascii")
    return hmac.new(_key(settings), message, hashlib.sha256).hexdigest()[:32]


def unsubscribe_token(settings: Settings, contact_id: uuid.UUID, channel: str = CHANNEL_ALL) -> str:
    return f"{contact_id.hex}.{channel}.{_mac(settings, contact_id, channel)}"


def read_unsubscribe_token(settings: Settings, token: str) -> tuple[uuid.UUID, str]:
    """(contact id, channel or "all"), or ``BadToken``."""
    try:
        contact_hex, channel, mac = token.strip().split(".")
        contact_id = uuid.UUID(hex=contact_hex)
    except ValueError as exc:
        raise BadToken("malformed unsubscribe token") from exc
    if not channel.isalpha() or not hmac.compare_digest(mac, _mac(settings, contact_id, channel)):
        raise BadToken("invalid unsubscribe token")
    return contact_id, channel


def sign_webhook(secret: bytes, body: bytes, timestamp: int | None = None) -> str:
    """The ``X-Rollcall-Signature`` header value for ``body``."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret, f"{stamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def verify_webhook(secret: bytes, body: bytes, header: str, tolerance_s: int = 300) -> bool:
    """What a receiver does (and the tests do): the signature matches and is recent."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        stamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - stamp) > tolerance_s:
        return False
    expected = sign_webhook(secret, body, stamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
