"""``python -m app.api.openapi``: the API's OpenAPI document on stdout.

The web app's API types are generated from it when the web app is built (``web/build.sh`` runs this, then
``openapi-typescript``), so the console and kiosk read the shapes the routers really answer. The app is built
over a container without stores or models and with throwaway keys: only its routes and schemas are read.
"""

from __future__ import annotations

import json
import secrets
import sys
from typing import Any

from app.api.main import create_app
from app.container import build_container
from app.core.config import Settings
from app.core.crypto import new_keyring_text


def document() -> dict[str, Any]:
    settings = Settings(
        environment="development",
        database_url="",
        redis_url="",
        secret_key=secrets.token_urlsafe(48),
        template_key=new_keyring_text(),
        id_hash_key=secrets.token_urlsafe(48),
    )
    return create_app(build_container(settings)).openapi()


if __name__ == "__main__":
    json.dump(document(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
