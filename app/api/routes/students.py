"""Students: list and search (each caller sees whom they may), create, change, erase; bulk CSV import."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile

from app.api.deps import DbDep, RequestIdDep, SettingsDep, read_upload
from app.api.errors import error_responses
from app.api.school_deps import Multipart, PageDep, SchoolServicesDep
from app.api.security import AdminOnly, AnyUser
from app.core.enums import EnrollmentStatus
from app.schemas.common import Page
from app.schemas.consent import WithdrawalResult
from app.schemas.students import ImportReport, StudentCreate, StudentPublic, StudentUpdate
from app.services.privacy import consent, disclosure
from app.services.school import students
from app.services.school.imports import import_students
from app.services.uow import in_transaction

router = APIRouter(prefix="/v1/students", tags=["students"])


@router.get(
    "",
    summary="Students the caller may see",
    response_model=Page[StudentPublic],
    responses=error_responses(404),  # class_id of no class (or another school's)
)
def list_students(
    user: AnyUser,
    session: DbDep,
    page: PageDep,
    class_id: uuid.UUID | None = None,
    enrollment_status: EnrollmentStatus | None = None,
    active: bool | None = None,
) -> Page[StudentPublic]:
    """Admins: the whole school; teachers: students of their classes; a student: themself."""
    return students.list_students(
        session, user, page, class_id=class_id, enrollment_status=enrollment_status, active=active
    )


@router.post(
    "",
    summary="Create a student",
    status_code=201,
    response_model=StudentPublic,
    responses=error_responses(409, 422),
)
def create_student(
    body: StudentCreate, admin: AdminOnly, session: DbDep, request_id: RequestIdDep
) -> StudentPublic:
    return StudentPublic.model_validate(students.create_student(session, admin, body, request_id))


@router.post(
    "/import",
    summary="Import students from CSV: every row, or none",
    response_model=ImportReport,
    responses=error_responses(409, 413, 415, 422),
)
async def import_csv(
    file: Annotated[UploadFile, File(description="UTF-8 CSV with a header row (see the import docs).")],
    admin: AdminOnly,
    _multipart: Multipart,
    services: SchoolServicesDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
    dry_run: Annotated[bool, Form(description="Only check the file.")] = False,
) -> ImportReport:
    """Problems in any row answer 422 `import_rejected` with `details.errors` listing each (line, column,
    message), and nothing is imported."""
    data = await read_upload(file, "file", settings.max_upload_bytes)
    return await in_transaction(
        services.stores.engine,
        import_students,
        admin,
        data,
        max_rows=settings.import_max_rows,
        dry_run=dry_run,
        request_id=request_id,
    )


@router.get(
    "/{student_id}", summary="One student", response_model=StudentPublic, responses=error_responses(403, 404)
)
def get_student(
    student_id: uuid.UUID,
    user: AnyUser,
    session: DbDep,
    request_id: RequestIdDep,
    purpose: Annotated[
        str | None,
        Query(min_length=3, max_length=500, description="Why staff open the record (disclosure log)."),
    ] = None,
) -> StudentPublic:
    """Admins and the student see the full record; teachers a limited one (directory fields and enrollment
    state). Each view by staff is written to the disclosure log (FERPA)."""
    return disclosure.view_student(session, user, student_id, purpose, request_id)


@router.patch(
    "/{student_id}",
    summary="Change a student",
    response_model=StudentPublic,
    responses=error_responses(404, 409, 422),
)
def update_student(
    student_id: uuid.UUID, body: StudentUpdate, admin: AdminOnly, session: DbDep, request_id: RequestIdDep
) -> StudentPublic:
    return StudentPublic.model_validate(students.update_student(session, admin, student_id, body, request_id))


@router.delete(
    "/{student_id}",
    summary="Erase a student: biometric data everywhere, then every record",
    response_model=WithdrawalResult,
    responses=error_responses(404, 409, 503),
)
async def delete_student(
    student_id: uuid.UUID, admin: AdminOnly, services: SchoolServicesDep, request_id: RequestIdDep
) -> WithdrawalResult:
    """409 while the student still has a sign-in account (delete that first). To keep the record and drop
    only the face, withdraw the consent instead."""
    return await consent.delete_student(services.stores, admin, student_id, request_id)
