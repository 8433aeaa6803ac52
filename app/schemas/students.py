"""Students, and the report of a bulk CSV import."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.core.enums import EnrollmentStatus
from app.schemas.common import Code, Email, Public, Text100, Text200


def _plausible_birth_date(value: date) -> date:
    if not date(1900, 1, 1) <= value <= date.today():
        raise ValueError("birth_date must lie between 1900-01-01 and today")
    return value


BirthDate = Annotated[date, AfterValidator(_plausible_birth_date)]


class StudentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    student_number: Code
    first_name: Text100
    last_name: Text100
    display_name: Text200 | None = Field(None, description="Shown at the kiosk; defaults to first + last.")
    birth_date: BirthDate | None = Field(None, description="Decides whether a guardian must give consent.")
    guardian_email: Email | None = None

    def shown_name(self) -> str:
        return self.display_name or f"{self.first_name} {self.last_name}"


class StudentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    student_number: Code | None = None
    first_name: Text100 | None = None
    last_name: Text100 | None = None
    display_name: Text200 | None = None
    birth_date: BirthDate | None = None
    guardian_email: Email | None = None
    active: bool | None = None


class StudentPublic(Public):
    id: uuid.UUID
    school_id: uuid.UUID
    student_number: str
    first_name: str
    last_name: str
    display_name: str
    birth_date: date | None
    guardian_email: str | None
    active: bool
    enrollment_status: EnrollmentStatus
    created_at: datetime
    updated_at: datetime
    withheld: list[str] = Field(
        default_factory=list,
        description="Non-directory fields left out of this view (null above); the full record is shown one "
        "student at a time to admins and the student, and each staff view is logged (FERPA).",
    )


ImportProblem = Literal["extra_cells", "invalid_value", "repeated_number", "number_taken", "unknown_class"]


class ImportRowError(BaseModel):
    """One problem of one row: ``code`` for the console to say in the person's language (with ``value``),
    ``message`` in English for scripts and logs."""

    row: int = Field(description="Line number in the file (the header is line 1).")
    field: str | None = Field(description="The column at fault, when one is.")
    code: ImportProblem
    value: str | None = Field(
        None, description="The student number or class code at fault (repeated, taken, unknown)."
    )
    message: str


class ImportReport(BaseModel):
    """Either every row was imported (``imported``) or none was (``errors`` lists every problem found)."""

    rows: int
    imported: int
    dry_run: bool
    errors: list[ImportRowError]
    memberships: int = Field(0, description="Class memberships added from the class_codes column.")
