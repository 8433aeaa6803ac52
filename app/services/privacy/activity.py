"""The school domain's entries in the audit trail: one call per biometric or administrative action.

A thin adapter over ``services.privacy.audit.record`` so every domain service names the actor and the request
the same way. Targets are ``"<kind>:<id>"``; the audit service pseudonymises ``student:<id>`` targets and
detail values under ``student_id``/``student_ids``, so student ids go in those and nowhere else.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from app.services.identity.principal import Principal
from app.services.privacy import audit


def target(kind: str, row_id: uuid.UUID | str) -> str:
    return f"{kind}:{row_id}"


def log_action(
    session: Session,
    /,
    principal: Principal,
    action: str,
    target_ref: str | None,
    request_id: str | None,
    *,
    result: str = "ok",
    **details: Any,
) -> None:
    """Append an audit event in the caller's transaction: it commits with the change it describes, or not."""
    audit.record(session, principal, action, target_ref, result, request_id, **details)
