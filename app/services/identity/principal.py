"""Who is calling: a signed-in user with a role, or a kiosk authenticated by its API key.

Domain services take a ``Principal`` to decide what the caller may see (a teacher only their classes, a
student only themselves, a kiosk only its school and room), so those rules are tested without HTTP.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Final, Literal

from app.core.enums import Role

KIOSK: Final = "kiosk"


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["user", "kiosk"]
    id: uuid.UUID
    school_id: uuid.UUID
    role: Role | None = None  # None for a kiosk
    student_id: uuid.UUID | None = None  # set for a student user
    room: str | None = None  # set for a kiosk

    @property
    def actor(self) -> str:
        """How audit and attendance records name the caller."""
        return f"{self.kind}:{self.id}"

    @property
    def role_name(self) -> str:
        return self.role.value if self.role is not None else KIOSK

    def is_admin(self) -> bool:
        return self.role is Role.admin
