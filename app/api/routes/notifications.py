"""Notifications: contacts and quiet hours (admins), dead letters, and the public unsubscribe links."""

from __future__ import annotations

import html
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse

from app.api.deps import DbDep, RequestIdDep, SettingsDep
from app.api.errors import error_responses
from app.api.security import AdminOnly
from app.core.enums import DeliveryStatus
from app.notifications import service
from app.notifications.templates import strings
from app.schemas.notifications import (
    ContactCreate,
    ContactCreated,
    ContactPublic,
    ContactUpdate,
    DeliveryPublic,
    NotificationSettingsPublic,
    NotificationSettingsUpdate,
    Unsubscribed,
)

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])
TokenQuery = Annotated[str, Query(min_length=10, max_length=200, description="The token from the message.")]


@router.get(
    "/settings", summary="Quiet hours and default language", response_model=NotificationSettingsPublic
)
def get_settings(admin: AdminOnly, session: DbDep) -> NotificationSettingsPublic:
    return service.get_settings(session, admin)


@router.put(
    "/settings",
    summary="Set quiet hours (local time) and the default language",
    response_model=NotificationSettingsPublic,
    responses=error_responses(422),
)
def put_settings(
    body: NotificationSettingsUpdate, admin: AdminOnly, session: DbDep, request_id: RequestIdDep
) -> NotificationSettingsPublic:
    return service.put_settings(session, admin, body, request_id)


@router.get("/contacts", summary="The school's notification contacts", response_model=list[ContactPublic])
def list_contacts(
    admin: AdminOnly, session: DbDep, student_id: uuid.UUID | None = None
) -> list[ContactPublic]:
    return service.list_contacts(session, admin, student_id)


@router.post(
    "/contacts",
    summary="Add a contact (a guardian, a staff member, or a school-wide endpoint)",
    status_code=201,
    response_model=ContactCreated,
    responses=error_responses(404, 422),
)
def create_contact(
    body: ContactCreate, admin: AdminOnly, session: DbDep, settings: SettingsDep, request_id: RequestIdDep
) -> ContactCreated:
    """A webhook contact's signing secret is in this answer only."""
    return service.create_contact(session, admin, body, settings, request_id)


@router.patch(
    "/contacts/{contact_id}",
    summary="Change a contact (a new webhook URL gets a new secret)",
    response_model=ContactCreated,
    responses=error_responses(404, 422),
)
def update_contact(
    contact_id: uuid.UUID,
    body: ContactUpdate,
    admin: AdminOnly,
    session: DbDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> ContactCreated:
    return service.update_contact(session, admin, contact_id, body, settings, request_id)


@router.delete(
    "/contacts/{contact_id}", summary="Remove a contact", status_code=204, responses=error_responses(404)
)
def delete_contact(
    contact_id: uuid.UUID, admin: AdminOnly, session: DbDep, request_id: RequestIdDep
) -> Response:
    service.delete_contact(session, admin, contact_id, request_id)
    return Response(status_code=204)


@router.get(
    "/deliveries",
    summary="Recent deliveries; status=dead lists the dead letters",
    response_model=list[DeliveryPublic],
)
def list_deliveries(
    admin: AdminOnly,
    session: DbDep,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryPublic]:
    return service.list_deliveries(session, admin, status, limit)


@router.post(
    "/deliveries/{delivery_id}/retry",
    summary="Send a dead letter again",
    response_model=DeliveryPublic,
    responses=error_responses(404, 422),
)
def retry_delivery(
    delivery_id: uuid.UUID, admin: AdminOnly, session: DbDep, request_id: RequestIdDep
) -> DeliveryPublic:
    return service.retry_delivery(session, admin, delivery_id, request_id)


@router.get(
    "/unsubscribe",
    summary="The page an unsubscribe link opens (a button; opening it changes nothing)",
    response_class=HTMLResponse,
)
def unsubscribe_page(token: TokenQuery, lang: str = "en") -> HTMLResponse:
    """A GET changes nothing (mail scanners open links); the button POSTs, as RFC 8058 one-click does."""
    label = html.escape(strings(lang).get("unsubscribe", "Unsubscribe"))
    page = (
        "<!doctype html><meta charset=utf-8><title>Rollcall</title>"
        f'<form method=post action="?token={html.escape(token, quote=True)}">'
        f"<button type=submit>{label}</button></form>"
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


@router.post(
    "/unsubscribe",
    summary="Stop the messages of an unsubscribe link (one-click, RFC 8058)",
    response_model=Unsubscribed,
    responses=error_responses(404),
)
def unsubscribe(
    token: TokenQuery, session: DbDep, settings: SettingsDep, request_id: RequestIdDep
) -> Unsubscribed:
    return Unsubscribed(channel=service.unsubscribe(session, settings, token, request_id))
