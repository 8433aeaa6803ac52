"""The OpenAPI document the web app's types are generated from (web/build.sh): every schema the web app
names exists in it, and building it needs no store, model or secret of the environment."""

from __future__ import annotations

import re

from app.api.openapi import document
from tests.conftest import REPO_ROOT

TYPES = REPO_ROOT / "web" / "src" / "api" / "types.ts"


def test_every_schema_the_web_app_names_is_in_the_document() -> None:
    schemas = document()["components"]["schemas"]
    named = set(re.findall(r'Schemas\["([A-Za-z0-9_]+)"\]', TYPES.read_text(encoding="utf-8")))
    assert named, "web/src/api/types.ts names no generated schema"
    assert named <= set(schemas), sorted(named - set(schemas))
    verdict = schemas["PhotoVerdict"]
    assert {"reasons", "codes"} <= set(verdict["required"])  # answers always carry them
