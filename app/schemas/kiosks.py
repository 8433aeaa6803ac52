"""Kiosk API keys: what an admin sends to issue one and what the API shows (the key itself only once)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import Code, Public, Text200


class KioskKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    room: Code = Field(description="The room the kiosk stands in; its check-ins are limited to it.")
    name: Text200 = Field(description="A label for people, e.g. 'Main entrance tablet'.")


class KioskKeyPublic(Public):
    id: uuid.UUID
    school_id: uuid.UUID
    room: str
    name: str
    prefix: str = Field(description="The key's public part, to tell keys apart; not a secret.")
    created_by: uuid.UUID
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class KioskKeyIssued(KioskKeyPublic):
    api_key: str = Field(description="Send as X-API-Key. Shown only now: only a hash of it is stored.")
