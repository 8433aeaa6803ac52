"""Failed sign-ins and refused kiosk keys show in /metrics, through the real authentication."""

from __future__ import annotations

from prometheus_client import REGISTRY

from tests.domain.authkit import PASSWORD


def failed(reason: str) -> float:
    return REGISTRY.get_sample_value("rollcall_failed_logins_total", {"reason": reason}) or 0.0


def test_failed_sign_ins_and_bad_kiosk_keys_are_counted(auth_client, auth_world) -> None:
    wrong, bad_key = failed("invalid_credentials"), failed("invalid_api_key")
    body = {"email": auth_world.teacher.email, "password": "not the password at all"}
    assert auth_client.post("/v1/auth/login", json=body).status_code == 401
    assert auth_client.post("/v1/auth/login", json={**body, "email": "nobody@example.org"}).status_code == 401
    good = auth_client.post("/v1/auth/login", json={"email": auth_world.teacher.email, "password": PASSWORD})
    assert good.status_code == 200, good.text
    refused = auth_client.get("/v1/kiosks/me", headers={"X-API-Key": "rk_not_a_real_key_0000"})
    assert refused.status_code == 401
    assert failed("invalid_credentials") - wrong == 2
    assert failed("invalid_api_key") - bad_key == 1
    exposed = auth_client.get("/metrics").text
    assert 'rollcall_failed_logins_total{reason="invalid_credentials"}' in exposed
    assert 'route="/v1/auth/login",status="401"' in exposed
