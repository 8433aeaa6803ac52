"""Biometric consent and enrollment: what was agreed, by whom, and what is stored as a result."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.enums import EnrollmentStatus
from app.schemas.common import Public, Text200


class ConsentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    granted_by_name: Text200 = Field(description="Who agreed: the student, or the guardian of a minor.")
    relation: Literal["self", "guardian"]
    version: str | None = Field(
        None, max_length=32, description="The consent text agreed to; must be the current one (the default)."
    )


class ConsentPublic(Public):
    id: uuid.UUID
    student_id: uuid.UUID
    version: str
    granted_by_name: str
    granted_by_relation: str
    recorded_by: uuid.UUID
    granted_at: datetime
    withdrawn_at: datetime | None


class WithdrawalResult(BaseModel):
    """What the withdrawal erased; each number is what was there (zero when nothing was)."""

    student_id: uuid.UUID
    consents_withdrawn: int
    templates_deleted: int
    vectors_deleted: int
    cache_entries_deleted: int
    enrollment_status: EnrollmentStatus


class PhotoVerdict(BaseModel):
    """One submitted photo: used or not, and why not (``reasons`` are for people, ``codes`` for machines)."""

    # Every answer carries both lists: the schema says so (the web app's generated types rely on it).
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    index: int
    accepted: bool
    reasons: list[str] = Field(default_factory=list)
    codes: list[str] = Field(
        default_factory=list,
        description="One stable code per reason, in the same order (e.g. `no_face`, `blurry`, "
        "`duplicate_photo`, `not_same_person`): what a client translates.",
    )
    quality: dict[str, float] | None = None


class EnrollmentResult(BaseModel):
    student_id: uuid.UUID
    enrollment_status: EnrollmentStatus
    templates: int
    model: str
    replaced: bool = Field(
        False, description="Whether these photos replaced a different enrolled face (an admin confirmed it)."
    )
    photos: list[PhotoVerdict]


class EnrollmentState(BaseModel):
    student_id: uuid.UUID
    enrollment_status: EnrollmentStatus
    templates: int
    model: str | None
    enrolled_at: datetime | None
    consent: ConsentPublic | None = Field(description="The consent in force, if any.")
    consent_current: bool = Field(description="Whether that consent is to the current consent text.")
