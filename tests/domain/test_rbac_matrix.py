"""Every route x every kind of caller, over HTTP against the real app: who may call what is exactly what the
routes declare, and nothing is left undeclared.

The routes are enumerated from the app itself (``route_policies``), so a new route without a ``require`` (and
not listed in ``PUBLIC_ROUTES``) fails here. Calls carry no body and made-up ids: an allowed caller then gets
404/415/422 or a success, never 401/403 (and never a 500); a caller of another role gets 403; no credentials
get 401.
"""

from __future__ import annotations

import re
import uuid

import pytest

from app.api.security import PUBLIC_ROUTES, route_policies
from tests.domain.authkit import bearer, make_app, make_settings

CALLERS = ("anonymous", "student", "teacher", "admin", "kiosk")


def concrete(path: str) -> str:
    """The path with each {param} filled: a UUID where ids go, a plain name elsewhere."""
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(uuid.uuid4()) if "id" in m.group(1) else "x", path)


def test_every_route_is_public_by_list_or_declares_exactly_one_policy(tmp_path) -> None:
    app = make_app(make_settings(tmp_path))
    routes = route_policies(app)
    served = {(route.method, route.path) for route in routes}
    assert served >= PUBLIC_ROUTES, f"PUBLIC_ROUTES names routes that do not exist: {PUBLIC_ROUTES - served}"
    problems = []
    for route in routes:
        if route.public:
            if route.policies:
                problems.append(f"{route.method} {route.path} is public yet requires {route.policies}")
        elif len(route.policies) != 1:
            problems.append(f"{route.method} {route.path} declares {len(route.policies)} policies (needs 1)")
    assert not problems, "\n".join(problems)


def test_the_matrix(auth_client, auth_app, auth_services, auth_world) -> None:
    users = {"student": auth_world.student_user, "teacher": auth_world.teacher, "admin": auth_world.admin}

    def headers(caller: str) -> dict[str, str]:
        if caller == "anonymous":
            return {}
        if caller == "kiosk":
            return {"X-API-Key": auth_world.kiosk_key}
        return bearer(auth_services, users[caller])  # a fresh session each call: logout cannot spoil the next

    checked, wrong = 0, []
    for route in route_policies(auth_app):
        if route.public:
            continue
        (allowed,) = route.policies
        path = concrete(route.path)
        for caller in CALLERS:
            status = auth_client.request(route.method, path, headers=headers(caller)).status_code
            if caller == "anonymous":
                expected_ok = status == 401
            elif caller in allowed:
                expected_ok = status not in (401, 403) and status != 500
            else:
                expected_ok = status == 403
            checked += 1
            if not expected_ok:
                wrong.append(
                    f"{route.method} {route.path} as {caller}: {status} (allowed: {sorted(allowed)})"
                )
    assert not wrong, "\n".join(wrong)
    assert checked >= 5 * 20


#: Everything a kiosk key may call: its identity, the challenge, a face check-in and a one-time code. Nothing
#: that compares faces outside a check-in (``/v1/faces/*``, ``/v1/galleries/*``): a stolen tablet's key must
#: not become a face-comparison service, and nothing that reads or lists the school.
KIOSK_ROUTES = {
    ("GET", "/v1/kiosks/me"),
    ("POST", "/v1/checkins/challenge"),
    ("POST", "/v1/checkins"),
    ("POST", "/v1/checkins/code"),
}


def test_a_kiosk_key_reaches_exactly_the_routes_of_its_job(tmp_path) -> None:
    app = make_app(make_settings(tmp_path))
    reachable = {
        (route.method, route.path)
        for route in route_policies(app)
        if not route.public and "kiosk" in route.policies[0]
    }
    assert reachable == KIOSK_ROUTES


def test_raw_face_comparison_is_for_admins_only(auth_client, auth_services, auth_world) -> None:
    """``/v1/faces/detect`` and ``/verify`` process faces outside consent: a kiosk key, a teacher and a
    student are refused before the images are read."""
    image = {"image": ("a.jpg", b"not read", "image/jpeg")}
    pair = {"image_a": ("a.jpg", b"not read", "image/jpeg"), "image_b": ("b.jpg", b"not read", "image/jpeg")}
    callers = {
        "kiosk": {"X-API-Key": auth_world.kiosk_key},
        "teacher": bearer(auth_services, auth_world.teacher),
        "student": bearer(auth_services, auth_world.student_user),
    }
    for caller, headers in callers.items():
        for path, files in (("/v1/faces/detect", image), ("/v1/faces/verify", pair)):
            response = auth_client.post(path, files=files, headers=headers)
            assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden"), caller


@pytest.mark.parametrize("caller", ["teacher", "student", "kiosk"])
def test_admin_routes_refuse_everyone_else_with_the_json_error(
    auth_client, auth_services, auth_world, caller
):
    headers = (
        {"X-API-Key": auth_world.kiosk_key}
        if caller == "kiosk"
        else bearer(auth_services, auth_world.teacher if caller == "teacher" else auth_world.student_user)
    )
    response = auth_client.get("/v1/users", headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_an_undeclared_route_would_be_caught(tmp_path) -> None:
    """The check above is not vacuous: a route added without a policy shows up as undeclared."""
    app = make_app(make_settings(tmp_path))

    @app.get("/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    (route,) = [route for route in route_policies(app) if route.path == "/v1/forgotten"]
    assert not route.public and route.policies == ()
