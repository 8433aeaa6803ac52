"""The operator's schools (``python -m app.tenants``): a second school with its own admin, kept apart from the
first; suspension stops a school's sign-ins, sessions and kiosks at once and only that school's; the command
line refuses clearly. Deletion, which needs faces, is in tests/domain/school/test_school_deletion.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from app.container import SecurityServices
from app.core.config import ensure_dev_secrets, get_settings
from app.core.errors import Forbidden
from app.db.session import transaction
from app.db.tables import AuditEvent, User
from app.services.identity.auth import NewSchool
from app.services.operations import tenancy
from tests.domain.authkit import PASSWORD, World, bearer


def _login(client: TestClient, email: str) -> dict:
    response = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    return {"status": response.status_code, **response.json()}


def test_a_second_school_gets_its_own_admin_who_sees_only_it(
    auth_client: TestClient, auth_services: SecurityServices, auth_world: World, auth_settings
) -> None:
    with transaction(auth_services.auth.engine) as session:
        west = NewSchool("West Academy", "Europe/Paris", "Head@West.example.org", "Head West", PASSWORD)
        school, admin = tenancy.add_school(session, auth_settings.passwords, west)
        listed = {row.name: row for row in tenancy.list_schools(session)}
    assert listed["West Academy"].admins == 1 and listed["West Academy"].state == "active"
    assert listed["North High"].students == 1 and listed["North High"].kiosks == 1
    first = _login(auth_client, "head@west.example.org")
    assert first["status"] == 200 and "setup_token" in first  # an admin enrols TOTP first, as after bootstrap

    with transaction(auth_services.auth.engine) as session:
        user = session.get(User, admin.id)
        assert user is not None
        headers = bearer(auth_services, user)
    own = auth_client.get(f"/v1/schools/{school.id}", headers=headers)
    assert own.status_code == 200 and own.json()["timezone"] == "Europe/Paris"
    # The first school, its students and its users do not exist for the new school's admin.
    assert auth_client.get(f"/v1/schools/{auth_world.school.id}", headers=headers).status_code == 404
    assert auth_client.get(f"/v1/students/{auth_world.student.id}", headers=headers).status_code == 404
    assert auth_client.get("/v1/students", headers=headers).json()["items"] == []
    users = auth_client.get("/v1/users", headers=headers).json()["items"]
    assert [u["email"] for u in users] == ["head@west.example.org"]
    with transaction(auth_services.auth.engine) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "school.create")).one()
    assert event.school_id == school.id and event.actor == "system"


def test_suspending_a_school_stops_its_sign_ins_sessions_and_kiosks_and_only_its(
    auth_client: TestClient,
    auth_services: SecurityServices,
    auth_world: World,
    engine: Engine,
) -> None:
    teacher = bearer(auth_services, auth_world.teacher)
    assert auth_client.get("/v1/auth/me", headers=teacher).status_code == 200
    assert auth_services.kiosks.authenticate(auth_world.kiosk_key).school_id == auth_world.school.id  # cached
    client = auth_services.kiosks.client  # the app's Redis

    tenancy.suspend(auth_services.auth.engine, client, auth_services.kiosks, "North High")

    refused = _login(auth_client, "teacher@north.example.org")
    assert (refused["status"], refused["error"]["code"]) == (403, "school_suspended")
    wrong = auth_client.post(
        "/v1/auth/login", json={"email": "teacher@north.example.org", "password": "not it at all"}
    )
    assert wrong.json()["error"]["code"] == "invalid_credentials"  # said only to whoever knows the password
    assert auth_client.get("/v1/auth/me", headers=teacher).status_code == 401  # its session ended
    with pytest.raises(Forbidden) as caught:
        auth_services.kiosks.authenticate(auth_world.kiosk_key)
    assert caught.value.code == "school_suspended"
    kiosk = auth_client.post("/v1/checkins/challenge", json={}, headers={"X-API-Key": auth_world.kiosk_key})
    assert (kiosk.status_code, kiosk.json()["error"]["code"]) == (403, "school_suspended")
    assert _login(auth_client, "admin@south.example.org")["status"] == 200  # another school is untouched

    with transaction(auth_services.auth.engine) as session:
        tenancy.resume(session, str(auth_world.school.id))
    assert _login(auth_client, "teacher@north.example.org")["status"] == 200
    assert auth_services.kiosks.authenticate(auth_world.kiosk_key).school_id == auth_world.school.id
    with transaction(engine) as session:
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.school_id == auth_world.school.id, AuditEvent.action.like("school.%"))
            .order_by(AuditEvent.seq)
        ).all()
    assert actions == ["school.suspend", "school.resume"]


def test_the_operator_command_adds_lists_and_refuses_clearly(
    clean_db: Engine, pg_url: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.tenants import cli

    ensure_dev_secrets(tmp_path)
    monkeypatch.setenv("ROLLCALL_DATABASE_URL", pg_url)
    monkeypatch.setenv("ROLLCALL_REDIS_URL", redis_url)
    monkeypatch.setenv("ROLLCALL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ROLLCALL_BOOTSTRAP_PASSWORD", "a long operator password")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        args = ["create", "--school", "Lake School", "--email", "head@lake.example.org", "--json"]
        created = runner.invoke(cli, [*args, "--timezone", "America/New_York"])
        assert created.exit_code == 0, created.output
        again = runner.invoke(cli, args)
        assert again.exit_code == 1 and "duplicate" in again.output
        elsewhere = ["create", "--school", "X", "--email", "x@x.example.org", "--timezone", "Mars/Base"]
        bad_zone = runner.invoke(cli, elsewhere)
        assert bad_zone.exit_code == 1 and "invalid_input" in bad_zone.output
        listed = runner.invoke(cli, ["list", "--json"])
        assert listed.exit_code == 0, listed.output
        (row,) = json.loads(listed.stdout)
        assert (row["name"], row["timezone"], row["admins"], row["state"]) == (
            "Lake School", "America/New_York", 1, "active",
        )  # fmt: skip
        mismatch = runner.invoke(cli, ["delete", "Lake School", "--confirm", "lake school"])
        assert mismatch.exit_code == 1 and "confirmation_mismatch" in mismatch.output
        missing = runner.invoke(cli, ["suspend", "No Such School"])
        assert missing.exit_code == 1 and "school_not_found" in missing.output
    finally:
        get_settings.cache_clear()
