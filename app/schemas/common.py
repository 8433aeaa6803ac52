"""Shapes shared by every area: pagination, constrained text, the search term."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints

T = TypeVar("T")

#: Whitespace trimmed, at least one character left: what every name-like field takes.
Text100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
#: Codes humans type and systems join on (student numbers, class codes, rooms): no spaces or quotes.
Code = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")
]
#: Deliberately loose (no email-validator dependency): one @, a dot in the domain, no spaces.
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]


class Public(BaseModel):
    """Base of the response models: built from table rows (``from_attributes``)."""

    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """One page of a listing: ``total`` counts every match, so clients can page without guessing."""

    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class PageParams:
    """Validated paging and search input of a listing (``q`` is a plain substring, not a pattern)."""

    limit: int = 50
    offset: int = 0
    q: str | None = None

    def like(self) -> str | None:
        """``q`` as a case-insensitive LIKE pattern, its own % and _ escaped (search, not injection)."""
        if not self.q or not self.q.strip():
            return None
        return "%" + re.sub(r"([\\%_])", r"\\\1", self.q.strip()) + "%"
