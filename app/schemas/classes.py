"""Classes, their members, and their lessons (lessons, where attendance is taken)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from app.schemas.common import Code, Public, Text200

#: A lesson longer than this is a typo (a wrong day), not a lesson.
MAX_LESSON = timedelta(hours=12)


class ClassCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Text200
    teacher_id: uuid.UUID | None = None
    room: Code | None = None


class ClassUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code | None = None
    name: Text200 | None = None
    teacher_id: uuid.UUID | None = None
    room: Code | None = None


class ClassPublic(Public):
    id: uuid.UUID
    school_id: uuid.UUID
    code: str
    name: str
    teacher_id: uuid.UUID | None
    room: str | None
    created_at: datetime


class LessonCreate(BaseModel):
    """Times carry their offset (``2026-09-01T08:00:00+02:00``): a naive time would be ambiguous."""

    model_config = ConfigDict(extra="forbid")

    starts_at: AwareDatetime
    ends_at: AwareDatetime
    grace_minutes: int = Field(5, ge=0, le=120)
    room: Code | None = Field(None, description="Defaults to the class's room.")
    allow_overlap: bool = Field(
        False, description="Create it even though another lesson of the class overlaps it in the same room."
    )

    @model_validator(mode="after")
    def _ordered(self) -> LessonCreate:
        check_times(self.starts_at, self.ends_at)
        return self


class LessonUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    grace_minutes: int | None = Field(None, ge=0, le=120)
    room: Code | None = None
    allow_overlap: bool = Field(
        False, description="Keep the change even though another lesson of the class then overlaps it."
    )


class LessonPublic(Public):
    id: uuid.UUID
    class_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    grace_minutes: int
    room: str | None
    closed_at: datetime | None


def check_times(starts_at: datetime, ends_at: datetime) -> None:
    """The rule a lesson's times obey, on create and after an update merges new times with old ones."""
    if ends_at <= starts_at:
        raise ValueError("ends_at must be after starts_at")
    if ends_at - starts_at > MAX_LESSON:
        raise ValueError(f"a lesson lasts at most {MAX_LESSON.total_seconds() / 3600:.0f} hours")
