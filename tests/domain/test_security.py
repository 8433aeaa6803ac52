"""Security over HTTP, against the real app (PostgreSQL, Redis, real credentials), for what the RBAC matrix
(test_rbac_matrix.py) and the token attacks (test_token_attacks.py) do not already prove:

- IDOR across schools: every route that takes an id, called by an admin of one school with the ids of another
  school's rows, answers 404 and says nothing about them; across classes and students within a school, 403;
- the kiosk key is scoped to its school and room;
- SQL injection probes in every query parameter of every operation (enumerated from the OpenAPI document);
- rate limits per kiosk key and per user;
- uploads over the size limits on every multipart route (enumerated);
- CORS for the configured origins only, and the security headers on every answer, errors included.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from pydantic import ValidationError
from schemathesis import GenerationMode
from sqlalchemy import func, select

from app.api.headers import API_CSP, DOCS_CSP, SECURITY_HEADERS
from app.api.security import route_policies
from app.core.enums import AttendanceStatus, CheckinMethod, Role
from app.db.session import transaction
from app.db.tables import Attendance, ClassMember, Lesson, SchoolClass, Student, User, utcnow
from app.schemas.kiosks import KioskKeyCreate
from app.services.identity.principal import Principal
from tests.domain.authkit import PASSWORD, World, bearer, make_app, make_settings, make_user

# ------------------------------------------------------------------------------------------------ IDOR


@dataclass
class OtherSchool:
    """Rows of the second school of ``auth_world``, one of each kind a route can address."""

    ids: dict[str, str]
    names: list[str]  # what must never appear in an answer to the first school


def class_with_lesson(
    session, school_id, code: str, room: str, *, teacher_id=None, student: Student | None = None
) -> tuple[SchoolClass, Lesson]:
    """A class (with ``student`` as its member, if given) and a lesson of it open now, in ``room``."""
    klass = SchoolClass(school_id=school_id, code=code, name=code, teacher_id=teacher_id, room=room)
    session.add_all([klass, *([student] if student else [])])
    session.flush()
    if student is not None:
        session.add(ClassMember(class_id=klass.id, student_id=student.id))
    start = utcnow() - timedelta(minutes=5)
    lesson = Lesson(class_id=klass.id, starts_at=start, ends_at=start + timedelta(hours=1), room=room)
    session.add(lesson)
    session.flush()
    return klass, lesson


@pytest.fixture
def other_school(auth_services, auth_world: World) -> OtherSchool:
    school = auth_world.other_school
    with transaction(auth_services.auth.engine) as session:
        teacher = make_user(session, auth_services, school, Role.teacher, email="teacher@south.example.org")
        student = Student(
            school_id=school.id, student_number="S-SOUTH", first_name="Southy", last_name="Secret",
            display_name="Southy Secret",
        )  # fmt: skip
        klass, lesson = class_with_lesson(
            session, school.id, "SOUTH-7", "S7", teacher_id=teacher.id, student=student
        )
        record = Attendance(
            lesson_id=lesson.id, student_id=student.id, status=AttendanceStatus.present,
            method=CheckinMethod.manual, recorded_by=f"user:{teacher.id}",
        )  # fmt: skip
        session.add(record)
        admin = Principal("user", auth_world.other_admin.id, school.id, Role.admin)
        kiosk = auth_services.kiosks.issue(session, admin, KioskKeyCreate(room="S7", name="South"), None)
        session.flush()
    ids = {
        "school_id": str(school.id),
        "user_id": str(teacher.id),
        "key_id": str(kiosk.id),
        "class_id": str(klass.id),
        "lesson_id": str(lesson.id),
        "student_id": str(student.id),
        "attendance_id": str(record.id),
    }
    return OtherSchool(ids, ["Southy", "S-SOUTH", "SOUTH-7", "teacher@south.example.org"])


#: Bodies that reach the route's lookup (a generated minimal body would fail validation first).
BODIES: dict[tuple[str, str], dict] = {
    ("POST", "/v1/classes/{class_id}/lessons"): {
        "starts_at": "2030-01-01T08:00:00+00:00",
        "ends_at": "2030-01-01T09:00:00+00:00",
    },
    ("PATCH", "/v1/lessons/{lesson_id}"): {"grace_minutes": 3},
    ("PATCH", "/v1/schools/{school_id}"): {"name": "Renamed"},
    ("PATCH", "/v1/classes/{class_id}"): {"name": "Renamed"},
    ("PATCH", "/v1/students/{student_id}"): {"first_name": "Renamed"},
    ("PATCH", "/v1/users/{user_id}"): {"full_name": "Renamed"},
}
TINY_JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64
#: Raw gallery routes name a gallery, not a row: they are confined to the caller's school by prefixing
#: (tests/unit/test_gallery_scope.py), so there is no other school's id to try.
NOT_ROW_ADDRESSED = {
    "/v1/galleries/{gallery}/faces",
    "/v1/galleries/{gallery}/identify",
    "/v1/galleries/{gallery}/faces/{label}",
}


def minimal_case(schema: schemathesis.BaseSchema, method: str, path: str) -> schemathesis.Case:
    """The simplest valid request of an operation, as schemathesis generates it (deterministic)."""
    strategy = schema[path][method].as_strategy(generation_mode=GenerationMode.POSITIVE)
    config = hypothesis.settings(
        database=None, phases=[hypothesis.Phase.generate], suppress_health_check=list(hypothesis.HealthCheck)
    )
    return hypothesis.find(strategy, lambda _: True, settings=config)


def test_ids_of_another_school_are_not_found_on_every_route(
    auth_app, auth_client, auth_services, auth_world: World, other_school: OtherSchool
) -> None:
    """An admin is the widest caller: if they cannot reach the other school's rows, nobody can."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", auth_app)
    admin = bearer(auth_services, auth_world.admin)
    checked, wrong = 0, []
    for route in route_policies(auth_app):
        if route.public or "{" not in route.path or route.path in NOT_ROW_ADDRESSED:
            continue
        path = route.path
        for name, value in other_school.ids.items():
            path = path.replace(f"{{{name}}}", value)
        # A kind of row this fixture does not make (yet): an id that exists nowhere, which must be 404 too.
        path = re.sub(r"\{\w+\}", lambda _: str(uuid.uuid4()), path)
        case = minimal_case(schema, route.method, route.path)
        body = BODIES.get((route.method, route.path), case.body)
        request = {"headers": admin, "params": case.query}
        if case.media_type == "multipart/form-data":
            photo = ("x.jpg", TINY_JPEG, "image/jpeg")
            counts = {name: 3 if isinstance(value, list) else 1 for name, value in (case.body or {}).items()}
            request["files"] = [(name, photo) for name, count in counts.items() for _ in range(count)]
        elif case.media_type == "application/json":
            request["json"] = body
        response = auth_client.request(route.method, path, **request)
        checked += 1
        leaked = [name for name in other_school.names if name in response.text]
        if response.status_code != 404 or leaked:
            wrong.append(f"{route.method} {route.path}: {response.status_code} {response.text[:200]}")
    assert not wrong, "\n".join(wrong)
    assert checked >= 30


def test_listing_filters_never_reach_into_another_school(
    auth_client, auth_services, auth_world: World, other_school: OtherSchool
) -> None:
    admin = bearer(auth_services, auth_world.admin)
    ids = other_school.ids
    for url, params in [
        ("/v1/students", {"class_id": ids["class_id"]}),
        ("/v1/students", {"q": "Southy"}),
        ("/v1/classes", {"q": "SOUTH"}),
        ("/v1/users", {"q": "south"}),
        ("/v1/audit", {"student_id": ids["student_id"]}),
        ("/v1/kiosks", {"include_revoked": "true"}),
    ]:
        response = auth_client.get(url, headers=admin, params=params)
        assert response.status_code in (200, 404), response.text
        unasked = [value for value in ids.values() if value not in params.values()]  # 404s echo the id
        assert not [name for name in other_school.names + unasked if name in response.text], url


def test_within_a_school_teachers_reach_their_classes_and_students_themselves(
    auth_client, auth_services, auth_world: World
) -> None:
    """Across classes and students of one school: 403, over HTTP, for the routes that carry the ids."""
    school = auth_world.school
    with transaction(auth_services.auth.engine) as session:
        other_teacher = make_user(session, auth_services, school, Role.teacher)
        classmate = Student(
            school_id=school.id, student_number="S-2", first_name="Bo", last_name="Byron", display_name="Bo"
        )
        klass, lesson = class_with_lesson(
            session, school.id, "8Z", "R8", teacher_id=other_teacher.id, student=classmate
        )
        ids = {"class": klass.id, "session": lesson.id, "student": classmate.id}
    teacher = bearer(auth_services, auth_world.teacher)
    for url in [
        f"/v1/classes/{ids['class']}",
        f"/v1/classes/{ids['class']}/members",
        f"/v1/classes/{ids['class']}/lessons",
        f"/v1/lessons/{ids['session']}",
        f"/v1/lessons/{ids['session']}/attendance",
        f"/v1/students/{ids['student']}",
        f"/v1/students/{ids['student']}/enrollment",
        f"/v1/reports/lessons/{ids['session']}",
        f"/v1/reports/classes/{ids['class']}",
        f"/v1/reports/students/{ids['student']}",
    ]:
        response = auth_client.get(url, headers=teacher)
        assert response.status_code == 403, f"teacher {url}: {response.status_code}"
    mark = {"status": "present", "reason": "was there"}
    response = auth_client.put(
        f"/v1/lessons/{ids['session']}/attendance/{ids['student']}", headers=teacher, json=mark
    )
    assert response.status_code == 403
    student = bearer(auth_services, auth_world.student_user)
    for url in [f"/v1/students/{ids['student']}", f"/v1/reports/students/{ids['student']}"]:
        assert auth_client.get(url, headers=student).status_code == 403, url
    own = auth_client.get(f"/v1/students/{auth_world.student.id}", headers=student)
    assert own.status_code == 200


# ------------------------------------------------------------------------------------------------ kiosk key


def test_the_kiosk_key_is_scoped_to_its_school_and_room(
    auth_client, auth_services, auth_world: World, other_school: OtherSchool
) -> None:
    """The kiosk of room R101 can neither check in to another room's session nor another school's; and with
    nothing open in its own room it is told so, even while another room's lesson is open."""
    school = auth_world.school
    with transaction(auth_services.auth.engine) as session:
        _, elsewhere = class_with_lesson(session, school.id, "9R", "R202")
        elsewhere_id = elsewhere.id
    kiosk = {"X-API-Key": auth_world.kiosk_key}
    frame = {"frame": ("f.jpg", TINY_JPEG, "image/jpeg")}
    cases = [
        ({"lesson_id": str(elsewhere_id)}, 403, "wrong_room"),
        ({"lesson_id": other_school.ids["lesson_id"]}, 404, "lesson_not_found"),
        ({}, 409, "no_open_lesson"),
    ]
    for form, status, code in cases:
        response = auth_client.post("/v1/checkins", headers=kiosk, files=frame, data=form)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), form
        challenge = auth_client.post("/v1/checkins/challenge", headers=kiosk, json=form)
        assert (challenge.status_code, challenge.json()["error"]["code"]) == (status, code), form
    # Nothing but check-in: every listing and management route refuses the kiosk (the matrix proves all).
    for url in ("/v1/students", "/v1/classes", f"/v1/lessons/{elsewhere_id}/attendance"):
        assert auth_client.get(url, headers=kiosk).status_code == 403, url


# ------------------------------------------------------------------------------------------------ injection

#: Classic probes: quote breaking, tautologies, stacked and UNION queries, a sleep, comments, a NUL byte
#: (PostgreSQL text cannot hold one: a driver error if it gets through), wildcards and over-long input.
SQL_PROBES = [
    "' OR '1'='1",
    "' OR 1=1 --",
    '" OR ""="',
    "1; DROP TABLE student; --",
    "x' UNION SELECT email, password_hash FROM app_user --",
    "'; SELECT pg_sleep(3); --",
    "1' AND (SELECT pg_sleep(3)) IS NULL --",
    "admin'/*",
    "%' OR '%'='",
    "\\",
    "x\x00y",
    "%_%",
    "' || (SELECT current_user) || '",
    "a" * 5000,
]
#: What a database error leaking into an answer looks like (a page may echo a probe, escaped: not a leak).
SQL_ERROR_TEXT = ("syntax error", "psycopg", "sqlalchemy", "pg_catalog", "unterminated quoted", "[SQL:")


@pytest.fixture
def unlimited_client(tmp_path, pg_url: str, redis_url: str, auth_world: World) -> Iterator[TestClient]:
    """The app without per-user limits: the probes below are many requests from one admin."""
    yield from client_with(tmp_path, pg_url, redis_url, user_rate_limit="100000/minute")


def test_sql_injection_probes_in_every_query_parameter(
    unlimited_client, auth_services, auth_world: World, other_school: OtherSchool
) -> None:
    auth_client = unlimited_client
    auth_app = unlimited_client.app
    spec = auth_app.openapi()
    real = {
        "school_id": str(auth_world.school.id),
        "student_id": str(auth_world.student.id),
        "user_id": str(auth_world.teacher.id),
        "key_id": str(auth_world.kiosk.id),
    }
    with transaction(auth_services.auth.engine) as session:
        klass, lesson = class_with_lesson(session, auth_world.school.id, "SQL", "R101")
        real |= {"class_id": str(klass.id), "lesson_id": str(lesson.id)}
    policies = {(p.method, p.path): p for p in route_policies(auth_app)}

    def rows() -> tuple[int, int, int]:
        with transaction(auth_services.auth.engine) as session:
            tables = (Student, User, SchoolClass)
            return tuple(session.scalar(select(func.count()).select_from(t)) for t in tables)

    before = rows()
    probed, wrong = 0, []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            policy = policies.get((method.upper(), path))
            if not names or policy is None:
                continue
            allowed = policy.policies[0] if policy.policies else frozenset({"admin"})
            caller = auth_world.admin if "admin" in allowed else auth_world.teacher
            url = path
            for name, value in real.items():
                url = url.replace(f"{{{name}}}", value)
            for name in names:
                headers = bearer(auth_services, caller)
                nothing = auth_client.request(method.upper(), url, params={name: "zq-0-zq"}, headers=headers)
                listed = nothing.status_code == 200 and "items" in nothing.text[:20]  # a page of rows
                matched = len(nothing.json()["items"]) if listed else 0
                for probe in SQL_PROBES:
                    started = time.monotonic()
                    response = auth_client.request(
                        method.upper(), url, params={name: probe}, headers=bearer(auth_services, caller)
                    )
                    took = time.monotonic() - started
                    probed += 1
                    problem = None
                    if response.status_code >= 500 or response.status_code not in (200, 400, 404, 422):
                        problem = f"status {response.status_code}"
                    elif took > 2.5:
                        problem = f"took {took:.1f} s (a sleep got through?)"
                    elif any(text in response.text for text in SQL_ERROR_TEXT):
                        problem = "SQL error text in the answer"
                    elif listed and response.status_code == 200 and len(response.json()["items"]) > matched:
                        problem = "matched more than a search for nothing (a tautology got through?)"
                    if problem:
                        wrong.append(f"{method.upper()} {path} ?{name}={probe[:40]!r}: {problem}")
    assert not wrong, "\n".join(wrong[:40])
    assert probed >= len(SQL_PROBES) * 20
    assert rows() == before  # nothing dropped, nothing added


# ------------------------------------------------------------------------------------------------ limits


def client_with(tmp_path, pg_url: str, redis_url: str, **settings: object) -> Iterator[TestClient]:
    app = make_app(make_settings(tmp_path, pg_url, redis_url, **settings))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.container.engine.dispose()


@pytest.fixture
def limited_client(tmp_path, pg_url: str, redis_url: str, auth_world: World) -> Iterator[TestClient]:
    limits = {"kiosk_rate_limit": "5/minute", "user_rate_limit": "5/minute"}
    yield from client_with(tmp_path, pg_url, redis_url, **limits)


@pytest.fixture
def small_uploads_client(tmp_path, pg_url: str, redis_url: str, auth_world: World) -> Iterator[TestClient]:
    yield from client_with(tmp_path, pg_url, redis_url, max_upload_bytes=64 * 1024)


def test_kiosk_keys_and_users_are_rate_limited(limited_client, auth_services, auth_world: World) -> None:
    for headers, url in [
        ({"X-API-Key": auth_world.kiosk_key}, "/v1/kiosks/me"),
        (bearer(auth_services, auth_world.teacher), "/v1/auth/me"),
    ]:
        statuses = [limited_client.get(url, headers=headers).status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429], (url, statuses)
        refused = limited_client.get(url, headers=headers)
        assert refused.json()["error"]["code"] == "rate_limited"
        assert 0 < int(refused.headers["retry-after"]) <= 60
    # Per key and per user: another kiosk of the same school is not held back by the first one's burst.
    admin = Principal("user", auth_world.admin.id, auth_world.school.id, Role.admin)
    with transaction(auth_services.auth.engine) as session:
        second = auth_services.kiosks.issue(session, admin, KioskKeyCreate(room="R101", name="Back"), None)
    assert limited_client.get("/v1/kiosks/me", headers={"X-API-Key": second.api_key}).status_code == 200


def test_the_caller_is_checked_before_the_body_on_every_json_route(
    auth_client, auth_services, auth_world: World
) -> None:
    """FastAPI decodes a JSON body before it runs a route's dependencies: malformed JSON must still meet
    the caller check first. Every route with a JSON body (from the OpenAPI document): anonymous 401, the
    wrong role 403, an allowed caller 422; a public route answers 422 to anyone."""
    app = auth_client.app
    policies = {(p.method, p.path): p for p in route_policies(app)}
    callers = {
        "student": bearer(auth_services, auth_world.student_user),
        "teacher": bearer(auth_services, auth_world.teacher),
        "admin": bearer(auth_services, auth_world.admin),
    }
    checked, wrong = 0, []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            if "application/json" not in operation.get("requestBody", {}).get("content", {}):
                continue
            policy = policies[(method.upper(), path)]
            url = re.sub(r"\{\w+\}", lambda _: str(uuid.uuid4()), path)
            for caller, headers in {"anonymous": {}, **callers}.items():
                if policy.public:
                    expected = 422
                elif caller == "anonymous":
                    expected = 401
                else:
                    expected = 422 if caller in policy.policies[0] else 403
                response = auth_client.request(
                    method, url, content=b"{broken", headers={**headers, "Content-Type": "application/json"}
                )
                checked += 1
                if response.status_code != expected:
                    wrong.append(
                        f"{method.upper()} {path} as {caller}: {response.status_code}, not {expected}"
                    )
    assert not wrong, "\n".join(wrong)
    assert checked >= 4 * 20


def test_every_multipart_route_refuses_uploads_over_the_limits(
    small_uploads_client, auth_services, auth_world: World
) -> None:
    """A part over max_upload_bytes is 413 ``too_large``; a body over the request limit is refused on its
    Content-Length before it is read. Routes enumerated from the OpenAPI document, called as allowed."""
    app = small_uploads_client.app
    policies = {(p.method, p.path): p for p in route_policies(app)}
    spec = app.openapi()
    limit = app.state.container.settings.max_upload_bytes
    too_big = b"\xff\xd8\xff" + b"\0" * (limit + 1)
    checked = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "multipart/form-data" not in content:
                continue
            schema_ref = content["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
            form = spec["components"]["schemas"][schema_ref]
            binary = [name for name, field in form["properties"].items() if "octet-stream" in str(field)]
            text = {name: "x" for name in form.get("required", []) if name not in binary}
            (allowed,) = policies[(method.upper(), path)].policies
            if "admin" in allowed:
                headers = bearer(auth_services, auth_world.admin)
            else:
                headers = {"X-API-Key": auth_world.kiosk_key}
            url = path.replace("{student_id}", str(auth_world.student.id)).replace("{gallery}", "g")
            files = [(name, ("big.jpg", too_big, "image/jpeg")) for name in binary]
            response = small_uploads_client.request(
                method.upper(), url, headers=headers, files=files, data=text
            )
            assert (response.status_code, response.json()["error"]["code"]) == (413, "too_large"), url
            huge = small_uploads_client.request(
                method.upper(), url, headers={**headers, "content-type": "multipart/form-data; boundary=x"},
                content=b"\0" * (app.state.container.settings.max_request_bytes + 1),
            )  # fmt: skip
            assert huge.status_code == 413 and huge.json()["error"]["code"] == "too_large", url
            checked += 1
    assert checked >= 5


# ------------------------------------------------------------------------------------------------ browsers


def test_security_headers_on_every_kind_of_answer(auth_client, auth_services, auth_world: World) -> None:
    teacher = bearer(auth_services, auth_world.teacher)
    admin = bearer(auth_services, auth_world.admin)
    answers = {
        "200": auth_client.get("/v1/auth/me", headers=teacher),
        "401": auth_client.get("/v1/auth/me"),
        "403": auth_client.get("/v1/users", headers=teacher),
        "404": auth_client.get("/v1/nowhere"),
        "405": auth_client.put("/health"),
        "413": auth_client.post(
            "/v1/faces/detect",
            headers={**teacher, "content-type": "multipart/form-data; boundary=x"},
            content=b"\0" * (auth_client.app.state.container.settings.max_request_bytes + 1),
        ),
        "422": auth_client.get("/v1/users", headers=admin, params={"limit": -1}),
        "openapi": auth_client.get("/openapi.json"),
    }
    for kind, response in answers.items():
        if kind.isdigit():
            assert response.status_code == int(kind), (kind, response.text)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (kind, name)
        assert response.headers["content-security-policy"] == API_CSP, kind
        assert response.headers["cache-control"] == "no-store", kind
    docs = auth_client.get("/docs")
    assert docs.status_code == 200 and docs.headers["x-frame-options"] == "DENY"
    page_policy = docs.headers["content-security-policy"]  # DOCS_CSP plus the hash of the page's own script
    assert page_policy.startswith("default-src 'none'; script-src 'self' 'sha256-")
    assert "unsafe-inline" not in page_policy.split(";")[1] and "https:" not in page_policy
    assert auth_client.get("/docs/assets/swagger-ui.css").headers["content-security-policy"] == DOCS_CSP


def test_cors_is_off_unless_origins_are_configured(auth_client) -> None:
    preflight = {"Origin": "https://kiosk.north.example", "Access-Control-Request-Method": "POST"}
    response = auth_client.options("/v1/checkins", headers=preflight)
    assert "access-control-allow-origin" not in response.headers
    simple = auth_client.get("/health", headers={"Origin": "https://kiosk.north.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_cors_admits_only_the_configured_origins(tmp_path, pg_url, redis_url, auth_world: World) -> None:
    allowed = "https://kiosk.north.example"
    app = make_app(make_settings(tmp_path, pg_url, redis_url, cors_origins=(allowed,)))
    with TestClient(app, raise_server_exceptions=False) as client:
        request = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key"}
        ok = client.options("/v1/checkins", headers={"Origin": allowed, **request})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == allowed  # never "*": requests carry credentials
        assert ok.headers["access-control-allow-credentials"] == "true"
        assert "x-api-key" in ok.headers["access-control-allow-headers"].lower()
        evil = client.options("/v1/checkins", headers={"Origin": "https://evil.example", **request})
        assert evil.status_code == 400 and "access-control-allow-origin" not in evil.headers
        simple = client.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in simple.headers
        answered = client.get("/v1/auth/me", headers={"Origin": allowed})  # a 401 still names the origin,
        assert answered.status_code == 401  # so the browser lets the page read the error body
        assert answered.headers["access-control-allow-origin"] == allowed
        assert answered.headers["x-content-type-options"] == "nosniff"
    app.state.container.engine.dispose()


@pytest.mark.parametrize(
    "origins", [("*",), ("https://school.example/kiosk",), ("kiosk.school.example",), ("ftp://x.example",)]
)
def test_settings_refuse_wildcard_and_non_origins(tmp_path, origins) -> None:
    with pytest.raises(ValidationError):
        make_settings(tmp_path, cors_origins=origins)


def test_the_openapi_document_lists_the_auth_errors_of_every_protected_route(auth_app) -> None:
    spec = auth_app.openapi()
    for route in route_policies(auth_app):
        if not route.is_api:
            continue
        responses = spec["paths"][route.path][route.method.lower()]["responses"]
        if not route.public:
            assert {"401", "403", "429", "503"} <= set(responses), f"{route.method} {route.path}"
        if "422" in responses:
            schema = responses["422"]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, f"{route.method} {route.path}"


def test_an_unrecognised_password_hash_is_a_failed_check_not_a_500(
    auth_client, auth_services, auth_world: World
) -> None:
    """A disabled, imported or damaged hash (found by the fuzzer over Serve: a 500 from pwdlib)."""
    with transaction(auth_services.auth.engine) as session:
        session.get(User, auth_world.teacher.id).password_hash = "!"
    login = auth_client.post("/v1/auth/login", json={"email": auth_world.teacher.email, "password": PASSWORD})
    assert (login.status_code, login.json()["error"]["code"]) == (401, "invalid_credentials")
    change = auth_client.post(
        "/v1/auth/password",
        headers=bearer(auth_services, auth_world.teacher),
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase 42"},
    )
    assert (change.status_code, change.json()["error"]["code"]) == (422, "invalid_credentials")
