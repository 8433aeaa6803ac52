"""How a message leaves: email over SMTP, signed webhooks, and SMS/push through pluggable providers.

Each sender raises ``DeliveryError`` on failure; ``permanent=True`` (a refused address, a 4xx webhook answer,
nothing configured) dead-letters the delivery at once, anything else is retried with backoff by the worker.
Every message carries its delivery's idempotency key (email ``Message-ID`` derived from it, webhook header
``X-Rollcall-Delivery``) so a receiver can drop the duplicate an at-least-once retry may cause.

Logs name the delivery id and channel only: never an address, a name or a message text.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

import aiosmtplib
import httpx

from app.core.config import Settings
from app.core.enums import NotificationChannel
from app.notifications.tokens import SIGNATURE_HEADER, sign_webhook

log = logging.getLogger(__name__)
USER_AGENT = "Rollcall-Notifications/1"


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One rendered message for one address."""

    delivery_id: str
    idempotency_key: str
    channel: NotificationChannel
    address: str  # email address, phone number, push topic or webhook URL
    subject: str
    body: str
    event: str = ""
    unsubscribe_url: str | None = None
    json_body: bytes | None = None  # webhooks: the exact bytes signed and sent
    secret: bytes | None = None  # webhooks: the contact's signing secret


class Sender(Protocol):
    async def send(self, message: Outgoing) -> str | None:
        """Send or raise ``DeliveryError``; returns the provider's message id when it gives one."""
        ...


class TextProvider(Protocol):
    """An SMS or push provider: plain text to one address (phone number or topic)."""

    name: str

    async def send_text(self, to: str, title: str, text: str, key: str) -> str | None: ...


# ------------------------------------------------------------------------------------------------- email


class EmailSender:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def build(self, message: Outgoing) -> EmailMessage:
        settings = self._settings
        email = EmailMessage()
        email["From"] = settings.mail_from
        email["To"] = message.address
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False, usegmt=True)
        digest = hashlib.sha256(message.idempotency_key.encode("utf-8")).hexdigest()[:32]
        sender_domain = settings.mail_from.rsplit("@", 1)[-1].strip("> ") or "rollcall"
        email["Message-ID"] = f"<{digest}@{sender_domain}>"  # the same for every retry of this delivery
        email["Auto-Submitted"] = "auto-generated"
        email["X-Rollcall-Delivery"] = message.idempotency_key
        body = message.body
        if message.unsubscribe_url:
            email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
            email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058 one-click
            body = f"{body}\n{message.unsubscribe_url}\n"
        email.set_content(body)
        return email

    async def send(self, message: Outgoing) -> str | None:
        settings = self._settings
        if not settings.smtp_host:
            raise DeliveryError("no SMTP server is configured (ROLLCALL_SMTP_HOST)", permanent=True)
        email = self.build(message)
        try:
            await aiosmtplib.send(
                email,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username or None,
                password=settings.smtp_password.get_secret_value() or None,
                use_tls=settings.smtp_security == "tls",
                start_tls=settings.smtp_security == "starttls",
                timeout=settings.smtp_timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError("the SMTP server refused the recipient", permanent=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.code < 600 and exc.code not in (552,)
            raise DeliveryError(f"SMTP error {exc.code}", permanent=permanent) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(f"SMTP unavailable: {type(exc).__name__}") from exc
        return str(email["Message-ID"])


# ----------------------------------------------------------------------------------------------- webhooks


#: Answers a webhook receiver may give that are worth another try; any other 4xx is permanent.
RETRYABLE_4XX = frozenset({408, 409, 425, 429})


class HttpChannel:
    """A channel that POSTs over HTTP (webhooks, Twilio, ntfy): one client per delivery, the delivery timeout,
    redirects not followed (a signed body or credentials never go where the receiver points); tests pass an
    httpx ``transport``."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._settings = settings
        self._transport = transport

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=self._settings.webhook_timeout_s, transport=self._transport, follow_redirects=False
        )


class WebhookSender(HttpChannel):
    async def send(self, message: Outgoing) -> str | None:
        if message.json_body is None or not message.secret:
            raise DeliveryError("the webhook has no body or no signing secret", permanent=True)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Rollcall-Event": message.event,
            "X-Rollcall-Delivery": message.idempotency_key,
            SIGNATURE_HEADER: sign_webhook(message.secret, message.json_body),
        }
        try:
            async with self._client() as client:
                response = await client.post(message.address, content=message.json_body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook unreachable: {type(exc).__name__}") from exc
        return _checked(response, "webhook")


def _checked(response: httpx.Response, what: str) -> str | None:
    status = response.status_code
    if 200 <= status < 300:
        request_id: str | None = response.headers.get("x-request-id")
        return request_id
    permanent = 400 <= status < 500 and status not in RETRYABLE_4XX
    raise DeliveryError(f"{what} answered HTTP {status}", permanent=permanent)


# ------------------------------------------------------------------------------------------ SMS and push


class LogProvider:
    """Development: writes that a message would have gone (delivery key and length only) and succeeds."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def send_text(self, to: str, title: str, text: str, key: str) -> str | None:
        log.info("%s (log provider, not sent): delivery %s, %d characters", self.name, key, len(text))
        return f"log:{key}"


class TwilioSms(HttpChannel):
    """Twilio's Messages API (POST /2010-04-01/Accounts/{sid}/Messages.json, basic auth, form fields)."""

    name = "twilio"

    async def send_text(self, to: str, title: str, text: str, key: str) -> str | None:
        settings = self._settings
        token = settings.twilio_auth_token.get_secret_value()
        if not (settings.twilio_account_sid and token and settings.twilio_from):
            raise DeliveryError("Twilio is not configured", permanent=True)
        sender = "MessagingServiceSid" if settings.twilio_from.startswith("MG") else "From"
        account = settings.twilio_account_sid
        url = f"{settings.twilio_base_url.rstrip('/')}/2010-04-01/Accounts/{account}/Messages.json"
        try:
            async with self._client() as client:
                response = await client.post(
                    url,
                    data={"To": to, sender: settings.twilio_from, "Body": text[:1600]},
                    auth=(settings.twilio_account_sid, token),
                    headers={"User-Agent": USER_AGENT, "I-Twilio-Idempotency-Token": key[:64]},
                )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"Twilio unreachable: {type(exc).__name__}") from exc
        _checked(response, "Twilio")
        return str(response.json().get("sid") or "") or None


class NtfyPush(HttpChannel):
    """ntfy (https://docs.ntfy.sh/publish/): POST <server>/<topic>, the text as body, ``Title`` header."""

    name = "ntfy"

    async def send_text(self, to: str, title: str, text: str, key: str) -> str | None:
        settings = self._settings
        headers = {"Title": title.encode("utf-8").decode("latin-1", "ignore"), "User-Agent": USER_AGENT}
        if settings.ntfy_token.get_secret_value():
            headers["Authorization"] = f"Bearer {settings.ntfy_token.get_secret_value()}"
        try:
            async with self._client() as client:
                response = await client.post(
                    f"{settings.ntfy_base_url.rstrip('/')}/{to}",
                    content=text.encode("utf-8"),
                    headers=headers,
                )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"ntfy unreachable: {type(exc).__name__}") from exc
        _checked(response, "ntfy")
        return str(response.json().get("id") or "") or None


class TextSender:
    """A ``Sender`` over a ``TextProvider``: SMS and push send the subject line (short), push titles it."""

    def __init__(self, provider: TextProvider) -> None:
        self.provider = provider

    async def send(self, message: Outgoing) -> str | None:
        return await self.provider.send_text(
            message.address, message.subject, message.subject, message.idempotency_key
        )


def sms_provider(settings: Settings) -> TextProvider:
    return TwilioSms(settings) if settings.sms_provider == "twilio" else LogProvider("sms")


def push_provider(settings: Settings) -> TextProvider:
    return NtfyPush(settings) if settings.push_provider == "ntfy" else LogProvider("push")


def default_senders(settings: Settings) -> dict[NotificationChannel, Sender]:
    return {
        NotificationChannel.email: EmailSender(settings),
        NotificationChannel.webhook: WebhookSender(settings),
        NotificationChannel.sms: TextSender(sms_provider(settings)),
        NotificationChannel.push: TextSender(push_provider(settings)),
    }
