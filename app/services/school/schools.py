"""Schools. A user belongs to one school and sees only it; creating a school is bootstrap work (the setup
command or a platform operator), not something a school's own admin does through the API."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from app.core.enums import Role
from app.core.errors import NotFound
from app.db.tables import School
from app.schemas.schools import SchoolCreate, SchoolUpdate
from app.services.biometrics.stores import BiometricStores, rebuild_school
from app.services.crud import apply_update, flush_or_conflict
from app.services.identity.access import require_role
from app.services.identity.principal import Principal
from app.services.privacy.activity import log_action, target
from app.services.uow import in_transaction


def create_school(session: Session, data: SchoolCreate) -> School:
    school = School(name=data.name, timezone=data.timezone)
    session.add(school)
    flush_or_conflict(session, f"a school named {data.name!r}")
    return school


def get_school(session: Session, principal: Principal, school_id: uuid.UUID) -> School:
    """Only the caller's own school exists for them."""
    school = session.get(School, school_id) if school_id == principal.school_id else None
    if school is None:
        raise NotFound(f"no school {school_id}", code="school_not_found", id=str(school_id))
    return school


def liveness_switch(session: Session, school_id: uuid.UUID) -> bool:
    """The school's own liveness switch (``CheckinPolicy.checks_liveness`` adds the installation's)."""
    school = session.get(School, school_id)
    return school is None or school.liveness


def update_school(
    session: Session, principal: Principal, school_id: uuid.UUID, data: SchoolUpdate, request_id: str | None
) -> School:
    require_role(principal, Role.admin)
    school = get_school(session, principal, school_id)
    changes = apply_update(school, data, required=("name", "timezone", "colour_challenge", "liveness"))
    flush_or_conflict(session, f"a school named {school.name!r}")
    if changes:
        # The switches' new values are in the trail: who turned liveness off, and when, is the question an
        # inquiry into a proxy check-in asks first.
        switches = {name: changes[name] for name in ("liveness", "colour_challenge") if name in changes}
        log_action(
            session,
            principal,
            "school.update",
            target("school", school.id),
            request_id,
            fields=sorted(changes),
            **switches,
        )
    return school


async def rebuild_gallery(
    stores: BiometricStores, principal: Principal, school_id: uuid.UUID, request_id: str | None
) -> int:
    """Re-index the school's faces in Milvus from PostgreSQL (admins); returns how many vectors went in."""
    require_role(principal, Role.admin)
    await in_transaction(stores.engine, get_school, principal, school_id)
    vectors = await rebuild_school(stores.engine, stores.index, stores.cipher, school_id)
    await in_transaction(
        stores.engine,
        log_action,
        principal,
        "gallery.rebuild",
        target("school", school_id),
        request_id,
        vectors=vectors,
    )
    return vectors
