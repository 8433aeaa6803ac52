"""Notifications end to end against real servers on 127.0.0.1: PostgreSQL (the outbox), an SMTP server
(aiosmtpd) that receives the emails, an HTTP receiver for signed webhooks that fails its first calls, and a
fake of Twilio's Messages API. The worker runs pass by pass with a clock the test moves."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from jinja2 import Environment, meta
from sqlalchemy import Engine, func, select

from app.core.config import Settings
from app.core.enums import AttendanceStatus, CheckinMethod, DeliveryStatus, NotificationChannel, Role
from app.db.session import transaction
from app.db.tables import (
    ClassMember,
    Lesson,
    NotificationContact,
    NotificationDelivery,
    NotificationEvent,
    NotificationSettings,
    School,
    SchoolClass,
    Student,
    User,
)
from app.notifications import events, templates, tokens
from app.notifications.channels import DeliveryError, Outgoing, TwilioSms
from app.notifications.summaries import publish_summaries
from app.notifications.worker import NotificationWorker, quiet_until
from app.schemas.notifications import ContactCreate
from app.services.identity.principal import Principal
from app.services.privacy import audit
from app.services.school import attendance, lessons
from tests.domain.authkit import TEST_SECRETS, make_app, make_settings
from tests.notify_servers import HttpReceiver, SmtpServer

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # a Tuesday, 09:00 UTC (the school's time zone is UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, pg_url: str, redis_url: str, smtp: SmtpServer) -> Settings:
    made = make_settings(
        tmp_path,
        pg_url,
        redis_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        mail_from="Rollcall <attendance@north.example.org>",
        public_base_url="https://rollcall.example.org",
        notify_backoff_s=60,
        notify_max_attempts=4,
    )
    return made


class School_:
    """A school with a class (teacher), two students in it, a session 09:00-09:45, and an admin."""

    def __init__(self, engine: Engine) -> None:
        with transaction(engine) as db:
            school = School(name=f"North {uuid.uuid4().hex[:6]}", timezone="UTC")
            db.add(school)
            db.flush()
            self.admin = User(
                school_id=school.id, email="office@north.example.org", full_name="Office", role=Role.admin,
                password_hash="x",
            )  # fmt: skip
            self.teacher = User(
                school_id=school.id, email="teacher@north.example.org", full_name="Ms Teacher",
                role=Role.teacher, password_hash="x",
            )  # fmt: skip
            db.add_all([self.admin, self.teacher])
            db.flush()
            klass = SchoolClass(
                school_id=school.id, code="7B", name="Maths 7B", teacher_id=self.teacher.id, room="R1"
            )
            db.add(klass)
            db.flush()
            self.amelie = Student(
                school_id=school.id, student_number="N-1", first_name="Amélie", last_name="Poulain",
                display_name="Amélie P.",
            )  # fmt: skip
            self.bruno = Student(
                school_id=school.id, student_number="N-2", first_name="Bruno", last_name="Brown",
                display_name="Bruno B.",
            )  # fmt: skip
            db.add_all([self.amelie, self.bruno])
            db.flush()
            joined = T0 - timedelta(days=30)
            for student in (self.amelie, self.bruno):
                db.add(ClassMember(class_id=klass.id, student_id=student.id, added_at=joined))
            self.lesson = Lesson(
                class_id=klass.id,
                starts_at=T0,
                ends_at=T0 + timedelta(minutes=45),
                grace_minutes=5,
                room="R1",
            )
            db.add(self.lesson)
            db.flush()
        self.school, self.klass = school, klass
        self.admin_principal = Principal("user", self.admin.id, school.id, Role.admin)
        self.teacher_principal = Principal("user", self.teacher.id, school.id, Role.teacher)


@pytest.fixture
def world(clean_db: Engine) -> School_:
    return School_(clean_db)


def add_contact(
    engine: Engine, world: School_, settings: Settings, **fields: object
) -> tuple[uuid.UUID, str | None]:
    from app.notifications import service

    with transaction(engine) as db:
        created = service.create_contact(db, world.admin_principal, ContactCreate(**fields), settings, None)
    return created.id, created.webhook_secret


def add_webhook(
    engine: Engine, world: School_, settings: Settings, url: str, topics: tuple[str, ...] = ("arrival",)
) -> str | None:
    """The school information system's webhook contact; returns its signing secret."""
    fields = {"name": "SIS", "webhook_url": url, "channels": ["webhook"], "topics": list(topics)}
    return add_contact(engine, world, settings, **fields)[1]


def check_in(engine: Engine, world: School_, student: Student, at: datetime) -> None:
    with transaction(engine) as db:
        lesson = db.get(Lesson, world.lesson.id)
        attendance.record_once(
            db, lesson=lesson, student_id=student.id, method=CheckinMethod.face, at=at, recorded_by="kiosk:x",
            confidence=0.8, idempotency_key="k1",
        )  # fmt: skip


def deliveries(engine: Engine) -> list[NotificationDelivery]:
    with transaction(engine) as db:
        return list(db.scalars(select(NotificationDelivery).order_by(NotificationDelivery.created_at)))


def body_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


# ------------------------------------------------------------------------------------------------- email


async def test_arrival_and_absence_emails_reach_a_real_smtp_server_localised_and_once(
    clean_db: Engine, world: School_, settings: Settings, smtp: SmtpServer
) -> None:
    add_contact(
        clean_db, world, settings, name="Mme Poulain", student_id=world.amelie.id, language="fr",
        email="parent.poulain@example.org", topics=["arrival", "absence"],
    )  # fmt: skip
    add_contact(
        clean_db, world, settings, name="Mr Brown", student_id=world.bruno.id, language="en",
        email="brown@example.org", topics=["absence"],
    )  # fmt: skip
    clock = Clock(T0 + timedelta(minutes=8))
    worker = NotificationWorker(clean_db, settings, clock=clock)

    check_in(clean_db, world, world.amelie, clock.now)  # late (grace 5 min)
    check_in(clean_db, world, world.amelie, clock.now)  # a retried check-in: one record, one event
    with transaction(clean_db) as db:
        lessons.close_lesson(db, world.teacher_principal, world.lesson.id, None)  # Bruno never came
        lessons.close_lesson(db, world.teacher_principal, world.lesson.id, None)  # closing twice: once

    stats = await worker.run_once()
    assert stats.sent == 2 and stats.dead == 0, stats
    messages = smtp.wait_for(2)
    by_recipient = {message["To"]: message for message in messages}
    assert set(by_recipient) == {"parent.poulain@example.org", "brown@example.org"}

    french = by_recipient["parent.poulain@example.org"]
    assert french["Subject"] == "Amélie P. est arrivé(e) en retard en Maths 7B"
    assert "Bonjour Mme Poulain" in body_of(french)
    assert "à 09:08, après le début du cours à 09:00" in body_of(french)
    assert french["From"] == "Rollcall <attendance@north.example.org>"
    assert french["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert french["Message-ID"].endswith("@north.example.org>")

    english = by_recipient["brown@example.org"]
    assert english["Subject"] == "Bruno B. was absent from Maths 7B"
    assert "Bruno B. was not recorded at Maths 7B (7B) on 2026-11-24 from 09:00 to 09:45." in body_of(english)
    assert world.school.name in body_of(english)

    # Nothing is sent twice: another pass, and a sweep that finds the session already handled.
    clock.advance(hours=1)
    again = await worker.run_once()
    assert again.sent == 0 and again.absences == 0
    assert len(smtp.messages) == 2
    with transaction(clean_db) as db:
        kinds = sorted(db.scalars(select(NotificationEvent.kind)))
    assert kinds == ["attendance.absent", "attendance.recorded", "lesson.closed"]
    assert {d.status for d in deliveries(clean_db)} == {DeliveryStatus.sent}


async def test_a_session_that_ends_unclosed_is_swept_into_absence_notices(
    clean_db: Engine, world: School_, settings: Settings, smtp: SmtpServer
) -> None:
    add_contact(
        clean_db, world, settings, name="Mr Brown", student_id=world.bruno.id, email="brown@example.org"
    )
    clock = Clock(T0 + timedelta(minutes=30))
    worker = NotificationWorker(clean_db, settings, clock=clock)
    assert (await worker.run_once()).absences == 0  # still running: nobody is absent yet
    clock.advance(minutes=20)  # 09:50, the lesson ended at 09:45
    stats = await worker.run_once()
    assert stats.absences == 2 and stats.sent == 1  # both absent; only Bruno has a contact
    assert smtp.wait_for(1)[0]["Subject"] == "Bruno B. was absent from Maths 7B"
    assert (await worker.run_once()).absences == 0


async def test_quiet_hours_defer_people_not_webhooks(
    clean_db: Engine, world: School_, settings: Settings, smtp: SmtpServer
) -> None:
    with transaction(clean_db) as db:
        db.add(NotificationSettings(school_id=world.school.id, quiet_start=time(20, 0), quiet_end=time(7, 0)))
    add_contact(
        clean_db, world, settings, name="Mr Brown", student_id=world.bruno.id, email="brown@example.org"
    )
    with HttpReceiver() as hook:
        add_webhook(clean_db, world, settings, hook.url + "/events", topics=("absence",))
        clock = Clock(T0.replace(hour=22))  # the sweep finds the ended lesson at 22:00: quiet hours
        worker = NotificationWorker(clean_db, settings, clock=clock)
        stats = await worker.run_once()
        assert stats.deferred == 1 and stats.sent == 2  # the webhook (both absences) went; the email waits
        assert smtp.messages == [] and len(hook.calls) == 2
        email = next(d for d in deliveries(clean_db) if d.channel is NotificationChannel.email)
        assert email.status is DeliveryStatus.pending and email.attempts == 0
        assert email.next_attempt_at == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
        clock.now = datetime(2026, 11, 25, 6, 59, tzinfo=UTC)
        assert (await worker.run_once()).sent == 0
        clock.now = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
        assert (await worker.run_once()).sent == 1
        assert len(smtp.wait_for(1)) == 1


def test_quiet_window_arithmetic() -> None:
    start, end = time(20, 0), time(7, 0)
    paris = "Europe/Paris"
    assert quiet_until(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), paris, start, end) is None
    # 22:30 in Paris (summer, UTC+2) -> 07:00 Paris the next morning = 05:00 UTC
    assert quiet_until(datetime(2026, 7, 1, 20, 30, tzinfo=UTC), paris, start, end) == datetime(
        2026, 7, 2, 5, 0, tzinfo=UTC
    )
    # 03:00 Paris -> 07:00 the same morning
    assert quiet_until(datetime(2026, 7, 2, 1, 0, tzinfo=UTC), paris, start, end) == datetime(
        2026, 7, 2, 5, 0, tzinfo=UTC
    )
    assert quiet_until(datetime(2026, 7, 1, 12, 30, tzinfo=UTC), "UTC", time(12), time(13)) == datetime(
        2026, 7, 1, 13, 0, tzinfo=UTC
    )
    assert quiet_until(datetime(2026, 7, 1, 12, 30, tzinfo=UTC), "UTC", None, None) is None


# ---------------------------------------------------------------------------------------------- webhooks


async def test_webhooks_are_signed_retried_with_backoff_and_delivered_once(
    clean_db: Engine, world: School_, settings: Settings
) -> None:
    with HttpReceiver(fail_first=2) as hook:
        topics = ("arrival", "absence", "lesson")
        secret = add_webhook(clean_db, world, settings, hook.url + "/rollcall", topics)
        assert secret and secret.startswith("whsec_")
        clock = Clock(T0 + timedelta(minutes=2))
        worker = NotificationWorker(clean_db, settings, clock=clock)
        check_in(clean_db, world, world.amelie, clock.now)

        first = await worker.run_once()
        assert first.retried == 1 and first.sent == 0
        (delivery,) = deliveries(clean_db)
        assert delivery.attempts == 1 and delivery.status is DeliveryStatus.pending
        assert delivery.next_attempt_at == clock.now + timedelta(seconds=60)  # notify_backoff_s
        assert "HTTP 500" in (delivery.last_error or "")

        clock.advance(seconds=30)
        assert (await worker.run_once()).retried == 0 and len(hook.calls) == 1  # not due yet
        clock.advance(seconds=30)
        assert (await worker.run_once()).retried == 1  # second try: 500 again, now 120 s
        (delivery,) = deliveries(clean_db)
        assert delivery.next_attempt_at == clock.now + timedelta(seconds=120)
        clock.advance(seconds=120)
        assert (await worker.run_once()).sent == 1
        clock.advance(hours=1)
        await worker.run_once()

    recorded = [call for call in hook.calls if call.headers["X-Rollcall-Event"] == "attendance.recorded"]
    assert [call.status for call in recorded] == [500, 500, 200]
    later = sorted(call.headers["X-Rollcall-Event"] for call in hook.calls[3:])
    assert later == ["attendance.absent", "lesson.closed"]  # the lesson ended: Bruno never came
    keys = {call.headers["X-Rollcall-Delivery"] for call in recorded}
    assert len(keys) == 1  # the same idempotency key on every try: the receiver can drop duplicates
    for call in recorded:
        assert call.path == "/rollcall"
        assert call.headers["X-Rollcall-Event"] == "attendance.recorded"
        assert tokens.verify_webhook(secret.encode(), call.body, call.headers[tokens.SIGNATURE_HEADER])
        assert not tokens.verify_webhook(b"another secret", call.body, call.headers[tokens.SIGNATURE_HEADER])
        assert not tokens.verify_webhook(
            secret.encode(), call.body + b" ", call.headers[tokens.SIGNATURE_HEADER]
        )
    body = json.loads(recorded[-1].body)
    assert body["type"] == "attendance.recorded" and body["id"] == keys.pop()
    assert body["data"]["student"] == {"id": str(world.amelie.id), "student_number": "N-1"}
    assert body["data"]["status"] == AttendanceStatus.present.value and body["data"]["class_code"] == "7B"
    assert {d.status for d in deliveries(clean_db)} == {DeliveryStatus.sent}


async def test_dead_letter_after_max_attempts_and_an_admin_retry(
    clean_db: Engine, world: School_, settings: Settings
) -> None:
    from app.notifications import service

    with HttpReceiver(fail_first=100, fail_status=503) as hook:
        add_webhook(clean_db, world, settings, hook.url)
        clock = Clock(T0)
        worker = NotificationWorker(clean_db, settings, clock=clock)
        check_in(clean_db, world, world.amelie, clock.now)
        for _ in range(settings.notify_max_attempts):
            await worker.run_once()
            clock.advance(hours=2)
        (delivery,) = deliveries(clean_db)
        assert delivery.status is DeliveryStatus.dead and delivery.attempts == settings.notify_max_attempts
        assert len(hook.calls) == settings.notify_max_attempts
        await worker.run_once()
        assert len(hook.calls) == settings.notify_max_attempts  # the dead stay dead

        with transaction(clean_db) as db:
            dead = service.list_deliveries(db, world.admin_principal, DeliveryStatus.dead)
            assert [d.id for d in dead] == [delivery.id]
            service.retry_delivery(db, world.admin_principal, delivery.id, None)
        hook.fail_first = 0
        hook.calls.clear()
        clock.now = datetime.now(UTC) + timedelta(seconds=1)  # the retry is due from the moment it was asked
        assert (await worker.run_once()).sent == 1


async def test_a_refused_webhook_is_dead_at_once(
    clean_db: Engine, world: School_, settings: Settings
) -> None:
    with HttpReceiver(fail_first=100, fail_status=410) as hook:
        add_webhook(clean_db, world, settings, hook.url)
        worker = NotificationWorker(clean_db, settings, clock=Clock(T0))
        check_in(clean_db, world, world.amelie, T0)
        assert (await worker.run_once()).dead == 1
        assert len(hook.calls) == 1


# ---------------------------------------------------------------------------------------------- SMS/push


async def test_sms_through_the_twilio_adapter_and_the_log_provider(
    clean_db: Engine, world: School_, settings: Settings
) -> None:
    with HttpReceiver(ok_status=201, ok_body={"sid": "SM123", "status": "queued"}) as twilio:
        twilio_settings = settings.model_copy(
            update={
                "sms_provider": "twilio",
                "twilio_account_sid": "AC0123",
                "twilio_auth_token": settings.secret_key,
                "twilio_from": "+15005550006",
                "twilio_base_url": twilio.url,
            }
        )
        add_contact(
            clean_db, world, settings, name="Mr Brown", student_id=world.bruno.id, phone="+447700900123",
            channels=["sms"], topics=["absence"],
        )  # fmt: skip
        worker = NotificationWorker(clean_db, twilio_settings, clock=Clock(T0 + timedelta(hours=1)))
        assert (await worker.run_once()).sent == 1
        (call,) = twilio.calls
        assert call.path == "/2010-04-01/Accounts/AC0123/Messages.json"
        form = parse_qs(call.body.decode())
        assert form["To"] == ["+447700900123"] and form["From"] == ["+15005550006"]
        assert form["Body"] == ["Bruno B. was absent from Maths 7B"]
        assert call.headers["Authorization"].startswith("Basic ")

    # The development provider sends nothing and succeeds.
    with transaction(clean_db) as db:
        db.add(
            NotificationEvent(
                school_id=world.school.id, kind=events.ABSENT, dedupe_key="absent:manual",
                student_id=world.bruno.id,
                payload={"class_name": "Maths 7B", "class_code": "7B", "starts_at": T0.isoformat()},
            )
        )  # fmt: skip
    log_worker = NotificationWorker(clean_db, settings, clock=Clock(T0 + timedelta(hours=2)))
    assert (await log_worker.run_once()).sent == 1


async def test_twilio_errors_map_to_retry_or_dead() -> None:
    outgoing = Outgoing("d1", "k1", NotificationChannel.sms, "+447700900123", "Hi", "Hi")
    base = {"twilio_account_sid": "AC1", "twilio_from": "+15005550006", "twilio_auth_token": "t" * 32}
    for status, permanent in ((400, True), (429, False), (500, False)):
        with HttpReceiver(fail_first=1, fail_status=status) as twilio:
            settings = Settings(**base, **TEST_SECRETS, twilio_base_url=twilio.url)
            with pytest.raises(DeliveryError) as failed:
                await TwilioSms(settings).send_text(outgoing.address, "Hi", "Hi", "k1")
            assert failed.value.permanent is permanent


# ---------------------------------------------------------------------------------------------- unsubscribe


async def test_unsubscribe_link_stops_that_channel(
    clean_db: Engine, world: School_, settings: Settings, smtp: SmtpServer
) -> None:
    contact_id, _ = add_contact(
        clean_db, world, settings, name="Mr Brown", student_id=world.bruno.id, email="brown@example.org",
        phone="+447700900123", channels=["email", "sms"], topics=["absence", "arrival"],
    )  # fmt: skip
    clock = Clock(T0 + timedelta(minutes=1))
    worker = NotificationWorker(clean_db, settings, clock=clock)
    check_in(clean_db, world, world.bruno, clock.now)
    assert (await worker.run_once()).sent == 2  # email and (log) SMS
    (message,) = smtp.wait_for(1)
    link = message["List-Unsubscribe"].strip("<>")
    assert link.startswith("https://rollcall.example.org/v1/notifications/unsubscribe?token=")
    assert link in body_of(message)
    token = parse_qs(urlsplit(link).query)["token"][0]

    app = make_app(settings)
    with TestClient(app) as client:
        page = client.get("/v1/notifications/unsubscribe", params={"token": token})
        assert page.status_code == 200 and "<form method=post" in page.text
        with transaction(clean_db) as db:  # opening the page changed nothing
            assert db.get(NotificationContact, contact_id).channels == ["email", "sms"]
        answer = client.post("/v1/notifications/unsubscribe", params={"token": token})
        assert answer.status_code == 200 and answer.json() == {"status": "unsubscribed", "channel": "email"}
        assert client.post("/v1/notifications/unsubscribe", params={"token": token}).status_code == 200
        forged = token[:-4] + ("0000" if not token.endswith("0000") else "1111")
        assert client.post("/v1/notifications/unsubscribe", params={"token": forged}).status_code == 404
    app.state.container.engine.dispose()
    with transaction(clean_db) as db:
        assert db.get(NotificationContact, contact_id).channels == ["sms"]

    with transaction(clean_db) as db:
        lessons.close_lesson(db, world.teacher_principal, world.lesson.id, None)
    clock.advance(hours=1)
    await worker.run_once()
    assert len(smtp.messages) == 1  # no more email; SMS would still go (Bruno was present: nothing to say)


# ---------------------------------------------------------------------------------------------- summaries


async def test_daily_summary_email_to_the_teacher(
    clean_db: Engine, world: School_, settings: Settings, smtp: SmtpServer
) -> None:
    check_in(clean_db, world, world.amelie, T0 + timedelta(minutes=1))
    with transaction(clean_db) as db:
        lessons.close_lesson(db, world.teacher_principal, world.lesson.id, None)
    with transaction(clean_db) as db:
        assert publish_summaries(db, "daily", day=T0.date(), school_id=world.school.id) == 1
        assert publish_summaries(db, "daily", day=T0.date(), school_id=world.school.id) == 0  # once
        contact = db.scalars(
            select(NotificationContact).where(NotificationContact.user_id == world.teacher.id)
        ).one()
        assert contact.email == "teacher@north.example.org" and contact.topics == ["summary"]
    worker = NotificationWorker(clean_db, settings, clock=Clock(T0 + timedelta(hours=10)))
    await worker.run_once()
    (message,) = [m for m in smtp.wait_for(1) if m["To"] == "teacher@north.example.org"]
    assert message["Subject"] == "Daily attendance: Maths 7B, 2026-11-24"
    text = body_of(message)
    assert "Present: 1, late: 0, absent: 1, excused: 0, attendance rate 50.0 %." in text
    assert "Bruno B.: 1 absent, 0 late" in text
    with transaction(clean_db) as db:
        weekly = publish_summaries(db, "weekly", day=T0.date() + timedelta(days=3), school_id=world.school.id)
    assert weekly == 1


def test_every_language_has_every_template() -> None:
    langs = templates.languages()
    assert {"en", "fr", "es"} <= set(langs)  # the console's languages
    names = {path.name for path in (templates.TEMPLATES_DIR / "en").iterdir()}
    environment = Environment()

    def variables(language: str, name: str) -> set[str]:
        source = (templates.TEMPLATES_DIR / language / name).read_text(encoding="utf-8")
        return meta.find_undeclared_variables(environment.parse(source))

    for language in langs:
        assert {path.name for path in (templates.TEMPLATES_DIR / language).iterdir()} == names, language
        for name in names:  # a translation needs no value the sender does not give the English one
            assert variables(language, name) <= variables("en", name), (language, name)
    assert templates.pick_language("fr-CA") == "fr" and templates.pick_language("xx") == "en"


# ---------------------------------------------------------------------------------------------- the API


def test_contacts_api_validates_audits_and_hides_the_secret(
    clean_db: Engine, world: School_, settings: Settings
) -> None:
    from app.api.security import authenticate

    app = make_app(settings)
    app.dependency_overrides[authenticate] = lambda: world.admin_principal
    with TestClient(app) as client:
        bad = client.post("/v1/notifications/contacts", json={"name": "X", "channels": ["sms"]})
        assert bad.status_code == 422
        insecure = {"name": "SIS", "webhook_url": "http://sis.example.org/hook", "channels": ["webhook"]}
        assert client.post("/v1/notifications/contacts", json=insecure).status_code == 422
        created = client.post(
            "/v1/notifications/contacts",
            json={"name": "SIS", "webhook_url": "https://sis.example.org/hook", "channels": ["webhook"],
                  "topics": ["absence", "lesson"]},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        assert created.json()["webhook_secret"].startswith("whsec_")
        listed = client.get("/v1/notifications/contacts").json()
        assert len(listed) == 1 and "webhook_secret" not in listed[0]
        contact_id = listed[0]["id"]
        patched = client.patch(f"/v1/notifications/contacts/{contact_id}", json={"topics": ["absence"]})
        assert patched.status_code == 200 and patched.json()["webhook_secret"] is None
        cleared = client.patch(f"/v1/notifications/contacts/{contact_id}", json={"topics": None})
        assert cleared.status_code == 200 and cleared.json()["topics"] == []
        no_url = client.patch(f"/v1/notifications/contacts/{contact_id}", json={"webhook_url": None})
        assert no_url.status_code == 422  # the webhook channel would have no address
        quiet = client.put("/v1/notifications/settings", json={"quiet_start": "20:00", "quiet_end": "07:00"})
        assert quiet.status_code == 200 and quiet.json()["quiet_start"] == "20:00:00"
        assert client.put("/v1/notifications/settings", json={"quiet_start": "20:00"}).status_code == 422
        assert client.get("/v1/notifications/deliveries", params={"status": "dead"}).json() == []
        assert client.delete(f"/v1/notifications/contacts/{contact_id}").status_code == 204
        assert client.delete(f"/v1/notifications/contacts/{contact_id}").status_code == 404
    app.state.container.engine.dispose()
    with transaction(clean_db) as db:
        actions = [e.action for e in audit.list_events(db, world.admin_principal, audit.EventFilter())]
    assert "notification.contact.create" in actions and "notification.contact.delete" in actions
    with transaction(clean_db) as db:
        assert db.scalar(select(func.count()).select_from(NotificationContact)) == 0


def test_the_notifier_delivers_in_the_background_and_stops(
    clean_db: Engine, world: School_, settings: Settings
) -> None:
    """What the Notifier deployment runs: the worker's loop on its own thread, until stopped."""
    import time as clock_time

    from app.notifications.background import BackgroundWorker

    fast = settings.model_copy(update={"notify_poll_s": 0.2})
    with HttpReceiver() as hook:
        add_webhook(clean_db, world, settings, hook.url)
        check_in(clean_db, world, world.amelie, T0)
        worker = BackgroundWorker(clean_db, fast)
        worker.start()
        try:
            deadline = clock_time.monotonic() + 15
            while not hook.calls and clock_time.monotonic() < deadline:
                clock_time.sleep(0.1)
            assert worker.alive
        finally:
            worker.stop()
        assert not worker.alive
    assert [call.headers["X-Rollcall-Event"] for call in hook.calls][:1] == ["attendance.recorded"]
