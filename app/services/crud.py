"""Helpers every CRUD service shares: paging, partial updates, and constraint violations as conflicts."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from app.core.errors import Conflict, InvalidInput
from app.db.tables import utcnow
from app.schemas.common import Page, PageParams

_Row = TypeVar("_Row", bound=SQLModel)
_Out = TypeVar("_Out")

#: PostgreSQL SQLSTATEs: unique_violation, foreign_key_violation.
_UNIQUE, _FOREIGN_KEY = "23505", "23503"


def paginate(
    session: Session, query: Select[_Row], params: PageParams, convert: Callable[[_Row], _Out]
) -> Page[_Out]:
    """One page of ``query`` (already filtered and ordered) and the number of rows it matches in all."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.scalars(query.limit(params.limit).offset(params.offset))
    return Page(items=[convert(row) for row in rows], total=total, limit=params.limit, offset=params.offset)


def apply_update(
    row: SQLModel, update: BaseModel, *, required: Collection[str] = (), options: Collection[str] = ()
) -> dict[str, Any]:
    """Set the fields the client sent (an explicit null clears a field, unless it is ``required``);
    ``options`` are fields of the request that are not the row's (how to apply it, e.g. ``allow_overlap``).

    Returns what changed as ``{field: new value}`` (for the audit trail); ``updated_at`` is touched when the
    row has one and anything changed.
    """
    sent = update.model_dump(exclude_unset=True, exclude=set(options))
    nulls = sorted(name for name, value in sent.items() if value is None and name in required)
    if nulls:
        raise InvalidInput(f"{', '.join(nulls)} cannot be empty", code="invalid_request", fields=nulls)
    changes = {name: value for name, value in sent.items() if getattr(row, name) != value}
    for name, value in changes.items():
        setattr(row, name, value)
    if changes and hasattr(row, "updated_at"):
        row.updated_at = utcnow()
    return changes


def flush_or_conflict(session: Session, what: str, **details: Any) -> None:
    """Flush pending writes; a unique or foreign-key violation becomes a 409 instead of a 500.

    Services check the obvious cases first for a friendly message; the constraint is what holds under a
    race between two requests, and this turns the loser's violation into the same answer.
    """
    try:
        session.flush()
    except IntegrityError as exc:
        state = getattr(exc.orig, "sqlstate", None)
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
        if state == _UNIQUE:
            raise Conflict(
                f"{what} already exists", code="duplicate", constraint=constraint, **details
            ) from exc
        if state == _FOREIGN_KEY:
            raise Conflict(
                f"{what} is still referenced by other records",
                code="in_use",
                constraint=constraint,
                **details,
            ) from exc
        raise
