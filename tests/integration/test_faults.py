"""Fault injection on the real Serve app: a bounded burst of kiosk check-ins while something breaks.

Each scenario opens lessons of its own class, starts a burst of check-ins (a few concurrent kiosk clients,
each check-in with its own Idempotency-Key), and mid-burst kills a replica of one deployment, or stops and
restarts PostgreSQL, Redis or the Milvus server. The clients behave as a kiosk should: retry with the same
key, wait as long as Retry-After says, and give up on a request after a timeout (a hang counts as a failure).

Required of the app, per scenario:
- every answer is 200 (the student recorded, or already recorded by an earlier try whose answer was lost) or
  503/429 with Retry-After and the JSON error body; never a 500, never a request that hangs;
- every check-in succeeds once the fault is over;
- PostgreSQL holds exactly one attendance row per (session, student): nothing lost, nothing doubled.

The counts of every scenario (attempts, 503s, retries, recovery time) go to
``artifacts/reliability/faults.json`` (or ``$ROLLCALL_FAULT_REPORT``); docs/RELIABILITY.md quotes them.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.db.session import make_engine
from app.db.tables import Attendance
from cluster.local.stack import Stores
from deployments.app import DEPLOYMENTS
from models.eval.clips import CLIP_NAMES, challenge_burst, clip_photos
from tests.conftest import REPO_ROOT
from tests.integration.conftest import ServeApp
from tests.integration.school_setup import (
    SchoolAdmin,
    add_class,
    add_students,
    consent_and_enroll,
    ok,
    open_lesson,
    without_colours,
)
from tests.school_faces import PEOPLE, load_photos

pytestmark = pytest.mark.integration

#: Lessons per scenario: each enrolled person checks in to each, so a scenario makes LESSONS x 3 records.
LESSONS = 4
CLIENTS = 4
#: A kiosk gives up on one request after this long: an answer later than this is a hang. Above the Serve
#: proxy's own request_timeout_s (30 s, serve_config.yaml), which bounds every request from the outside.
CLIENT_TIMEOUT_S = 35.0
#: Every answer but those of the Ingress' own gap comes within this: the Ingress answers 503 once a model
#: deployment's call outlives deployments.ingress.CALL_TIMEOUT_S (10 s), with some room for a loaded machine.
ANSWER_WITHIN_S = 16.0
#: Every check-in of a scenario must have succeeded this long after the burst began.
BURST_DEADLINE_S = 90.0
#: How long a stopped server stays down before it is started again.
DOWN_S = 3.0
APP_NAME = "rollcall"
#: The person of a head-turning clip: the one who can pass the liveness challenge (models.eval.clips).
CLIP = CLIP_NAMES[0]
LIVE_PERSON = "clip"
REPORT = Path(os.environ.get("ROLLCALL_FAULT_REPORT") or REPO_ROOT / "artifacts/reliability/faults.json")


# ------------------------------------------------------------------------------------------------ the school


@dataclass
class FaultSchool:
    """A school of its own (so its faces never meet other tests' enrollments): three people enrolled from
    LFW photos (single-frame check-ins) and the person of a head-turning clip (live bursts)."""

    admin: httpx.Client
    students: dict[str, dict]
    frames: dict[str, bytes]


@pytest.fixture(scope="module")
def school(serve_app: ServeApp, faces_dir: Path) -> Iterator[FaultSchool]:
    photos = {**load_photos(faces_dir), LIVE_PERSON: clip_photos(CLIP)}
    office = SchoolAdmin(serve_app.settings, f"Fault School {uuid.uuid4().hex[:6]}")
    with httpx.Client(base_url=serve_app.base_url, headers=office.headers(), timeout=120) as admin:
        without_colours(admin)  # its live bursts are a recorded clip
        students = add_students(admin, "F", [*PEOPLE, LIVE_PERSON])
        for key, student in students.items():
            consent_and_enroll(admin, student["id"], photos[key][:3])
        yield FaultSchool(admin, students, {key: photos[key][3] for key in PEOPLE})
    office.close()


@cache
def live_burst(action: str) -> tuple[bytes, ...]:
    """Frames of the clip answering ``action`` (the same burst for every check-in asked that action)."""
    return tuple(challenge_burst(action, clip=CLIP))


# ------------------------------------------------------------------------------------------------ the burst


@dataclass
class Job:
    lesson_id: str
    person: str
    live: bool = False  # a challenge, then a burst answering it (liveness on); else one frame
    key: str = field(default_factory=lambda: f"fault-{uuid.uuid4().hex}")


def send(client: httpx.Client, job: Job, frame: bytes | None) -> httpx.Response:
    """One check-in attempt as a kiosk makes it; a refused challenge is the attempt's answer."""
    form = {"lesson_id": job.lesson_id}
    key = {"Idempotency-Key": job.key}
    if not job.live:
        files = {"frame": ("frame.jpg", frame, "image/jpeg")}
        return client.post("/v1/checkins", files=files, data=form, headers=key, timeout=CLIENT_TIMEOUT_S)
    issued = client.post("/v1/checkins/challenge", json=form, timeout=CLIENT_TIMEOUT_S)
    if issued.status_code != 201:
        return issued
    challenge = issued.json()
    frames = live_burst(challenge["action"])
    parts = [("frames", (f"{i}.jpg", data, "image/jpeg")) for i, data in enumerate(frames)]
    form["nonce"] = challenge["nonce"]
    return client.post("/v1/checkins", files=parts, data=form, headers=key, timeout=CLIENT_TIMEOUT_S)


@dataclass
class Attempt:
    job: int
    sent_s: float  # since the burst began
    took_s: float
    status: int | str  # an HTTP status, or "timeout" / "transport_error"
    retry_after: str | None = None
    problem: str | None = None
    body: str = ""

    def in_flight_at(self, fault: Fault) -> bool:
        return self.sent_s <= fault.ended_s and self.sent_s + self.took_s >= fault.started_s


@dataclass
class Burst:
    started: float = field(default_factory=time.monotonic)
    attempts: list[Attempt] = field(default_factory=list)
    recorded: dict[int, str] = field(default_factory=dict)  # job -> attendance id
    lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return time.monotonic() - self.started

    def add(self, attempt: Attempt) -> None:
        with self.lock:
            self.attempts.append(attempt)


def check_in_until_done(
    client: httpx.Client, burst: Burst, index: int, job: Job, frame: bytes | None, student_id: str
) -> None:
    """One kiosk check-in, retried with the same Idempotency-Key as long as the app says to retry."""
    while burst.now() < BURST_DEADLINE_S:
        sent = burst.now()
        try:
            response = send(client, job, frame)
        except httpx.TimeoutException:
            burst.add(Attempt(index, sent, burst.now() - sent, "timeout", problem="no answer in time"))
            continue
        except httpx.TransportError as exc:
            burst.add(Attempt(index, sent, burst.now() - sent, "transport_error", problem=repr(exc)))
            time.sleep(1)
            continue
        took = burst.now() - sent
        retry_after = response.headers.get("retry-after")
        attempt = Attempt(index, sent, took, response.status_code, retry_after)
        burst.add(attempt)
        if response.status_code == 200:
            faces = response.json()["faces"]
            outcomes = [(face["outcome"], (face["student"] or {}).get("id")) for face in faces]
            if len(faces) != 1 or outcomes[0][0] not in ("recorded", "already_recorded"):
                attempt.problem = f"unexpected answer {outcomes}"
            elif outcomes[0][1] != student_id or faces[0]["lesson_id"] != job.lesson_id:
                attempt.problem = f"recorded the wrong student or session: {faces[0]}"
            else:
                with burst.lock:
                    burst.recorded[index] = faces[0]["attendance_id"]
            return
        if response.status_code in (429, 503):
            body = response.json() if "json" in response.headers.get("content-type", "") else None
            if retry_after is None or not retry_after.isdigit():
                attempt.problem = "no Retry-After"
            elif not body or set(body) != {"error"}:
                attempt.problem = f"not the JSON error body: {response.text[:200]}"
            time.sleep(int(retry_after) if retry_after and retry_after.isdigit() else 1)
            continue
        attempt.body = response.text[:300]
        if response.status_code >= 500 or response.status_code == 408:  # a kiosk retries these; judged below
            time.sleep(1)
            continue
        attempt.problem = f"{response.status_code}: {response.text[:300]}"
        return


def run_burst(
    base_url: str, kiosk_key: str, jobs: list[Job], school: FaultSchool, inject: Callable[[Burst], None]
) -> Burst:
    """Run ``jobs`` with CLIENTS concurrent kiosk clients; ``inject`` breaks something once the burst runs."""
    burst = Burst()
    todo: queue.Queue[int] = queue.Queue()
    for index in range(len(jobs)):
        todo.put(index)

    def client_loop() -> None:
        with httpx.Client(base_url=base_url, headers={"X-API-Key": kiosk_key}) as client:
            while True:
                try:
                    index = todo.get_nowait()
                except queue.Empty:
                    return
                job = jobs[index]
                student_id = school.students[job.person]["id"]
                frame = school.frames.get(job.person)
                check_in_until_done(client, burst, index, job, frame, student_id)

    workers = [threading.Thread(target=client_loop, daemon=True) for _ in range(CLIENTS)]
    for worker in workers:
        worker.start()
    # Break things only once check-ins are flowing, so the fault meets requests in flight.
    while not burst.recorded and burst.now() < 30:
        time.sleep(0.05)
    inject(burst)
    for worker in workers:
        worker.join(timeout=BURST_DEADLINE_S + CLIENT_TIMEOUT_S + 5)
    return burst


# ------------------------------------------------------------------------------------------------ the faults


@dataclass
class Fault:
    name: str
    action: Callable[[ServeApp, Stores], None]
    #: Killing the only Ingress replica leaves nothing of the app to answer until Serve has started a new
    #: one; Ray Serve's HTTP proxy then answers by itself: a bare "500 Internal Server Error" (no trace) to
    #: requests in flight inside the dying replica (ray.serve http_util.get_http_response_status maps
    #: RayActorError to 500), and 408 to requests queued past its request_timeout_s. Allowed only there.
    ingress: bool = False
    #: Check in with liveness on (challenge + burst): the Liveness deployment is only on that path.
    live: bool = False
    started_s: float = 0.0
    ended_s: float = 0.0


def kill_replica(deployment: str) -> Callable[[ServeApp, Stores], None]:
    def kill(_app: ServeApp, _stores: Stores) -> None:
        import ray

        prefix = f"SERVE_REPLICA::{APP_NAME}#{deployment}#"
        actors = ray.util.list_named_actors(all_namespaces=True)
        replicas = [actor for actor in actors if actor["name"].startswith(prefix)]
        assert replicas, f"no replica of {deployment} is running"
        actor = ray.get_actor(replicas[0]["name"], namespace=replicas[0]["namespace"])
        ray.kill(actor, no_restart=True)

    return kill


def restart(server: Callable[[ServeApp, Stores], object]) -> Callable[[ServeApp, Stores], None]:
    def stop_wait_start(serve_app: ServeApp, stores: Stores) -> None:
        target = server(serve_app, stores)
        target.stop()  # type: ignore[attr-defined]
        time.sleep(DOWN_S)
        target.start()  # type: ignore[attr-defined]

    return stop_wait_start


FAULTS = [
    *(
        Fault(f"kill {name} replica", kill_replica(name), ingress=name == "Ingress", live=name == "Liveness")
        for name in DEPLOYMENTS
    ),
    Fault("restart PostgreSQL", restart(lambda _app, stores: stores.postgres)),
    Fault("restart Redis", restart(lambda _app, stores: stores.redis)),
    Fault("restart Milvus", restart(lambda app, _stores: app.milvus)),
]
RESULTS: list[dict[str, object]] = []


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    if RESULTS:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(json.dumps(RESULTS, indent=2) + "\n", encoding="utf-8")
        print(f"\nfault scenarios: {REPORT}")
        for row in RESULTS:
            print("  " + ", ".join(f"{k}={v}" for k, v in row.items() if k != "statuses"), row["statuses"])


def wait_healthy(base_url: str, timeout_s: float = 60) -> float:
    """Seconds until /health answers 200 (every deployment and store up again)."""
    started = time.monotonic()
    with httpx.Client(base_url=base_url, timeout=10) as client:
        while time.monotonic() - started < timeout_s:
            try:
                if client.get("/health").status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
    raise AssertionError(f"the app is not healthy {timeout_s} s after the fault")


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_check_ins_survive(
    fault: Fault, serve_app: ServeApp, serve_stores: Stores, school: FaultSchool
) -> None:
    wait_healthy(serve_app.base_url)  # the previous scenario's fault is over
    room = f"F{uuid.uuid4().hex[:6]}"
    klass, kiosk_key = add_class(school.admin, room, [s["id"] for s in school.students.values()])
    people = [LIVE_PERSON] if fault.live else list(PEOPLE)
    count = LESSONS * len(PEOPLE) // len(people)  # the same number of check-ins either way
    lessons = [  # overlapping on purpose: many lessons open at once share the check-ins
        open_lesson(school.admin, klass["id"], started_min_ago=2 + i, allow_overlap=True)
        for i in range(count)
    ]
    jobs = [Job(lesson["id"], person, fault.live) for lesson in lessons for person in people]
    if fault.live:
        serve_app.redeploy({}, {"liveness_mode": "challenge"})

    def inject(burst: Burst) -> None:
        fault.started_s = burst.now()
        fault.action(serve_app, serve_stores)
        fault.ended_s = burst.now()

    try:
        burst = run_burst(serve_app.base_url, kiosk_key, jobs, school, inject)
        healthy_after_s = wait_healthy(serve_app.base_url)
    finally:
        if fault.live:
            serve_app.redeploy({}, {"liveness_mode": "off"})  # what the other integration tests expect

    statuses = Counter(str(a.status) for a in burst.attempts)
    unavailable = [a for a in burst.attempts if a.status in (429, 503)]
    last_refusal = max((a.sent_s + a.took_s for a in unavailable), default=fault.started_s)
    after = [a.sent_s + a.took_s for a in burst.attempts if a.status == 200 and a.sent_s >= last_refusal]
    slowest = max(burst.attempts, key=lambda a: a.took_s)
    RESULTS.append(
        {
            "scenario": fault.name,
            "check_ins": len(jobs),
            "attempts": len(burst.attempts),
            "retries": len(burst.attempts) - len(jobs),
            "unavailable_503_429": len(unavailable),
            "statuses": dict(statuses),
            "recorded": len(burst.recorded),
            "fault_at_s": round(fault.started_s, 2),
            "fault_took_s": round(fault.ended_s - fault.started_s, 2),
            "recovered_after_s": round(min(after, default=float("nan")) - fault.started_s, 2),
            "burst_s": round(max(a.sent_s + a.took_s for a in burst.attempts), 2),
            "slowest_answer_s": round(slowest.took_s, 2),
            "slowest_answer": {"status": slowest.status, "sent_at_s": round(slowest.sent_s, 2)},
            "healthy_after_s": round(healthy_after_s, 2),
        }
    )

    def expected(attempt: Attempt) -> bool:
        if fault.ingress and attempt.status == 500 and attempt.in_flight_at(fault):
            return attempt.body == "Internal Server Error"  # the proxy's bare answer: no trace, no detail
        if fault.ingress and attempt.status == 408:
            return "Traceback" not in attempt.body
        if not fault.ingress and attempt.took_s > ANSWER_WITHIN_S:
            return False
        return attempt.problem is None and attempt.status in (200, 429, 503)

    problems = [asdict(a) for a in burst.attempts if not expected(a)]
    assert not problems, json.dumps(problems[:10], indent=1)
    assert sorted(burst.recorded) == list(range(len(jobs))), "some check-ins never succeeded"

    engine = make_engine(serve_app.settings.database_url)
    try:
        with engine.connect() as connection:
            per_pair = connection.execute(
                select(Attendance.lesson_id, Attendance.student_id, func.count())
                .where(Attendance.lesson_id.in_([uuid.UUID(lesson["id"]) for lesson in lessons]))
                .group_by(Attendance.lesson_id, Attendance.student_id)
            ).all()
    finally:
        engine.dispose()
    doubled = [row for row in per_pair if row[2] != 1]
    assert doubled == [], f"more than one row for {doubled}"
    assert len(per_pair) == len(jobs), f"{len(per_pair)} rows for {len(jobs)} check-ins"
    assert {str(r) for r in burst.recorded.values()} == {
        a["id"] for lesson in lessons for a in ok(school.admin.get(f"/v1/lessons/{lesson['id']}/attendance"))
    }
