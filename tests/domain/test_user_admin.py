"""An admin's user administration over HTTP with real credentials: a password reset to a random password
shown once, an MFA reset, an unlock; each ends what it should and is refused to everyone else."""

from __future__ import annotations

import uuid

from sqlmodel import select

from app.core.enums import Role
from app.core.security import new_totp_secret
from app.db.session import transaction
from app.db.tables import AuditEvent
from app.services.identity.auth import temporary_password
from tests.domain.authkit import PASSWORD, bearer, make_user
from tests.domain.test_auth_api import login


def error(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_temporary_passwords_are_long_and_readable() -> None:
    password = temporary_password(12)
    groups = password.split("-")
    assert [len(group) for group in groups] == [5, 5, 5, 5]
    assert not set("".join(groups)) & set("01ilo")
    assert len(temporary_password(31).replace("-", "")) == 35  # whole groups, at least the minimum
    assert temporary_password(12) != password


def test_a_password_reset_shows_the_new_password_once_and_ends_the_users_sign_ins(
    auth_client, auth_services, auth_world
) -> None:
    admin = bearer(auth_services, auth_world.admin)
    teacher = auth_world.teacher
    old_session = bearer(auth_services, teacher)
    answer = auth_client.post(f"/v1/users/{teacher.id}/password-reset", headers=admin)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["user_id"] == str(teacher.id) and len(body["password"]) >= 20
    assert error(auth_client.get("/v1/auth/me", headers=old_session)) == (401, "sign_in_revoked")
    assert login(auth_client, teacher.email).status_code == 401  # the old password is gone
    assert login(auth_client, teacher.email, body["password"]).status_code == 200
    again = auth_client.post(f"/v1/users/{teacher.id}/password-reset", headers=admin).json()
    assert again["password"] != body["password"]
    with transaction(auth_services.auth.engine) as session:
        events = session.exec(
            select(AuditEvent.details).where(
                AuditEvent.action == "user.update", AuditEvent.target == f"user:{teacher.id}"
            )
        ).all()
    assert [details.get("password_reset") for details in events] == [True, True]
    assert body["password"] not in str(events)


def test_only_an_admin_of_the_school_resets_passwords(auth_client, auth_services, auth_world) -> None:
    admin = bearer(auth_services, auth_world.admin)
    path = "/v1/users/{}/password-reset"
    other_school = auth_client.post(path.format(auth_world.other_admin.id), headers=admin)
    assert error(other_school) == (404, "user_not_found")
    assert error(auth_client.post(path.format(uuid.uuid4()), headers=admin)) == (404, "user_not_found")
    teacher = bearer(auth_services, auth_world.teacher)
    refused = auth_client.post(path.format(auth_world.student_user.id), headers=teacher)
    assert error(refused) == (403, "forbidden")
    assert login(auth_client, auth_world.student_user.email).status_code == 200  # nothing changed


def test_mfa_reset_and_unlock_work_and_no_admin_deactivates_themself(
    auth_client, auth_services, auth_world
) -> None:
    """With a second admin, the first may step down (test_the_last_admin_stays), but never deactivate
    themself, by PATCH no more than by DELETE: they could not sign in to undo it."""
    with transaction(auth_services.auth.engine) as session:
        second = make_user(session, auth_services, auth_world.school, Role.admin)
        secret = new_totp_secret()
        second.totp_secret_enc = auth_services.auth.keyring.seal(secret.encode(), b"totp:" + second.id.bytes)
        second.mfa_enabled = True
    admin = bearer(auth_services, auth_world.admin)
    own = f"/v1/users/{auth_world.admin.id}"
    assert error(auth_client.patch(own, json={"is_active": False}, headers=admin)) == (
        409,
        "cannot_remove_self",
    )
    assert error(auth_client.delete(own, headers=admin)) == (409, "cannot_remove_self")
    their_session = bearer(auth_services, second)
    reset = auth_client.patch(f"/v1/users/{second.id}", json={"reset_mfa": True}, headers=admin)
    assert reset.status_code == 200 and reset.json()["mfa_enabled"] is False
    assert error(auth_client.get("/v1/auth/me", headers=their_session)) == (401, "sign_in_revoked")
    assert login(auth_client, second.email).json()["mfa_setup_required"] is True

    statuses = [login(auth_client, second.email, "wrong password").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]  # slowed from this address
    assert login(auth_client, second.email).status_code == 429
    unlocked = auth_client.patch(f"/v1/users/{second.id}", json={"unlock": True}, headers=admin)
    assert unlocked.status_code == 200
    assert login(auth_client, second.email, PASSWORD).status_code == 200
