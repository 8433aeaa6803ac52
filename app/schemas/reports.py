"""Attendance reports: per session, per class over dates, per student; and their filters.

Every report is in its school's time zone, named in ``timezone`` (IANA): its times carry the school's UTC
offset (``2026-11-02T23:30:00-05:00``), and its dates and weeks are the school's calendar days.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class ExportFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


class Totals(BaseModel):
    """Counts over (student, session) pairs that are decided: a record exists, or the lesson is over without
    one (absent). A lesson still running without a record, or not yet begun, counts for nothing yet."""

    counted: int
    present: int
    late: int
    absent: int
    excused: int
    rate: float | None = Field(description="(present + late) / counted; None when nothing was counted.")


_TIMEZONE = "The school's time zone (IANA name): the report's times carry its offset, its dates are its days."


class LessonRow(BaseModel):
    student_id: uuid.UUID
    student_number: str
    display_name: str
    status: str = Field(description="present, late, absent, excused, or pending (not yet over).")
    method: str | None
    recorded_at: datetime | None
    confidence: float | None
    liveness_checked: bool | None = Field(
        None, description="Face check-ins: False when the school had liveness switched off; None otherwise."
    )


class LessonReport(BaseModel):
    lesson_id: uuid.UUID
    class_id: uuid.UUID
    class_code: str
    class_name: str
    timezone: str = Field(description=_TIMEZONE)
    starts_at: datetime
    ends_at: datetime
    unknown_faces: int | None = Field(description="Faces nobody matched at the kiosk (None: not available).")
    totals: Totals
    rows: list[LessonRow]


class ClassStudentRow(BaseModel):
    student_id: uuid.UUID
    student_number: str
    display_name: str
    totals: Totals


class WeekTotals(BaseModel):
    week_start: date = Field(description="The week's Monday (weeks run Monday to Sunday, the school's days).")
    lessons: int
    totals: Totals


class ClassReport(BaseModel):
    class_id: uuid.UUID
    class_code: str
    class_name: str
    timezone: str = Field(description=_TIMEZONE)
    date_from: date
    date_to: date
    lessons: int
    totals: Totals
    weeks: list[WeekTotals] = Field(description="The range's weeks that have lessons, oldest first.")
    rows: list[ClassStudentRow]


class StudentLessonRow(BaseModel):
    lesson_id: uuid.UUID
    class_id: uuid.UUID
    class_code: str
    starts_at: datetime
    status: str
    method: str | None
    recorded_at: datetime | None
    attendance_id: uuid.UUID | None = Field(
        None, description="The record, when there is one: its history is GET /v1/attendance/{id}/changes."
    )


class StudentReport(BaseModel):
    student_id: uuid.UUID
    student_number: str
    display_name: str
    timezone: str = Field(description=_TIMEZONE)
    date_from: date
    date_to: date
    totals: Totals
    rows: list[StudentLessonRow]
