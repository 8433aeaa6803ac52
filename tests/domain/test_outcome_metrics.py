"""Outcome metrics are recorded where the events happen: a refused sign-in in the auth service, a bad kiosk
key in the kiosk service (liveness rejections and check-in outcomes: the school tests)."""

from __future__ import annotations

from prometheus_client import REGISTRY

from tests.domain.test_auth_api import login


def failed(reason: str) -> float:
    return REGISTRY.get_sample_value("rollcall_failed_logins_total", {"reason": reason}) or 0.0


def test_refused_sign_ins_and_kiosk_keys_are_counted_by_reason(auth_client, auth_world) -> None:
    wrong, keys = failed("invalid_credentials"), failed("invalid_api_key")
    assert login(auth_client, "teacher@north.example.org", "not the password").status_code == 401
    assert login(auth_client, "nobody@north.example.org", "not the password").status_code == 401
    kiosk = {"X-API-Key": "rk_live_nope.notakey"}
    assert auth_client.post("/v1/checkins/challenge", json={}, headers=kiosk).status_code == 401
    assert failed("invalid_credentials") - wrong == 2
    assert failed("invalid_api_key") - keys == 1
