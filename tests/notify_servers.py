"""Real local servers the notification tests send to, all on 127.0.0.1: an SMTP server (aiosmtpd) that keeps
what it receives, and an HTTP receiver (webhooks, Twilio's and ntfy's APIs) that can fail its first calls."""

from __future__ import annotations

import email
import email.policy
import http.server
import json
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from cluster.local.stores import ManagedServer, free_port


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        self.messages.append(message)  # type: ignore[arg-type]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


class SmtpServer(ManagedServer):
    """aiosmtpd on 127.0.0.1:<port>, plain SMTP (the app connects with ``smtp_security=none``)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = _Inbox()
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> int:
        self._controller.start()
        return self.port

    def stop(self) -> None:
        self._controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        return self.inbox.messages

    def wait_for(self, count: int, timeout_s: float = 10) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout_s
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class HttpReceiver(ManagedServer):
    """Answers the first ``fail_first`` calls with ``fail_status``, then ``ok_status``; keeps every call."""

    fail_first: int = 0
    fail_status: int = 500
    ok_status: int = 200
    ok_body: dict[str, Any] = field(default_factory=lambda: {"ok": True})
    port: int = field(default_factory=free_port)
    calls: list[Call] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                failing = len(receiver.calls) < receiver.fail_first
                status = receiver.fail_status if failing else receiver.ok_status
                receiver.calls.append(Call(self.path, dict(self.headers.items()), body, status))
                payload = json.dumps({"error": "try later"} if failing else receiver.ok_body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
