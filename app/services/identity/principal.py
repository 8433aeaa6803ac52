"""Who is calling: a signed-in user with a role, a kiosk authenticated by its API key, or the installation's
operator (its command line, ``python -m app.tenants``: whoever runs it holds the database credentials).

Domain services take a ``Principal`` to decide what the caller may see (a teacher only their classes, a
student only themselves, a kiosk only its school and room), so those rules are tested without HTTP.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Final, Literal

from app.core.enums import Role

KIOSK: Final = "kiosk"
OPERATOR: Final = "operator"


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["user", "kiosk", "operator"]
    id: uuid.UUID
    school_id: uuid.UUID
    role: Role | None = None  # None for a kiosk
    student_id: uuid.UUID | None = None  # set for a student user
    room: str | None = None  # set for a kiosk

    @property
    def actor(self) -> str:
        """How audit and attendance records name the caller."""
        return OPERATOR if self.kind == OPERATOR else f"{self.kind}:{self.id}"

    @property
    def role_name(self) -> str:
        return self.role.value if self.role is not None else KIOSK

    def is_admin(self) -> bool:
        return self.role is Role.admin


def operator_of(school_id: uuid.UUID) -> Principal:
    """The installation's operator acting on one school, with its admin's rights (erasing its students)."""
    return Principal(kind="operator", id=uuid.UUID(int=0), school_id=school_id, role=Role.admin)
