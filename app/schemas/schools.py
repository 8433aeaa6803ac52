"""Schools: a tenant; every other record belongs to exactly one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from app.schemas.common import Public, Text200


def _known_timezone(value: str) -> str:
    """Reports cut days at the school's midnight: an unknown zone would silently be UTC."""
    if value not in available_timezones():
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)")
    return value


TimeZone = Annotated[str, AfterValidator(_known_timezone)]


class SchoolCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text200
    timezone: TimeZone = "UTC"


class SchoolUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text200 | None = None
    timezone: TimeZone | None = None
    colour_challenge: StrictBool | None = Field(
        None, description="Kiosks light the face with a random colour sequence, checked for its reflection."
    )
    liveness: StrictBool | None = Field(
        None,
        description="Kiosks check that a live person performs the challenge (default on). Off, a single "
        "frame checks a student in, its records and reports say so: for a trial or a kiosk without a camera "
        "good enough for the head turn, never to be left on by accident (the change is audited).",
    )


class SchoolPublic(Public):
    id: uuid.UUID
    name: str
    timezone: str
    colour_challenge: bool
    liveness: bool
    created_at: datetime
