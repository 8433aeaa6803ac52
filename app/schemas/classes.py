"""Classes, their members, and their lessons (lessons, where attendance is taken)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from app.schemas.common import Code, Public, Text200

#: A lesson longer than this is a typo (a wrong day), not a lesson.
MAX_LESSON = timedelta(hours=12)
#: The longest date range one lesson series covers: a school year with room to spare, so one request
#: creates at most this many lessons (one a day).
MAX_SERIES_DAYS = 366
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
#: In ``date.weekday()`` order: index 0 is Monday.
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)
#: A wall-clock time: no offset, so not OpenAPI's ``format: time`` (RFC 3339 times carry one).
LocalTime = Annotated[
    time, WithJsonSchema({"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$"})
]
#: Dates a timetable plausibly names; far beyond these, local-to-UTC conversion would leave the calendar.
_FIRST_DAY, _LAST_DAY = date(2000, 1, 1), date(2199, 12, 31)


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


class LessonSeriesCreate(BaseModel):
    """A timetable slot as lessons: one on each of ``weekdays`` from ``date_from`` to ``date_to`` (both
    included, the school's calendar), except ``skip_dates``, at the wall-clock time ``start_time`` of the
    school's time zone on that date (so 08:00 stays 08:00 across a daylight-saving change)."""

    model_config = ConfigDict(extra="forbid")

    weekdays: list[Weekday] = Field(min_length=1, max_length=7)
    start_time: LocalTime = Field(description="Local time of the school's zone, without an offset (08:15).")
    duration_minutes: int = Field(ge=1, le=int(MAX_LESSON.total_seconds()) // 60)
    date_from: date = Field(ge=_FIRST_DAY, le=_LAST_DAY, description="First day (YYYY-MM-DD, in 2000-2199).")
    date_to: date = Field(
        ge=_FIRST_DAY, le=_LAST_DAY, description=f"Last day, included; {MAX_SERIES_DAYS} days in all at most."
    )
    skip_dates: list[date] = Field(
        default_factory=list, max_length=MAX_SERIES_DAYS, description="Holidays: no lesson on these."
    )
    grace_minutes: int = Field(5, ge=0, le=120)
    room: Code | None = Field(None, description="Defaults to the class's room.")
    allow_overlap: bool = Field(
        False, description="Create them even where another lesson of the class overlaps in the same room."
    )
    dry_run: bool = Field(False, description="Only plan the lessons and report them.")

    @field_validator("start_time")
    @classmethod
    def _wall_clock(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("start_time is the school's local time: send it without an offset")
        return value


class SeriesLesson(BaseModel):
    """One date of a series: its times in UTC, the lesson made, or the lesson it clashes with."""

    day: date
    starts_at: datetime
    ends_at: datetime
    lesson_id: uuid.UUID | None = Field(description="The lesson created (null on a dry run or a refusal).")
    overlaps: uuid.UUID | None = Field(
        description="A lesson of the class in the same room that shares some of this one's time."
    )


class LessonSeriesReport(BaseModel):
    """Either every lesson of the series was created, or none was: a refusal (409 ``lesson_overlaps``)
    carries this same report in ``details``, each clashing date with the lesson in its way."""

    created: int
    dry_run: bool
    lessons: list[SeriesLesson]
    skipped: list[date] = Field(description="The skip_dates that fell on a lesson day of the range.")


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
