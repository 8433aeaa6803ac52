"""Attendance reports as JSON, or exported as CSV (streamed row by row) or XLSX, in the school's time zone."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlmodel import Session

from app.api.deps import DbDep, RequestIdDep, SettingsDep
from app.api.errors import error_responses
from app.api.school_deps import CacheDep
from app.api.security import AnyUser, Staff
from app.schemas.reports import ClassReport, ExportFormat, LessonReport, StudentReport
from app.services.identity.principal import Principal
from app.services.school import reports
from app.services.school.exports import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_chunks, xlsx_chunks

router = APIRouter(prefix="/v1/reports", tags=["reports"])

FormatQuery = Annotated[ExportFormat, Query(alias="format", description="json, csv or xlsx.")]
FromQuery = Annotated[
    date | None, Query(alias="from", description="First day (default: 30 days before `to`).")
]
ToQuery = Annotated[date | None, Query(alias="to", description="Last day, included (default: today).")]
_RESPONSES = {
    **error_responses(403, 404, 422),
    200: {"content": {"application/json": {}, CSV_MEDIA_TYPE.split(";")[0]: {}, XLSX_MEDIA_TYPE: {}}},
}


@router.get(
    "/lessons/{lesson_id}",
    summary="Attendance of one lesson",
    response_model=LessonReport,
    responses=_RESPONSES,
)
def lesson_report(
    lesson_id: uuid.UUID,
    staff: Staff,
    session: DbDep,
    cache: CacheDep,
    request_id: RequestIdDep,
    export: FormatQuery = ExportFormat.json,
) -> BaseModel | StreamingResponse:
    report = reports.lesson_report(session, staff, lesson_id, cache)
    return _answer(session, staff, report, export, request_id)


@router.get(
    "/classes/{class_id}",
    summary="A class over a date range",
    response_model=ClassReport,
    responses=_RESPONSES,
)
def class_report(
    class_id: uuid.UUID,
    staff: Staff,
    session: DbDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
    date_from: FromQuery = None,
    date_to: ToQuery = None,
    export: FormatQuery = ExportFormat.json,
) -> BaseModel | StreamingResponse:
    report = reports.class_report(
        session, staff, class_id, date_from, date_to, max_days=settings.report_max_days
    )
    return _answer(session, staff, report, export, request_id)


@router.get(
    "/students/{student_id}",
    summary="A student over a date range",
    response_model=StudentReport,
    responses=_RESPONSES,
)
def student_report(
    student_id: uuid.UUID,
    user: AnyUser,
    session: DbDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
    date_from: FromQuery = None,
    date_to: ToQuery = None,
    class_id: uuid.UUID | None = None,
    export: FormatQuery = ExportFormat.json,
) -> BaseModel | StreamingResponse:
    """A student may read their own; a teacher sees the lessons of the classes they teach."""
    report = reports.student_report(
        session, user, student_id, date_from, date_to, class_id=class_id, max_days=settings.report_max_days
    )
    return _answer(session, user, report, export, request_id)


def _answer(
    session: Session, principal: Principal, report: reports.Report, export: ExportFormat, request_id: str
) -> BaseModel | StreamingResponse:
    """JSON as is; a file export is audited (in this request's transaction) and streamed."""
    if export is ExportFormat.json:
        return report
    reports.audit_export(session, principal, report, export.value, request_id)
    header, rows = reports.table(report)
    stem, zone = reports.file_stem(report), ZoneInfo(report.timezone)
    if export is ExportFormat.csv:
        chunks, media_type = csv_chunks(header, rows, zone), CSV_MEDIA_TYPE
    else:
        chunks, media_type = xlsx_chunks(reports.title(report), header, rows, zone), XLSX_MEDIA_TYPE
    disposition = f'attachment; filename="{stem}.{export.value}"'
    return StreamingResponse(chunks, media_type=media_type, headers={"Content-Disposition": disposition})
