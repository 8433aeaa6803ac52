"""Attendance reports: per session, per class over dates, per student; and their filters."""

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


class LessonRow(BaseModel):
    student_id: uuid.UUID
    student_number: str
    display_name: str
    status: str = Field(description="present, late, absent, excused, or pending (not yet over).")
    method: str | None
    recorded_at: datetime | None
    confidence: float | None


class LessonReport(BaseModel):
    lesson_id: uuid.UUID
    class_id: uuid.UUID
    class_code: str
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


class ClassReport(BaseModel):
    class_id: uuid.UUID
    class_code: str
    date_from: date
    date_to: date
    lessons: int
    totals: Totals
    rows: list[ClassStudentRow]


class StudentLessonRow(BaseModel):
    lesson_id: uuid.UUID
    class_id: uuid.UUID
    class_code: str
    starts_at: datetime
    status: str
    method: str | None
    recorded_at: datetime | None


class StudentReport(BaseModel):
    student_id: uuid.UUID
    student_number: str
    display_name: str
    date_from: date
    date_to: date
    totals: Totals
    rows: list[StudentLessonRow]
