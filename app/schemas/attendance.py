"""Attendance records, their corrections, one-time codes, and the answers of a check-in."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.enums import AttendanceStatus, CheckinMethod
from app.schemas.common import Public, Reason


class AttendanceMark(BaseModel):
    """A teacher's mark or correction: the reason is required and kept with the change."""

    model_config = ConfigDict(extra="forbid")

    status: AttendanceStatus
    reason: Reason


#: More marks than any class has students is a mistake, and would hold the lesson's rows locked for long.
MAX_BULK_MARKS = 200


class StudentMark(BaseModel):
    model_config = ConfigDict(extra="forbid")

    student_id: uuid.UUID
    status: AttendanceStatus
    reason: Reason | None = Field(None, description="This student's own reason; default: the request's.")


class AttendanceBulkMark(BaseModel):
    """Several students of one lesson at once, each marked as its own ``AttendanceMark`` would be, in one
    transaction: one mark refused refuses them all."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(description="Kept with every change whose mark has no reason of its own.")
    marks: list[StudentMark] = Field(min_length=1, max_length=MAX_BULK_MARKS)

    @model_validator(mode="after")
    def _once_each(self) -> AttendanceBulkMark:
        if len({mark.student_id for mark in self.marks}) != len(self.marks):
            raise ValueError("each student may appear once")
        return self


class AttendancePublic(Public):
    id: uuid.UUID
    lesson_id: uuid.UUID
    student_id: uuid.UUID
    status: AttendanceStatus
    method: CheckinMethod
    confidence: float | None
    recorded_at: datetime
    recorded_by: str


class AttendanceChangePublic(Public):
    id: uuid.UUID
    attendance_id: uuid.UUID
    changed_by: str
    changed_at: datetime
    old_status: AttendanceStatus | None
    new_status: AttendanceStatus
    reason: str


class CodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    student_id: uuid.UUID


class CodeIssued(BaseModel):
    """Shown once: only its hash is stored."""

    code: str = Field(description="Typed at a kiosk or in the student's app; one use.")
    qr: str = Field(description="The same code as a URI, to render as a QR code.")
    qr_svg: str = Field(
        description="qr as a QR code: a whole SVG document (show it inline or as a data: URI)."
    )
    lesson_id: uuid.UUID
    student_id: uuid.UUID
    expires_at: datetime


class CodeRedeem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=4, max_length=64)


class StudentRef(BaseModel):
    id: uuid.UUID
    display_name: str


FaceOutcome = Literal["recorded", "already_recorded", "unknown", "not_in_lesson", "not_verified"]


class CheckinFace(BaseModel):
    """One face of the frame: who it is (if anyone eligible) and what was recorded."""

    outcome: FaceOutcome
    student: StudentRef | None = None
    status: AttendanceStatus | None = Field(None, description="present or late, when recorded.")
    confidence: float | None = Field(None, description="Cosine similarity of the best match, -1..1.")
    lesson_id: uuid.UUID | None = None
    attendance_id: uuid.UUID | None = None
    box: list[float] | None = Field(None, description="x1, y1, x2, y2 in the frame, px.")


class Liveness(BaseModel):
    checked: bool = Field(
        description="False when liveness checks are switched off (the school's setting, or the "
        "installation's liveness_mode: off)."
    )
    passed: bool
    score: float | None = Field(None, description="0..1; 0.5 is the challenge threshold.")
    action: str | None = Field(None, description="The challenge answered, e.g. turn_left.")
    reasons: list[str] = Field(default_factory=list, description="Why it failed (codes), when it did.")


class ChallengeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lesson_id: uuid.UUID | None = Field(None, description="Default: the lesson open in the room now.")


class BurstSpec(BaseModel):
    min: int = Field(description="Fewest frames to send.")
    max: int = Field(description="Most frames to send.")
    default: int = Field(description="How many frames the kiosk should send (min..max).")
    interval_ms: int = Field(description="Pause between frames while the student moves.")


class ColourChallenge(BaseModel):
    """The light the kiosk's screen gives the face while it captures: a live face reflects it in time, a
    recording made before this challenge cannot."""

    sequence: list[str] = Field(
        description="#rrggbb colours: fill the screen with sequence[i] during [i*slot_ms, (i+1)*slot_ms) "
        "from t=0, the start of the capture; send each frame's time in frame_times_ms."
    )
    slot_ms: int = Field(description="How long each colour is shown.")


class ChallengeIssued(BaseModel):
    """What the kiosk shows and how it captures the answer; the nonce goes back with the frames."""

    nonce: str = Field(description="Single use, for this kiosk only; send it with the check-in.")
    action: Literal["turn_left", "turn_right"]
    instruction: str = Field(description="Text to show the student (their own left/right).")
    expires_in_s: int
    frames: BurstSpec
    colours: ColourChallenge | None = Field(
        description="The screen's colour sequence; null when the school's colour layer is off."
    )


class CheckinAnswer(BaseModel):
    """The kiosk's answer; a retry with the same Idempotency-Key gets this same answer back."""

    mode: Literal["identify", "verify", "code"]
    faces: list[CheckinFace]
    liveness: Liveness
    recorded: int = Field(description="Attendance records this request created.")
    unknown: int = Field(description="Faces that matched nobody (counted, never recorded).")
    replayed: bool = Field(False, description="True when answered from the idempotency cache.")
