"""Localised message texts: ``templates/<language>/<topic>.txt``, Jinja2 (strict: a missing value fails).

The first line of a template is the subject (emails, push titles), the rest the body. A contact's language
picks the folder; an unknown language falls back to English. SMS and push send the subject line alone
(short, no personal data beyond the child's display name and the class).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
DEFAULT_LANGUAGE = "en"


def languages() -> list[str]:
    return sorted(path.name for path in TEMPLATES_DIR.iterdir() if path.is_dir())


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    body: str


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # Plain text only (no HTML is rendered), so there is nothing to escape; the strictness is what matters.
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - text/plain messages, never HTML
    )


@lru_cache(maxsize=16)
def strings(language: str) -> dict[str, str]:
    """Small translated words (statuses, the unsubscribe line) of ``language``."""
    path = TEMPLATES_DIR / pick_language(language) / "strings.txt"
    pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def pick_language(language: str | None) -> str:
    wanted = (language or "").lower().split("-", 1)[0]
    known = len(wanted) == 2 and wanted.isascii() and wanted.isalpha() and (TEMPLATES_DIR / wanted).is_dir()
    return wanted if known else DEFAULT_LANGUAGE


def render(topic: str, language: str | None, context: dict[str, Any]) -> Rendered:
    """The subject and body of ``topic`` in ``language`` (or English)."""
    template = _environment().get_template(f"{pick_language(language)}/{topic}.txt")
    subject, _, body = template.render(**context).partition("\n")
    return Rendered(subject.strip(), body.strip() + "\n")
