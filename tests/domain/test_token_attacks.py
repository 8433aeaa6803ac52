"""Forged, altered, expired, misdirected and replayed credentials, over HTTP: every one is a 401 with
WWW-Authenticate and the JSON error body, never a 500 and never a success."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from app.core.enums import Role
from app.core.security import TokenType, issue_token

ME = "/v1/auth/me"


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims_for(settings, user, **changes) -> dict:
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user.id),
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "typ": "access",
        "sch": str(user.school_id),
        "role": user.role.value,
        "sid": "",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def assert_401(response, code: str | None = None) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert list(body) == ["error"] and "Traceback" not in response.text
    if code:
        assert body["error"]["code"] == code, body


@pytest.fixture
def real(auth_services, auth_world):
    """A genuine session of the teacher: its tokens and the claims to forge variants from."""
    pair = auth_services.auth.issue_tokens(auth_world.teacher)
    _, claims = auth_services.auth.principal_from_token(pair.access_token)
    return pair, claims


def test_the_genuine_token_works(auth_client, real) -> None:
    pair, _ = real
    response = auth_client.get(ME, headers={"Authorization": f"Bearer {pair.access_token}"})
    assert response.status_code == 200 and response.json()["role"] == "teacher"


def test_alg_none_is_refused(auth_client, auth_settings, auth_world, real) -> None:
    _, genuine = real
    payload = claims_for(auth_settings, auth_world.teacher, role="admin", sid=genuine.family)
    for alg in ("none", "None", "NONE"):
        token = f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64(payload)}."
        assert_401(auth_client.get(ME, headers={"Authorization": f"Bearer {token}"}), "invalid_token")


def test_signatures_with_another_key_or_algorithm_are_refused(
    auth_client, auth_settings, auth_world, real
) -> None:
    _, genuine = real
    payload = claims_for(auth_settings, auth_world.teacher, sid=genuine.family)
    key = auth_settings.secret_key.get_secret_value()
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = [
        jwt.encode(payload, "not-the-key-" + "z" * 40, algorithm="HS256"),
        jwt.encode(payload, key, algorithm="HS512"),  # right key, algorithm not accepted
        jwt.encode(payload, key, algorithm="HS384"),
        jwt.encode(payload, private, algorithm="RS256"),  # confusion: asymmetric token
    ]
    for token in forged:
        assert_401(auth_client.get(ME, headers={"Authorization": f"Bearer {token}"}), "invalid_token")


def test_an_altered_payload_breaks_the_signature(auth_client, real) -> None:
    pair, _ = real
    header, payload, signature = pair.access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    token = f"{header}.{b64(claims)}.{signature}"
    assert_401(auth_client.get(ME, headers={"Authorization": f"Bearer {token}"}), "invalid_token")
    assert_401(auth_client.get("/v1/users", headers={"Authorization": f"Bearer {token}"}), "invalid_token")


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"exp": int(time.time()) - 10}, "token_expired"),
        ({"nbf": int(time.time()) + 600}, "invalid_token"),
        ({"aud": "another-api"}, "invalid_token"),
        ({"iss": "someone-else"}, "invalid_token"),
        ({"jti": None}, "invalid_token"),
        ({"exp": None}, "invalid_token"),
        ({"typ": None}, "invalid_token"),
        ({"typ": "refresh"}, "invalid_token"),
        ({"role": "superuser"}, "invalid_token"),
        ({"sub": "not-a-uuid"}, "invalid_token"),
    ],
)
def test_claims_must_be_present_current_and_ours(
    auth_client, auth_settings, auth_world, real, changes, code
) -> None:
    """Correctly signed (with the real key) yet wrong in one claim."""
    _, genuine = real
    payload = claims_for(auth_settings, auth_world.teacher, sid=genuine.family, **changes)
    token = jwt.encode(payload, auth_settings.secret_key.get_secret_value(), algorithm="HS256")
    assert_401(auth_client.get(ME, headers={"Authorization": f"Bearer {token}"}), code)


def test_a_token_of_an_unknown_or_ended_session_is_refused(
    auth_client, auth_settings, auth_world, real
) -> None:
    pair, _ = real
    unknown = jwt.encode(
        claims_for(auth_settings, auth_world.teacher, sid="f" * 32),
        auth_settings.secret_key.get_secret_value(),
        algorithm="HS256",
    )
    assert_401(auth_client.get(ME, headers={"Authorization": f"Bearer {unknown}"}), "sign_in_revoked")
    headers = {"Authorization": f"Bearer {pair.access_token}"}
    assert auth_client.post("/v1/auth/logout", headers=headers).status_code == 204
    assert_401(auth_client.get(ME, headers=headers), "sign_in_revoked")
    assert_401(auth_client.post("/v1/auth/refresh", json={"refresh_token": pair.refresh_token}))


def test_a_replayed_refresh_token_ends_the_session_over_http(auth_client, real) -> None:
    pair, _ = real
    renewed = auth_client.post("/v1/auth/refresh", json={"refresh_token": pair.refresh_token})
    assert renewed.status_code == 200
    replay = auth_client.post("/v1/auth/refresh", json={"refresh_token": pair.refresh_token})
    assert_401(replay, "refresh_token_reused")
    new_access = renewed.json()["access_token"]
    assert_401(auth_client.get(ME, headers={"Authorization": f"Bearer {new_access}"}), "sign_in_revoked")


def test_tokens_of_the_wrong_kind(auth_client, auth_settings, auth_world, real) -> None:
    pair, _ = real
    assert_401(auth_client.get(ME, headers={"Authorization": f"Bearer {pair.refresh_token}"}))
    setup, _ = issue_token(
        auth_settings.tokens, TokenType.mfa_setup, user_id=auth_world.admin.id,
        school_id=auth_world.school.id, role=Role.admin,
    )  # fmt: skip
    assert_401(auth_client.get("/v1/users", headers={"Authorization": f"Bearer {setup}"}), "invalid_token")
    # ...yet it is what the MFA enrolment routes take.
    response = auth_client.post("/v1/auth/mfa/setup", headers={"Authorization": f"Bearer {setup}"})
    assert response.status_code == 409  # this admin already has MFA: accepted as a caller, refused as a state


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "Bearer a.b", "Bearer " + "A" * 5000],
)
def test_malformed_authorization_headers(auth_client, header: str) -> None:
    assert_401(auth_client.get(ME, headers={"Authorization": header} if header else {}))


def test_kiosk_keys_forged_revoked_or_combined(auth_client, auth_services, auth_world, real) -> None:
    key = auth_world.kiosk_key
    assert auth_client.get("/v1/kiosks/me", headers={"X-API-Key": key}).status_code == 200
    prefix = key.split("_")[1]
    forged = [
        "rck_" + "0" * 12 + "_" + "A" * 43,  # well-formed, unknown prefix
        f"rck_{prefix}_" + "B" * 43,  # the real prefix, a guessed secret (the real key is cached now)
        key[:-1],
        key + "x",
        "",
        "not-a-key",
    ]
    for candidate in forged:
        response = auth_client.get("/v1/kiosks/me", headers={"X-API-Key": candidate})
        assert_401(response)
    pair, _ = real
    both = {"X-API-Key": key, "Authorization": f"Bearer {pair.access_token}"}
    assert_401(auth_client.get("/v1/kiosks/me", headers=both), "ambiguous_credentials")
    admin = {"Authorization": f"Bearer {auth_services.auth.issue_tokens(auth_world.admin).access_token}"}
    assert auth_client.delete(f"/v1/kiosks/{auth_world.kiosk.id}", headers=admin).status_code == 200
    assert_401(auth_client.get("/v1/kiosks/me", headers={"X-API-Key": key}), "invalid_api_key")


def test_header_tricks_do_not_choose_the_key(auth_client, auth_settings, auth_world, real) -> None:
    """The verifier's key and algorithm are fixed: a token cannot point at its own key (kid, jku, jwk)."""
    _, genuine = real
    payload = claims_for(auth_settings, auth_world.teacher, role="admin", sid=genuine.family)
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key(), as_dict=True)
    forged = [
        jwt.encode(payload, "\0" * 32, algorithm="HS256", headers={"kid": "../../../dev/null"}),
        jwt.encode(payload, attacker, algorithm="RS256", headers={"jku": "https://evil.example/jwks.json"}),
        jwt.encode(payload, attacker, algorithm="RS256", headers={"jwk": public}),
    ]
    for token in forged:
        assert_401(auth_client.get(ME, headers={"Authorization": f"Bearer {token}"}), "invalid_token")
    header, body, _ = jwt.encode(payload, "x" * 32, algorithm="HS256").split(".")
    assert_401(auth_client.get(ME, headers={"Authorization": f"Bearer {header}.{body}."}), "invalid_token")


def test_credentials_only_travel_in_their_headers(auth_client, auth_world, real) -> None:
    """Not in the query string (it ends up in logs and referrers), and a kiosk key is no bearer token."""
    pair, _ = real
    for name in ("access_token", "token", "api_key"):
        assert_401(auth_client.get(ME, params={name: pair.access_token}), "not_authenticated")
    kiosk_as_bearer = {"Authorization": f"Bearer {auth_world.kiosk_key}"}
    assert_401(auth_client.get("/v1/kiosks/me", headers=kiosk_as_bearer), "invalid_token")
