"""Classes, their members and their lessons. Admins manage classes and membership; teachers see their own
classes (and run their lessons); students see the classes they are in."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.api.deps import DbDep, RequestIdDep
from app.api.errors import error_responses
from app.api.school_deps import PageDep
from app.api.security import AdminOnly, AnyUser, Staff
from app.schemas.classes import (
    ClassCreate,
    ClassPublic,
    ClassUpdate,
    LessonCreate,
    LessonPublic,
    LessonSeriesCreate,
    LessonSeriesReport,
)
from app.schemas.common import Page
from app.schemas.students import StudentPublic
from app.services.school import classes, lessons

router = APIRouter(prefix="/v1/classes", tags=["classes"])


@router.get("", summary="Classes the caller may see", response_model=Page[ClassPublic])
def list_classes(user: AnyUser, session: DbDep, page: PageDep) -> Page[ClassPublic]:
    return classes.list_classes(session, user, page)


@router.post(
    "",
    summary="Create a class",
    status_code=201,
    response_model=ClassPublic,
    responses=error_responses(404, 409, 422),
)
def create_class(
    body: ClassCreate, admin: AdminOnly, session: DbDep, request_id: RequestIdDep
) -> ClassPublic:
    return ClassPublic.model_validate(classes.create_class(session, admin, body, request_id))


@router.get(
    "/{class_id}", summary="One class", response_model=ClassPublic, responses=error_responses(403, 404)
)
def get_class(class_id: uuid.UUID, user: AnyUser, session: DbDep) -> ClassPublic:
    return ClassPublic.model_validate(classes.get_class(session, user, class_id))


@router.patch(
    "/{class_id}",
    summary="Change a class",
    response_model=ClassPublic,
    responses=error_responses(404, 409, 422),
)
def update_class(
    class_id: uuid.UUID, body: ClassUpdate, admin: AdminOnly, session: DbDep, request_id: RequestIdDep
) -> ClassPublic:
    return ClassPublic.model_validate(classes.update_class(session, admin, class_id, body, request_id))


@router.delete(
    "/{class_id}",
    summary="Delete a class without lessons",
    status_code=204,
    responses=error_responses(404, 409),
)
def delete_class(class_id: uuid.UUID, admin: AdminOnly, session: DbDep, request_id: RequestIdDep) -> Response:
    classes.delete_class(session, admin, class_id, request_id)
    return Response(status_code=204)


@router.get(
    "/{class_id}/members",
    summary="Students in the class (its teacher and admins)",
    response_model=Page[StudentPublic],
    responses=error_responses(403, 404),
)
def list_members(class_id: uuid.UUID, staff: Staff, session: DbDep, page: PageDep) -> Page[StudentPublic]:
    return classes.list_members(session, staff, class_id, page)


@router.put(
    "/{class_id}/members/{student_id}",
    summary="Put a student in the class (idempotent)",
    status_code=204,
    responses=error_responses(404),
)
def add_member(
    class_id: uuid.UUID, student_id: uuid.UUID, admin: AdminOnly, session: DbDep, request_id: RequestIdDep
) -> Response:
    classes.add_member(session, admin, class_id, student_id, request_id)
    return Response(status_code=204)


@router.delete(
    "/{class_id}/members/{student_id}",
    summary="Take a student out of the class (their records stay)",
    status_code=204,
    responses=error_responses(404),
)
def remove_member(
    class_id: uuid.UUID, student_id: uuid.UUID, admin: AdminOnly, session: DbDep, request_id: RequestIdDep
) -> Response:
    classes.remove_member(session, admin, class_id, student_id, request_id)
    return Response(status_code=204)


@router.get(
    "/{class_id}/lessons",
    summary="The class's lessons, by the school's local dates",
    response_model=Page[LessonPublic],
    responses=error_responses(403, 404, 422),
)
def list_lessons(
    class_id: uuid.UUID,
    user: AnyUser,
    session: DbDep,
    page: PageDep,
    date_from: Annotated[date | None, Query(alias="from", description="First day (YYYY-MM-DD).")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="Last day, included.")] = None,
) -> Page[LessonPublic]:
    return lessons.list_lessons(session, user, class_id, page, date_from, date_to)


@router.post(
    "/{class_id}/lessons",
    summary="Schedule a lesson (the class's teacher or an admin)",
    status_code=201,
    response_model=LessonPublic,
    responses=error_responses(403, 404, 422),
)
def create_lesson(
    class_id: uuid.UUID, body: LessonCreate, staff: Staff, session: DbDep, request_id: RequestIdDep
) -> LessonPublic:
    return LessonPublic.model_validate(lessons.create_lesson(session, staff, class_id, body, request_id))


@router.post(
    "/{class_id}/lessons/recurring",
    summary="Schedule a weekly series of lessons: every date, or none",
    response_model=LessonSeriesReport,
    responses=error_responses(403, 404, 409, 422),
)
def create_series(
    class_id: uuid.UUID, body: LessonSeriesCreate, staff: Staff, session: DbDep, request_id: RequestIdDep
) -> LessonSeriesReport:
    """The school's wall-clock time on each date (its time zone, daylight saving included). A clash with
    another lesson of the class in the same room on any date answers 409 `lesson_overlaps` with the whole
    report in `details` (each date's `overlaps`), and nothing is created; `dry_run` only reports."""
    return lessons.create_series(session, staff, class_id, body, request_id)
