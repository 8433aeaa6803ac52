"""Notification contacts, the school's notification settings, deliveries (dead letters)."""

from __future__ import annotations

import ipaddress
import uuid
from datetime import datetime, time
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from app.schemas.common import Email, Public, Text200

Channel = Literal["email", "sms", "push", "webhook"]
Topic = Literal["arrival", "absence", "correction", "lesson", "summary"]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+[1-9][0-9]{6,14}$")]
PushTopic = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
WebhookUrl = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
ADDRESS_FIELD = {"email": "email", "sms": "phone", "push": "push_topic", "webhook": "webhook_url"}


def check_webhook_url(url: str) -> str:
    """https, or http to this machine only (development); no credentials in the URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        raise ValueError("the webhook URL must be https://host/... without credentials")
    if parts.scheme == "http":
        try:
            loopback = ipaddress.ip_address(parts.hostname).is_loopback
        except ValueError:
            loopback = parts.hostname == "localhost"
        if not loopback:
            raise ValueError("a webhook URL must use https (http only to localhost)")
    return url


class _ContactFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Language | None = None
    email: Email | None = None
    phone: Phone | None = Field(None, description="E.164, e.g. +33612345678.")
    push_topic: PushTopic | None = Field(None, description="ntfy topic (8-64 letters, digits, _ -).")
    webhook_url: WebhookUrl | None = Field(None, description="https URL that receives signed JSON events.")
    channels: list[Channel] | None = None
    topics: list[Topic] | None = None

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        return None if value is None else check_webhook_url(value)

    @field_validator("channels", "topics")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else sorted(set(value))


def _default_channels() -> list[Channel]:
    return ["email"]


def _default_topics() -> list[Topic]:
    return ["absence"]


class ContactCreate(_ContactFields):
    """A guardian (``student_id``), a staff user for summaries (``user_id``), or neither: school-wide (the
    school's information system by webhook, the office's mailbox)."""

    name: Text200
    student_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    language: Language = "en"
    channels: list[Channel] = Field(default_factory=_default_channels)
    topics: list[Topic] = Field(default_factory=_default_topics)

    @model_validator(mode="after")
    def _consistent(self) -> ContactCreate:
        if self.student_id is not None and self.user_id is not None:
            raise ValueError("a contact belongs to a student or a user, not both")
        for channel in self.channels:
            if not getattr(self, ADDRESS_FIELD[channel]):
                raise ValueError(f"channel {channel} needs {ADDRESS_FIELD[channel]}")
        return self


class ContactUpdate(_ContactFields):
    name: Text200 | None = None


class ContactPublic(Public):
    id: uuid.UUID
    name: str
    student_id: uuid.UUID | None
    user_id: uuid.UUID | None
    language: str
    email: str | None
    phone: str | None
    push_topic: str | None
    webhook_url: str | None
    channels: list[str]
    topics: list[str]
    created_at: datetime


class ContactCreated(ContactPublic):
    webhook_secret: str | None = Field(
        None, description="The webhook signing secret, shown this once (HMAC-SHA256, see docs)."
    )


class NotificationSettingsPublic(Public):
    quiet_start: time | None = Field(
        None, description="Local time quiet hours start (no messages to people)."
    )
    quiet_end: time | None = Field(None, description="Local time they end; before the start: spans midnight.")
    language: str = "en"


class NotificationSettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quiet_start: time | None = None
    quiet_end: time | None = None
    language: Language = "en"

    @model_validator(mode="after")
    def _both_or_neither(self) -> NotificationSettingsUpdate:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("set both quiet_start and quiet_end, or neither")
        return self


class DeliveryPublic(Public):
    id: uuid.UUID
    event_id: uuid.UUID
    contact_id: uuid.UUID
    channel: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None
    created_at: datetime


class Unsubscribed(BaseModel):
    status: Literal["unsubscribed"] = "unsubscribed"
    channel: str = Field(description='The channel stopped, or "all".')
