"""GDPR access and portability, FERPA disclosures: the export ZIP holds everything about the student (but the
templates), needs a purpose, is logged; staff views of one record are logged; listings and teachers see
directory fields only."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.config import Settings
from app.core.enums import Role
from app.core.redis import make_redis
from app.db.tables import AuditEvent, DisclosureRecord, FaceTemplate
from app.services.biometrics.face_service import FaceService
from app.services.biometrics.stores import BiometricStores
from app.services.identity.principal import Principal
from app.services.privacy.disclosure import SCHOOL_OFFICIAL_PURPOSE
from tests.domain.school.conftest import World
from tests.domain.school.privacy_support import Subject, make_subject
from tests.domain.school.test_api import Caller, app_client

pytestmark = pytest.mark.anyio


@pytest.fixture
def caller() -> Caller:
    return Caller()


@pytest.fixture
def client(
    settings: Settings, face_service: FaceService, pg_url: str, redis_url: str, caller: Caller
) -> Iterator[TestClient]:
    with app_client(settings, face_service, caller, database_url=pg_url, redis_url=redis_url) as test_client:
        yield test_client


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    made = make_redis(redis_url)
    yield made
    made.close()


@pytest.fixture
async def subject(
    world: World,
    settings: Settings,
    stores: BiometricStores,
    photos: dict[str, list[bytes]],
    redis_client: redis.Redis,
) -> Subject:
    return await make_subject(world, settings, stores, photos["lopez"][:3], redis_client)


def as_subject(world: World, subject: Subject) -> Principal:
    return Principal("user", subject.user.id, world.school.id, Role.student, student_id=subject.id)


def _unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


async def test_the_export_holds_everything_but_the_templates(
    world: World, subject: Subject, client: TestClient, caller: Caller
) -> None:
    caller.principal = world.admin
    response = client.get(
        f"/v1/students/{subject.id}/export", params={"purpose": "subject access request #42"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert f"student-{subject.id}" in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    files = _unzip(response.content)
    assert set(files) == {"student.json", "attendance.csv", "README.txt"}
    document = json.loads(files["student.json"])

    assert document["purpose"] == "subject access request #42"
    assert document["student"]["guardian_email"] == "zq-guardian@example.org"  # the full record
    assert [account["email"] for account in document["accounts"]] == ["zebulon.q@example.org"]
    assert "password_hash" not in json.dumps(document["accounts"])
    assert [c["code"] for c in document["classes"]] == ["7B"]
    (agreed,) = document["consents"]
    assert agreed["granted_by"] == "Guardian Quixotic" and "face template" in agreed["text"]["body"]
    biometrics = document["biometrics"]
    assert biometrics["templates_stored"] == 3 and "not part of this export" in biometrics["statement"]
    assert {c["reason"] for c in document["attendance_corrections"]} == {
        "Zebulon was at the dentist",
        "Zebulon was ill",
    }
    assert [d["purpose"] for d in document["disclosures"]] == ["checking the guardian's address"]
    assert any(event["action"] == "enrollment.create" for event in document["activity"])
    # Every table that refers to the student is there; restricted columns are withheld, never sent.
    records = document["records"]
    assert {"attendance", "attendance_archive", "attendance_change", "checkin_code", "class_member"} <= set(
        records
    )
    assert {"consent", "face_template", "notification_contact", "app_user"} <= set(records)
    assert all(row["ciphertext"] == "[withheld: restricted]" for row in records["face_template"])
    assert all(row["code_hash"] == "[withheld: restricted]" for row in records["checkin_code"])
    assert all(row["password_hash"] == "[withheld: restricted]" for row in records["app_user"])
    for template in world.db.scalars(select(FaceTemplate).where(FaceTemplate.student_id == subject.id)):
        for blob in (template.ciphertext, template.ciphertext.hex().encode()):
            assert all(blob[:24] not in content for content in files.values())

    rows = list(csv.DictReader(io.StringIO(files["attendance.csv"].decode("utf-8-sig"))))
    assert [(row["status"], row["archived"], row["corrections"]) for row in rows] == [
        ("absent", "True", "1"),
        ("late", "False", "1"),
    ]
    assert rows[1]["class_code"] == "7B" and rows[1]["recorded_by"] == "kiosk"
    # Times in the school's zone (the world's school is in Berlin), named in the header, with the offset.
    recorded = rows[1]["recorded_at (Europe/Berlin)"]
    assert datetime.fromisoformat(recorded).utcoffset() == ZoneInfo("Europe/Berlin").utcoffset(datetime.now())

    # FERPA: the export is in the disclosure log, with its purpose; and in the audit trail.
    world.db.expire_all()
    logged = world.db.scalars(select(DisclosureRecord).where(DisclosureRecord.action == "export")).one()
    assert (logged.actor, logged.purpose, logged.scope) == (
        world.admin.actor,
        "subject access request #42",
        "full",
    )
    assert world.db.scalars(select(AuditEvent).where(AuditEvent.action == "student.export")).one()


async def test_an_export_needs_a_purpose_and_the_right_caller(
    world: World, subject: Subject, client: TestClient, caller: Caller, settings: Settings
) -> None:
    url = f"/v1/students/{subject.id}/export"
    caller.principal = world.admin
    assert client.get(url).status_code == 422
    assert client.get(url, params={"purpose": " "}).status_code == 422
    caller.principal = world.teacher  # teaches the student's class, yet exports go through the office
    assert client.get(url, params={"purpose": "curious"}).status_code == 403
    caller.principal = world.kiosk
    assert client.get(url, params={"purpose": "curious"}).status_code == 403
    caller.principal = world.student_user  # another student
    assert client.get(url, params={"purpose": "curious"}).status_code == 403
    caller.principal = as_subject(world, subject)
    own = client.get(url, params={"purpose": "my own data"})
    assert own.status_code == 200
    assert json.loads(_unzip(own.content)["student.json"])["student"]["id"] == str(subject.id)


async def test_views_show_directory_fields_to_teachers_and_log_staff_views(
    world: World, subject: Subject, client: TestClient, caller: Caller
) -> None:
    url = f"/v1/students/{subject.id}"
    caller.principal = world.teacher
    limited = client.get(url).json()
    assert (limited["birth_date"], limited["guardian_email"]) == (None, None)
    assert limited["withheld"] == ["birth_date", "guardian_email"]
    assert (limited["display_name"], limited["enrollment_status"]) == ("Zebulon Q.", "enrolled")
    caller.principal = world.admin
    full = client.get(url, params={"purpose": "calling the guardian"}).json()
    assert full["guardian_email"] == "zq-guardian@example.org" and full["withheld"] == []
    # Listings are limited for everyone: full records are disclosed one at a time.
    (listed,) = [s for s in client.get("/v1/students", params={"q": "Zebulon"}).json()["items"]]
    assert listed["guardian_email"] is None and listed["withheld"]
    caller.principal = as_subject(world, subject)
    own = client.get(url).json()
    assert own["guardian_email"] == "zq-guardian@example.org"

    world.db.expire_all()
    views = list(world.db.scalars(select(DisclosureRecord).where(DisclosureRecord.action == "view")))
    logged = [(v.actor, v.scope, v.purpose) for v in sorted(views, key=lambda v: v.at)]
    assert logged[-2:] == [
        (world.teacher.actor, "limited", SCHOOL_OFFICIAL_PURPOSE),
        (world.admin.actor, "full", "calling the guardian"),
    ]  # the student reading their own record is not a disclosure

    caller.principal = world.admin
    page = client.get("/v1/privacy/disclosures", params={"student_id": str(subject.id)}).json()
    assert [item["purpose"] for item in page["items"]][:2] == [
        "calling the guardian",
        SCHOOL_OFFICIAL_PURPOSE,
    ]
    assert client.get("/v1/privacy/disclosures", params={"action": "export"}).json()["items"] == []
    caller.principal = world.teacher
    assert client.get("/v1/privacy/disclosures").status_code == 403


def test_consent_texts_are_served(
    world: World, client: TestClient, caller: Caller, settings: Settings
) -> None:
    caller.principal = world.teacher
    body = client.get("/v1/privacy/consent-texts").json()
    assert body["current"] == settings.consent_version
    assert settings.consent_version in [text["version"] for text in body["texts"]]
