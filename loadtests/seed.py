"""``python -m loadtests.seed``: the data set a load test needs, in a running Rollcall, with real faces.

Per school: an admin, one teacher per class, classes with their students (LFW people, enrolled after a
guardian's consent with three real photos each), a kiosk in each class's room, a lesson open now in each, and
a few "spare" students (consented, not enrolled) for the admins of the load test to enroll. The two people
of the liveness clips (``models.eval.clips``) are enrolled once per school from frames of their clips and
put in every class: they are the only faces that can really answer a head-turn challenge, so with liveness on
they are the students whose check-ins get recorded; their bursts are written beside the manifest.
Everything goes through the HTTP API except what has no route: creating a school and its first admin is
operator work (``app.bootstrap``), and the lessons of the load test's users are opened in-process
(``AuthService``) rather than by signing in, because sign-in is limited to a few a minute per address
(``auth_rate_limit``) and every simulated user comes from 127.0.0.1. That part needs the server's database,
Redis and secrets: the same ``ROLLCALL_*`` settings as the server (run it from the same directory).

Writes a JSON manifest (ids, tokens, kiosk keys, photo paths relative to the faces folder) that the
locustfile reads. Tokens live ``access_token_ttl_s`` (15 minutes by default): seed again before a long run.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from app.core.config import Settings
from loadtests.faces import Person, clip_people, faces_root, roster, strangers
from loadtests.hosts import check_host

console = Console(stderr=True, soft_wrap=True)
DEFAULT_MANIFEST = Path(__file__).resolve().parent / "reports" / "manifest.json"
SPARE_PER_SCHOOL = 4
ACTIONS = ("turn_left", "turn_right")
STRANGERS = 40


@dataclass
class SeededClass:
    id: str
    room: str
    lesson_id: str
    teacher_token: str
    kiosk_key: str
    #: ``[student id, [probe photos]]``: what the class's kiosk sees of its enrolled students.
    students: list[tuple[str, list[str]]] = field(default_factory=list)


@dataclass
class SeededSchool:
    id: str
    admin_token: str
    classes: list[SeededClass] = field(default_factory=list)
    #: ``[student id, [enrollment photos]]``: consented but not enrolled, for the load test's admins.
    spare: list[tuple[str, list[str]]] = field(default_factory=list)


@dataclass
class Manifest:
    host: str
    faces_dir: str
    created: str
    schools: list[SeededSchool]
    strangers: list[str]
    #: ``action -> [JPEG files]``: a real burst of a clip person turning that way (liveness on).
    live: dict[str, list[str]] = field(default_factory=dict)

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")
        path.chmod(0o600)  # bearer tokens and kiosk keys
        return path

    @classmethod
    def read(cls, path: Path) -> Manifest:
        raw = json.loads(path.read_text(encoding="utf-8"))
        schools = [
            SeededSchool(
                s["id"],
                s["admin_token"],
                [SeededClass(**c) for c in s["classes"]],
                [tuple(x) for x in s["spare"]],
            )
            for s in raw["schools"]
        ]
        return cls(raw["host"], raw["faces_dir"], raw["created"], schools, raw["strangers"], raw["live"])


class Operator:
    """What has no route: a new school with its first admin, and lessons opened for seeded users."""

    def __init__(self, settings: Settings) -> None:
        from app.container import build_container

        # The server's settings, so the audit trail it continues stays one chain with its keys.
        self.settings = settings
        self._container = build_container(settings)
        if self._container.engine is None or self._container.security is None:
            raise SystemExit("seeding needs ROLLCALL_DATABASE_URL and ROLLCALL_REDIS_URL")
        self.engine = self._container.engine
        self.auth = self._container.security.auth

    def close(self) -> None:
        self._container.close()

    def school_with_admin(self, name: str) -> tuple[str, str]:
        """A school and its admin (as an operator would add a school); returns the school id and a token."""
        from app.core.enums import Role
        from app.db.session import transaction
        from app.schemas.auth import UserCreate
        from app.schemas.schools import SchoolCreate
        from app.services.identity.principal import Principal
        from app.services.school import schools

        with transaction(self.engine) as session:
            school = schools.create_school(session, SchoolCreate(name=name))
            operator = Principal("user", uuid.UUID(int=0), school.id, Role.admin)  # the seeding operator
            admin = self.auth.create_user(
                session,
                operator,
                UserCreate(
                    email=f"admin-{school.id.hex[:8]}@loadtest.example.org",
                    full_name="Load-test admin",
                    role=Role.admin,
                    password=secrets.token_urlsafe(16),
                ),
                None,
            )
        return str(school.id), self.token(admin.id)

    def token(self, user_id: uuid.UUID | str) -> str:
        from app.db.session import transaction
        from app.db.tables import User

        with transaction(self.engine) as session:
            user = session.get(User, uuid.UUID(str(user_id)))
            if user is None:
                raise LookupError(f"no user {user_id}")
            return self.auth.issue_tokens(user).access_token


@contextmanager
def operator(settings: Settings) -> Iterator[Operator]:
    op = Operator(settings)
    try:
        yield op
    finally:
        op.close()


def ok(response: httpx.Response, status: int = 201) -> Any:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.request.url.path}: {response.status_code} "
                           f"{response.text[:300]}")  # fmt: skip
    return response.json() if response.content else None


def _relative(path: Path) -> str:
    return str(path.relative_to(faces_root()))


def seed(
    host: str, settings: Settings, schools: int, classes: int, students: int, out: Path, workers: int = 4
) -> Manifest:
    """Create ``schools`` schools of ``classes`` classes of ``students`` enrolled students each (plus the
    clip people); bursts go under ``out``'s folder."""
    per_school = classes * students + SPARE_PER_SCHOOL
    clips = clip_people()
    people = roster(per_school)  # the same LFW people in every school: galleries are per school
    run = uuid.uuid4().hex[:6]
    seeded = []
    with operator(settings) as op, ThreadPoolExecutor(workers) as pool:
        for s in range(schools):
            school_id, admin_token = op.school_with_admin(f"Load-test school {run}-{s}")
            with httpx.Client(
                base_url=host, headers={"Authorization": f"Bearer {admin_token}"}, timeout=120
            ) as c:
                school = SeededSchool(school_id, admin_token)
                # The kiosks here send recorded clips, which cannot reflect the colour sequence a challenge
                # chooses at capture time: the school's colour layer goes off (docs/COLOUR_CHALLENGE.md).
                ok(c.patch(f"/v1/schools/{school_id}", json={"colour_challenge": False}), 200)
                # A student per clip person and school (a face is enrolled once per school), in every class.
                clip_ids = [_student(c, f"{run}-{s}-clip-{name}", Person(name, ())) for name in clips]
                if not all(
                    _enroll(c, sid, photos) for sid, photos in zip(clip_ids, clips.values(), strict=True)
                ):
                    raise RuntimeError(
                        "a liveness clip person could not be enrolled: live check-ins would fail"
                    )
                for k in range(classes):
                    group = people[k * students : (k + 1) * students]
                    school.classes.append(_seed_class(c, op, pool, f"{run}-{s}-{k}", group, clip_ids))
                for person in people[classes * students :]:
                    student = _student(c, f"{run}-{s}-spare-{person.name}", person)
                    school.spare.append((student, [_relative(p) for p in person.enrollment]))
            seeded.append(school)
    live = {action: _write_burst(out.parent / "bursts" / action, action, settings) for action in ACTIONS}
    unknown = [_relative(p) for p in strangers(STRANGERS)]
    return Manifest(host, str(faces_root()), datetime.now(UTC).isoformat(), seeded, unknown, live)


def _write_burst(folder: Path, action: str, settings: Settings) -> list[str]:
    from models.eval.clips import challenge_burst

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, frame in enumerate(challenge_burst(action, frames=settings.burst_default_frames)):
        path = folder / f"{i:02d}.jpg"
        path.write_bytes(frame)
        paths.append(str(path))
    return paths


def _student(client: httpx.Client, number: str, person: Person) -> str:
    first, _, last = person.name.replace("_", " ").partition(" ")
    body = {"student_number": number[:64], "first_name": first[:100], "last_name": (last or first)[:100]}
    student = ok(client.post("/v1/students", json=body))["id"]
    ok(
        client.post(
            f"/v1/students/{student}/consents", json={"granted_by_name": "Guardian", "relation": "guardian"}
        )
    )
    return student


def _enroll(client: httpx.Client, student: str, photos: list[bytes]) -> bool:
    """True when enrolled; False when the quality check kept fewer than three photos, or the face matches a
    student already enrolled in the school (real outcomes: that student stays on the roster, unenrolled, and
    the kiosk is not sent their face)."""
    files = [("photos", (f"{i}.jpg", data, "image/jpeg")) for i, data in enumerate(photos)]
    response = client.post(f"/v1/students/{student}/enrollment", files=files)
    refused = {(422, "enrollment_rejected"), (409, "face_already_enrolled")}
    if (
        response.status_code in (409, 422)
        and (response.status_code, response.json()["error"]["code"]) in refused
    ):
        return False
    ok(response)
    return True


def _seed_class(
    client: httpx.Client,
    op: Operator,
    pool: ThreadPoolExecutor,
    code: str,
    group: list[Person],
    clip_ids: list[str],
) -> SeededClass:
    room = f"R{code}"
    teacher = ok(client.post("/v1/users", json={
        "email": f"teacher-{code}@loadtest.example.org", "full_name": f"Teacher {code}", "role": "teacher",
        "password": secrets.token_urlsafe(16),
    }))  # fmt: skip
    klass = ok(client.post("/v1/classes", json={"code": code, "name": f"Class {code}", "room": room,
                                                "teacher_id": teacher["id"]}))  # fmt: skip
    start = datetime.now(UTC) - timedelta(minutes=5)
    times = {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=8)).isoformat()}
    lesson = ok(client.post(f"/v1/classes/{klass['id']}/lessons", json={**times, "grace_minutes": 30}))
    kiosk = ok(client.post("/v1/kiosks", json={"room": room, "name": f"Door {room}"}))
    ids = list(pool.map(lambda p: _student(client, f"{code}-{p.name}", p), group))
    for student in ids + clip_ids:
        ok(client.put(f"/v1/classes/{klass['id']}/members/{student}"), 204)
    photos = [[p.read_bytes() for p in person.enrollment] for person in group]
    enrolled = list(pool.map(lambda pair: _enroll(client, *pair), zip(ids, photos, strict=True)))
    students = [
        (sid, [_relative(p) for p in person.probes])
        for sid, person, done in zip(ids, group, enrolled, strict=False)
        if done
    ]
    console.print(
        f"class {code}: {len(students)} of {len(group)} LFW students enrolled (+{len(clip_ids)} clip)"
    )
    return SeededClass(klass["id"], room, lesson["id"], op.token(teacher["id"]), kiosk["api_key"], students)


def main(
    host: Annotated[str, typer.Option(help="Rollcall's base URL")] = "http://127.0.0.1:8000",
    schools: Annotated[int, typer.Option(min=1)] = 2,
    classes: Annotated[int, typer.Option(min=1, help="classes per school")] = 4,
    students: Annotated[int, typer.Option(min=1, help="enrolled students per class")] = 40,
    out: Annotated[Path, typer.Option(help="manifest to write")] = DEFAULT_MANIFEST,
    allow_remote: Annotated[bool, typer.Option(help="allow a host other than 127.0.0.1")] = False,
) -> None:
    check_host(host, allow_remote)
    manifest = seed(host, Settings(), schools, classes, students, out)
    console.print(f"[green]seeded[/green] {schools} schools x {classes} classes x {students} students: "
                  f"{manifest.write(out)}")  # fmt: skip


if __name__ == "__main__":
    typer.run(main)
