"""The delivery worker: sweep ended lessons, fan events out, send what is due, retry, dead-letter.

Guarantees (docs/NOTIFICATIONS.md):
- Nothing is lost: events are written with the change they announce (``events``); a worker that dies at any
  point leaves rows that the next run (this replica's or another's) picks up.
- Nothing is fanned out twice: one ``notification_delivery`` per (event, contact, channel), its idempotency
  key unique. Sending is at least once: a worker that dies between sending and recording it sends again
  after the claim's lease expires; the message carries the idempotency key so receivers can drop it.
- Several workers (one per Ingress replica) share the work: rows are claimed with ``FOR UPDATE SKIP LOCKED``.
- A failed try is retried after ``notify_backoff_s * 2^(attempt-1)`` (capped); after ``notify_max_attempts``
  tries, or at once on a permanent error, the delivery is ``dead`` (the dead letter an admin can list and
  retry). People are not messaged during their school's quiet hours: deliveries wait until the end
  (webhooks, machine to machine, are not held back).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Engine, String, cast, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col

from app.core import metrics
from app.core.config import Settings
from app.core.enums import DeliveryStatus, NotificationChannel
from app.db.session import transaction
from app.db.tables import (
    Lesson,
    NotificationContact,
    NotificationDelivery,
    NotificationEvent,
    NotificationSettings,
    School,
    Student,
    utcnow,
)
from app.notifications import events, templates
from app.notifications.channels import DeliveryError, Outgoing, Sender, default_senders
from app.notifications.tokens import unsubscribe_token

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)  # a claimed delivery not finished by then is due again (its worker died)
HUMAN_CHANNELS = frozenset({NotificationChannel.email, NotificationChannel.sms, NotificationChannel.push})
ADDRESS_OF: dict[NotificationChannel, str] = {
    NotificationChannel.email: "email",
    NotificationChannel.sms: "phone",
    NotificationChannel.push: "push_topic",
    NotificationChannel.webhook: "webhook_url",
}


@dataclass
class RunStats:
    absences: int = 0
    fanned_out: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    deferred: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class _Job:
    delivery_id: uuid.UUID
    attempts: int
    message: Outgoing
    school_id: uuid.UUID = field(default_factory=uuid.uuid4)


def webhook_secret_aad(contact_id: uuid.UUID) -> bytes:
    return b"webhook:" + contact_id.bytes


def quiet_until(now: datetime, timezone: str, start: time | None, end: time | None) -> datetime | None:
    """When the quiet hours that ``now`` falls in end (UTC), or None when ``now`` is not in them."""
    if start is None or end is None or start == end:
        return None
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start < end:  # e.g. 12:00-13:00
        inside, end_day = start <= clock < end, local.date()
    else:  # spans midnight, e.g. 20:00-07:00
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(UTC)


class NotificationWorker:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        senders: Mapping[NotificationChannel, Sender] | None = None,
        clock: Callable[[], datetime] = utcnow,
        batch_size: int = 50,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._senders = dict(senders or default_senders(settings))
        self._clock = clock
        self._batch = batch_size
        self._keyring = settings.keyring()

    # ---------------------------------------------------------------------------------------------- loop

    async def run_once(self) -> RunStats:
        """One pass: sweep, fan out, then send everything due now."""
        stats = RunStats()
        stats.absences = await asyncio.to_thread(self._in_tx, self._sweep_ended_lessons)
        while (fanned := await asyncio.to_thread(self._in_tx, self._fan_out, stats)) == self._batch:
            stats.fanned_out += fanned
        stats.fanned_out += fanned
        while True:
            jobs = await asyncio.to_thread(self._in_tx, self._claim, stats)
            if jobs:
                await asyncio.gather(*(self._deliver(job, stats) for job in jobs))
            if len(jobs) < self._batch:
                break
        metrics.NOTIFICATION_QUEUE.set(await asyncio.to_thread(self._in_tx, _pending_count))
        return stats

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set: a pass every ``notify_poll_s``; a failing pass (database down) is logged
        and the loop goes on."""
        while not stop.is_set():
            try:
                stats = await self.run_once()
                if stats.sent or stats.dead or stats.retried:
                    log.info("notifications pass", extra={"stats": stats.as_dict()})
            except Exception as exc:  # keep the loop alive through outages; the next pass retries
                log.warning("notification pass failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._settings.notify_poll_s)

    def _in_tx(self, step: Callable[..., Any], *args: Any) -> Any:
        with transaction(self._engine) as session:
            return step(session, *args)

    # --------------------------------------------------------------------------------------------- steps

    def _sweep_ended_lessons(self, session: Session) -> int:
        """Lessons that ended (recently) without being closed: their absences, once."""
        now = self._clock()
        marker = func.concat("session-over:", cast(Lesson.id, String))
        lessons = session.scalars(
            select(Lesson)
            .where(
                col(Lesson.ends_at) <= now,
                col(Lesson.ends_at) > now - timedelta(hours=self._settings.notify_absence_lookback_h),
                ~exists().where(col(NotificationEvent.dedupe_key) == marker),
            )
            .limit(200)
        ).all()
        return sum(events.lesson_over(session, lesson, now) for lesson in lessons)

    def _fan_out(self, session: Session, stats: RunStats) -> int:
        """Deliveries for events not fanned out yet (one row per event, contact and channel)."""
        pending = session.scalars(
            select(NotificationEvent)
            .where(col(NotificationEvent.fanned_out_at).is_(None))
            .order_by(col(NotificationEvent.created_at))
            .limit(self._batch)
            .with_for_update(skip_locked=True)
        ).all()
        now = self._clock()
        for event in pending:
            for contact, channel in self._recipients(session, event):
                session.execute(
                    insert(NotificationDelivery)
                    .values(
                        id=uuid.uuid4(),
                        event_id=event.id,
                        contact_id=contact.id,
                        school_id=event.school_id,
                        channel=channel,
                        idempotency_key=f"{event.id.hex}:{contact.id.hex}:{channel.value}",
                        status=DeliveryStatus.pending,
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=["idempotency_key"])
                )
            event.fanned_out_at = now
            session.add(event)
        session.flush()
        return len(pending)

    def _recipients(
        self, session: Session, event: NotificationEvent
    ) -> list[tuple[NotificationContact, NotificationChannel]]:
        topic = events.topic_of(event.kind, event.payload)
        if topic is None:
            return []
        query = select(NotificationContact).where(col(NotificationContact.school_id) == event.school_id)
        if topic == "summary":
            user_id = event.payload.get("user_id")
            if not user_id:
                return []
            query = query.where(col(NotificationContact.user_id) == uuid.UUID(str(user_id)))
        else:
            no_student = col(NotificationContact.student_id).is_(None)
            school_wide = no_student & col(NotificationContact.user_id).is_(None)
            condition: ColumnElement[bool] = school_wide
            if event.student_id is not None:
                condition = or_(school_wide, col(NotificationContact.student_id) == event.student_id)
            query = query.where(condition)
        found = []
        for contact in session.scalars(query):
            if topic not in (contact.topics or []):
                continue
            for name in contact.channels or []:
                channel = NotificationChannel(name)
                if getattr(contact, ADDRESS_OF[channel]):
                    found.append((contact, channel))
        return found

    def _claim(self, session: Session, stats: RunStats) -> list[_Job]:
        """Due deliveries, leased to this worker and rendered; quiet hours defer, unsubscribes skip."""
        now = self._clock()
        rows = session.scalars(
            select(NotificationDelivery)
            .where(
                col(NotificationDelivery.status).in_([DeliveryStatus.pending, DeliveryStatus.sending]),
                col(NotificationDelivery.next_attempt_at) <= now,
            )
            .order_by(col(NotificationDelivery.next_attempt_at))
            .limit(self._batch)
            .with_for_update(skip_locked=True)
        ).all()
        jobs = []
        schools: dict[uuid.UUID, tuple[School, NotificationSettings | None]] = {}
        for delivery in rows:
            if delivery.school_id not in schools:
                schools[delivery.school_id] = (
                    session.get(School, delivery.school_id),  # type: ignore[assignment]
                    session.get(NotificationSettings, delivery.school_id),
                )
            school, school_settings = schools[delivery.school_id]
            if delivery.channel in HUMAN_CHANNELS and school_settings is not None:
                until = quiet_until(
                    now, school.timezone, school_settings.quiet_start, school_settings.quiet_end
                )
                if until is not None:
                    delivery.status, delivery.next_attempt_at = DeliveryStatus.pending, until
                    stats.deferred += 1
                    continue
            if delivery.attempts >= self._settings.notify_max_attempts:  # a lease expired on the last try
                delivery.status, delivery.last_error = DeliveryStatus.dead, "no answer within the lease"
                stats.dead += 1
                metrics.NOTIFICATIONS.labels(delivery.channel.value, "dead").inc()
                continue
            message = self._render(session, delivery, school, school_settings)
            if message is None:
                delivery.status = DeliveryStatus.skipped
                stats.skipped += 1
                metrics.NOTIFICATIONS.labels(delivery.channel.value, "skipped").inc()
                continue
            delivery.status = DeliveryStatus.sending
            delivery.attempts += 1
            delivery.next_attempt_at = now + LEASE
            jobs.append(_Job(delivery.id, delivery.attempts, message, delivery.school_id))
        session.flush()
        return jobs

    async def _deliver(self, job: _Job, stats: RunStats) -> None:
        channel = job.message.channel
        started = asyncio.get_running_loop().time()
        error: DeliveryError | None = None
        try:
            await self._senders[channel].send(job.message)
        except DeliveryError as exc:
            error = exc
        except Exception as exc:  # a sender bug must not kill the pass; retried like a transient error
            error = DeliveryError(f"unexpected {type(exc).__name__}")
        metrics.NOTIFICATION_SECONDS.labels(channel.value).observe(
            asyncio.get_running_loop().time() - started
        )
        await asyncio.to_thread(self._in_tx, self._finish, job, error, stats)

    def _finish(self, session: Session, job: _Job, error: DeliveryError | None, stats: RunStats) -> None:
        now = self._clock()
        values: dict[str, Any]
        if error is None:
            values = {"status": DeliveryStatus.sent, "sent_at": now, "last_error": None}
            result = "sent"
            stats.sent += 1
        elif error.permanent or job.attempts >= self._settings.notify_max_attempts:
            values = {"status": DeliveryStatus.dead, "last_error": str(error)[:500]}
            result = "dead"
            stats.dead += 1
        else:
            delay = min(
                self._settings.notify_backoff_s * 2 ** (job.attempts - 1), self._settings.notify_backoff_max_s
            )
            values = {
                "status": DeliveryStatus.pending,
                "next_attempt_at": now + timedelta(seconds=delay),
                "last_error": str(error)[:500],
            }
            result = "retry"
            stats.retried += 1
        session.execute(
            update(NotificationDelivery)
            .where(col(NotificationDelivery.id) == job.delivery_id)
            .values(**values)
        )
        metrics.NOTIFICATIONS.labels(job.message.channel.value, result).inc()
        log.info(
            "notification %s",
            result,
            extra={
                "delivery_id": str(job.delivery_id),
                "channel": job.message.channel.value,
                "attempt": job.attempts,
                "error": str(error) if error else None,
            },
        )

    # ------------------------------------------------------------------------------------------ rendering

    def _render(
        self,
        session: Session,
        delivery: NotificationDelivery,
        school: School,
        school_settings: NotificationSettings | None,
    ) -> Outgoing | None:
        contact = session.get(NotificationContact, delivery.contact_id)
        event = session.get(NotificationEvent, delivery.event_id)
        if contact is None or event is None or delivery.channel.value not in (contact.channels or []):
            return None  # unsubscribed (or removed) since the fan-out
        address = getattr(contact, ADDRESS_OF[delivery.channel])
        if not address:
            return None
        student = session.get(Student, event.student_id) if event.student_id else None
        if event.student_id is not None and student is None:
            return None
        topic = events.topic_of(event.kind, event.payload) or "lesson"
        language = contact.language or (school_settings.language if school_settings else "en")
        base = self._settings.public_base_url.rstrip("/")
        token = unsubscribe_token(self._settings, contact.id, delivery.channel.value)
        common = {
            "delivery_id": str(delivery.id),
            "idempotency_key": delivery.idempotency_key,
            "channel": delivery.channel,
            "address": address,
            "event": event.kind,
        }
        if delivery.channel is NotificationChannel.webhook:
            secret = (
                self._keyring.open(contact.webhook_secret_enc, webhook_secret_aad(contact.id))
                if contact.webhook_secret_enc
                else None
            )
            body = {
                "id": delivery.idempotency_key,
                "type": event.kind,
                "created_at": event.created_at.isoformat(),
                "school_id": str(event.school_id),
                "data": {
                    **event.payload,
                    **(
                        {"student": {"id": str(student.id), "student_number": student.student_number}}
                        if student is not None
                        else {}
                    ),
                },
            }
            encoded = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")
            return Outgoing(**common, subject=event.kind, body="", json_body=encoded, secret=secret)
        context = self._context(session, event, contact, student, school, language)
        rendered = templates.render(topic, language, context)
        return Outgoing(
            **common,
            subject=rendered.subject,
            body=rendered.body,
            unsubscribe_url=f"{base}/v1/notifications/unsubscribe?token={token}",
        )

    def _context(
        self,
        session: Session,
        event: NotificationEvent,
        contact: NotificationContact,
        student: Student | None,
        school: School,
        language: str,
    ) -> dict[str, Any]:
        zone = ZoneInfo(school.timezone)
        words = templates.strings(language)

        def local(value: str | None, fmt: str) -> str:
            if not value:
                return ""
            return datetime.fromisoformat(value).astimezone(zone).strftime(fmt)

        payload = event.payload
        context: dict[str, Any] = {
            **payload,
            "name": contact.name,
            "school": school.name,
            "student": student.display_name if student else "",
            "class_name": payload.get("class_name", ""),
            "class_code": payload.get("class_code", ""),
            "date": local(payload.get("starts_at"), "%Y-%m-%d"),
            "starts_at": local(payload.get("starts_at"), "%H:%M"),
            "ends_at": local(payload.get("ends_at"), "%H:%M"),
            "recorded_at": local(payload.get("recorded_at"), "%H:%M"),
            "status": payload.get("status", ""),
            "status_text": words.get(str(payload.get("status", "")), str(payload.get("status", ""))),
            "recorded": payload.get("recorded", 0),
            "absent": payload.get("absent", 0),
        }
        if events.topic_of(event.kind, payload) == "summary":
            ids = [uuid.UUID(row["student_id"]) for row in payload.get("absentees", [])]
            names = dict(
                session.execute(
                    select(col(Student.id), col(Student.display_name)).where(col(Student.id).in_(ids))
                ).all()
            )
            context["absentees"] = [
                {**row, "name": names.get(uuid.UUID(row["student_id"]), "?")}
                for row in payload.get("absentees", [])
            ]
            context["date_from"] = date.fromisoformat(payload["date_from"]).isoformat()
            context["date_to"] = date.fromisoformat(payload["date_to"]).isoformat()
        return context


def _pending_count(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(NotificationDelivery)
            .where(col(NotificationDelivery.status).in_([DeliveryStatus.pending, DeliveryStatus.sending]))
        )
        or 0
    )
