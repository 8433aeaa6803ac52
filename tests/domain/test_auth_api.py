"""Auth over HTTP through the real app: sign-in flows, lockout and rate limits with Retry-After, users and
kiosk keys, and PostgreSQL or Redis down answered with 503 and no partial writes."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.api.security import authenticate
from app.core.enums import Role
from app.core.security import totp_code
from app.db.session import transaction
from app.db.tables import AuditEvent, User
from cluster.local.stores import free_port
from tests.domain.authkit import PASSWORD, bearer, current_code, make_app, make_settings


def login(client: TestClient, email: str, password: str = PASSWORD, code: str | None = None, **kwargs):
    body = {"email": email, "password": password} | ({"totp_code": code} if code else {})
    return client.post("/v1/auth/login", json=body, **kwargs)


def test_first_admin_sign_in_enrols_mfa_then_gets_a_session(auth_client, auth_world) -> None:
    first = login(auth_client, "admin@south.example.org")
    assert first.status_code == 200 and first.json()["mfa_setup_required"] is True
    setup_headers = {"Authorization": f"Bearer {first.json()['setup_token']}"}
    assert auth_client.get("/v1/auth/me", headers=setup_headers).status_code == 401
    setup = auth_client.post("/v1/auth/mfa/setup", headers=setup_headers)
    assert setup.status_code == 200
    secret = setup.json()["secret"]
    bad = "000000" if totp_code(secret) != "000000" else "111111"
    wrong = auth_client.post("/v1/auth/mfa/activate", json={"code": bad}, headers=setup_headers)
    # the same answer as a wrong code at sign-in (test_admin_sign_in_needs_the_code)
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "invalid_mfa_code")
    done = auth_client.post("/v1/auth/mfa/activate", json={"code": totp_code(secret)}, headers=setup_headers)
    assert done.status_code == 200, done.text
    access = {"Authorization": f"Bearer {done.json()['access_token']}"}
    assert auth_client.get("/v1/auth/me", headers=access).json()["mfa_enabled"] is True
    assert auth_client.post("/v1/auth/logout", headers=access).status_code == 204
    assert auth_client.get("/v1/auth/me", headers=access).status_code == 401


def test_admin_sign_in_needs_the_code(auth_client, auth_world) -> None:
    missing = login(auth_client, auth_world.admin.email)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "mfa_required"
    assert "Bearer" in missing.headers["www-authenticate"]
    bad = "000000" if current_code(auth_world) != "000000" else "111111"
    wrong = login(auth_client, auth_world.admin.email, code=bad)
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "invalid_mfa_code")
    ok = login(auth_client, auth_world.admin.email, code=current_code(auth_world))
    assert ok.status_code == 200 and ok.json()["token_type"] == "bearer"
    assert ok.json()["expires_in"] == 900
    refreshed = auth_client.post("/v1/auth/refresh", json={"refresh_token": ok.json()["refresh_token"]})
    assert refreshed.status_code == 200


def test_throttled_sign_in_answers_429_with_retry_after(auth_client, auth_world) -> None:
    for attempt in range(6):
        response = login(
            auth_client, auth_world.teacher.email, "wrong password", headers={"X-Request-ID": "t-1"}
        )
        assert response.status_code == (429 if attempt == 5 else 401)
    assert response.json()["error"]["code"] == "sign_in_throttled"
    assert int(response.headers["retry-after"]) == 2  # the first wait past five failures; it doubles
    assert login(auth_client, auth_world.teacher.email).status_code == 429
    with transaction(auth_client.app.state.container.engine) as session:
        request_ids = set(
            session.exec(select(AuditEvent.request_id).where(AuditEvent.action == "auth.login"))
        )
    assert "t-1" in request_ids  # the caller's request id files the events


def test_login_rate_limit_per_ip_answers_429(tmp_path, pg_url, redis_url, auth_world) -> None:
    app = make_app(make_settings(tmp_path, pg_url, redis_url, auth_rate_limit="3/minute"))
    with TestClient(app, raise_server_exceptions=False) as client:
        statuses = [login(client, "nobody@example.org", "whatever pass").status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        limited = login(client, auth_world.teacher.email)  # even the right password waits
        assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
    app.state.container.engine.dispose()


def test_users_over_http(auth_client, auth_services, auth_world) -> None:
    admin = bearer(auth_services, auth_world.admin)
    body = {"email": "new.teacher@north.example.org", "full_name": "New Teacher", "role": "teacher",
            "password": "a long enough password"}  # fmt: skip
    created = auth_client.post("/v1/users", json=body, headers=admin)
    assert created.status_code == 201 and "password" not in created.text and "hash" not in created.text
    user_id = created.json()["id"]
    assert auth_client.post("/v1/users", json=body, headers=admin).status_code == 409
    assert auth_client.post("/v1/users", json=body | {"role": "root"}, headers=admin).status_code == 422
    listed = auth_client.get("/v1/users", params={"role": "teacher"}, headers=admin).json()
    assert {user["email"] for user in listed["items"]} == {"teacher@north.example.org", body["email"]}
    changed = auth_client.patch(f"/v1/users/{user_id}", json={"full_name": "Renamed"}, headers=admin)
    assert changed.json()["full_name"] == "Renamed"
    gone = auth_client.delete(f"/v1/users/{user_id}", headers=admin)
    assert gone.status_code == 200 and gone.json()["is_active"] is False
    assert login(auth_client, body["email"], body["password"]).status_code == 401
    other_school = auth_client.get(f"/v1/users/{auth_world.other_admin.id}", headers=admin)
    assert other_school.status_code == 404
    assert auth_client.get(f"/v1/users/{uuid.uuid4()}", headers=admin).status_code == 404
    assert auth_client.delete(f"/v1/users/{auth_world.admin.id}", headers=admin).status_code == 409


def test_kiosk_keys_over_http(auth_client, auth_services, auth_world) -> None:
    admin = bearer(auth_services, auth_world.admin)
    issued = auth_client.post("/v1/kiosks", json={"room": "Gym", "name": "Gym door"}, headers=admin)
    assert issued.status_code == 201
    key = issued.json()["api_key"]
    listed = auth_client.get("/v1/kiosks", headers=admin)
    assert key not in listed.text and {k["room"] for k in listed.json()} == {"R101", "Gym"}
    me = auth_client.get("/v1/kiosks/me", headers={"X-API-Key": key}).json()
    assert me["room"] == "Gym" and me["school_id"] == str(auth_world.school.id) and me["liveness"] is True
    # The admin's liveness switch, at run time: the kiosk learns it from its own identity and says so.
    school = f"/v1/schools/{auth_world.school.id}"
    switched = auth_client.patch(school, json={"liveness": False}, headers=admin)
    assert switched.status_code == 200 and switched.json()["liveness"] is False
    assert auth_client.get("/v1/kiosks/me", headers={"X-API-Key": key}).json()["liveness"] is False
    teacher = bearer(auth_services, auth_world.teacher)
    assert auth_client.patch(school, json={"liveness": True}, headers=teacher).status_code == 403
    assert auth_client.patch(school, json={"liveness": None}, headers=admin).status_code == 422
    # A kiosk may not use the raw face routes (a stolen key is no face-comparison service): refused as a
    # caller, before its missing image is noticed.
    assert auth_client.post("/v1/faces/detect", headers={"X-API-Key": key}).status_code == 403
    revoked = auth_client.delete(f"/v1/kiosks/{issued.json()['id']}", headers=admin)
    assert revoked.json()["revoked_at"] is not None
    assert auth_client.get("/v1/kiosks/me", headers={"X-API-Key": key}).status_code == 401
    with transaction(auth_client.app.state.container.engine) as session:
        stored = session.exec(
            select(AuditEvent.action).where(AuditEvent.action.startswith("kiosk_key"))
        ).all()
    assert sorted(stored) == ["kiosk_key.issue", "kiosk_key.issue", "kiosk_key.revoke"]


@pytest.fixture
def redis_down_client(tmp_path, pg_url, auth_world):
    settings = make_settings(tmp_path, pg_url, f"redis://127.0.0.1:{free_port()}/0", redis_timeout_s=0.5)
    app = make_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.container.engine.dispose()


def assert_503(response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["error"]["code"] in ("cache_unavailable", "database_unavailable")
    assert "Traceback" not in response.text and "127.0.0.1" not in response.text


def test_redis_down_sign_in_and_users_get_503_but_kiosks_work(redis_down_client, auth_services, auth_world):
    assert_503(login(redis_down_client, auth_world.teacher.email))
    assert_503(redis_down_client.post("/v1/auth/refresh", json={"refresh_token": "a" * 32 + ".b"}))
    assert_503(redis_down_client.get("/v1/auth/me", headers=bearer(auth_services, auth_world.teacher)))
    # Kiosks authenticate from PostgreSQL when the cache is gone, and their rate limit fails open.
    kiosk = redis_down_client.get("/v1/kiosks/me", headers={"X-API-Key": auth_world.kiosk_key})
    assert kiosk.status_code == 200


def test_redis_down_mid_command_writes_nothing(redis_down_client, auth_world) -> None:
    """A role change must also end the user's sessions (Redis); if that fails, the change rolls back."""
    admin = auth_world.principal(auth_world.admin)
    redis_down_client.app.dependency_overrides[authenticate] = lambda: admin
    response = redis_down_client.patch(f"/v1/users/{auth_world.teacher.id}", json={"role": "admin"})
    assert_503(response)
    with transaction(redis_down_client.app.state.container.engine) as session:
        teacher = session.get(User, auth_world.teacher.id)
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "user.update")).all()
    assert teacher is not None and teacher.role is Role.teacher and not events


def test_postgres_down_answers_503(tmp_path, redis_url, auth_services, auth_world) -> None:
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/rollcall"
    app = make_app(make_settings(tmp_path, dead, redis_url))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert_503(login(client, auth_world.teacher.email))
        assert_503(client.get("/v1/users", headers=bearer(auth_services, auth_world.admin)))
        assert_503(client.get("/v1/kiosks/me", headers={"X-API-Key": auth_world.kiosk_key}))
        assert_503(client.get("/v1/audit/verify", headers=bearer(auth_services, auth_world.admin)))
    app.state.container.engine.dispose()


def test_nothing_configured_is_503_not_500(tmp_path) -> None:
    with TestClient(make_app(make_settings(tmp_path)), raise_server_exceptions=False) as client:
        assert_503(login(client, "a@b.example.org"))
        assert_503(client.get("/v1/users", headers={"Authorization": "Bearer x.y.z"}))


def test_a_kiosk_key_can_be_revoked_while_redis_is_down(redis_down_client, auth_world) -> None:
    admin = auth_world.principal(auth_world.admin)
    redis_down_client.app.dependency_overrides[authenticate] = lambda: admin
    revoked = redis_down_client.delete(f"/v1/kiosks/{auth_world.kiosk.id}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    redis_down_client.app.dependency_overrides.clear()
    refused = redis_down_client.get("/v1/kiosks/me", headers={"X-API-Key": auth_world.kiosk_key})
    assert refused.status_code == 401
