"""Locust scenarios against a running Rollcall: the morning rush at the kiosks, teachers reading reports,
admins enrolling. Reads the manifest ``python -m loadtests.seed`` wrote (``--manifest``).

    locust -f loadtests/locustfile.py --headless --run-time 60s -u 40 -r 10 --host http://127.0.0.1:8000 \
        --csv loadtests/reports/rush --html loadtests/reports/rush.html

Only 127.0.0.1 is loaded unless ``--allow-remote`` (or ROLLCALL_LOADTEST_ALLOW_REMOTE=1) is given.

A kiosk follows the check-in contract: it asks for a challenge, then sends a burst of ``frames.min`` frames
with the nonce; when the server's liveness checks are off (``409 liveness_off``) it sends one frame instead.
Who stands at the kiosk, in these proportions: a student of the room's class (with liveness on, one of the
clip people the seed enrolled, performing the challenge: a real clip turning the asked way; with it off, a
real LFW photo of an enrolled student that the enrollment did not use), a stranger (an LFW person enrolled
nowhere), a student's photo held up to the camera (a presentation attack: refused with 422
``liveness_failed`` when liveness is on), a dropped upload (a cut-off JPEG), a frame with nobody in it. Each
kind has its own expected answers; anything else (a 5xx above all) counts as a failure. Request names group
the statistics by kind.
"""

from __future__ import annotations

import functools
import itertools
import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task
from locust.env import Environment

from loadtests.faces import corrupt_frame, faceless_frame
from loadtests.hosts import check_host
from loadtests.seed import DEFAULT_MANIFEST, Manifest

RNG = random.Random()  # noqa: S311 - who walks up next: a simulation, not a secret
#: Who stands at the kiosk (weights), and the statuses each may be answered with.
VISITORS = {"student": 75, "stranger": 8, "photo": 7, "corrupt": 5, "no face": 5}
EXPECTED = {
    "student": {200},
    "stranger": {200, 422},  # liveness on: a still of a stranger fails the challenge
    "photo": {200, 422},  # liveness on: refused (422 liveness_failed); off: taken as a student's frame
    "corrupt": {400, 415, 422},
    "no face": {200, 422},
}
#: With a challenge (liveness on) every still is refused: a 200 there is a presentation attack let through.
EXPECTED_LIVE = {**EXPECTED, "stranger": {422}, "photo": {422}, "no face": {422}}


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument(
        "--manifest", default=os.environ.get("ROLLCALL_LOADTEST_MANIFEST", str(DEFAULT_MANIFEST))
    )
    parser.add_argument("--allow-remote", action="store_true", default=False, help="load a non-loopback host")


@events.test_start.add_listener
def _check(environment: Environment, **_: Any) -> None:
    check_host(environment.host or "", environment.parsed_options.allow_remote)


@functools.cache
def manifest(path: str) -> Manifest:
    return Manifest.read(Path(path))


@functools.cache
def photo(faces_dir: str, relative: str) -> bytes:
    return (Path(faces_dir) / relative).read_bytes()


class RollcallUser(HttpUser):
    abstract = True
    _counter: Iterator[int] = itertools.count()

    def on_start(self) -> None:
        self.data = manifest(self.environment.parsed_options.manifest)
        self.n = next(RollcallUser._counter)
        self.school = self.data.schools[self.n % len(self.data.schools)]

    def photo(self, relative: str) -> bytes:
        return photo(self.data.faces_dir, relative)

    def expect(
        self, name: str, statuses: set[int], send: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        with send(*args, name=name, catch_response=True, **kwargs) as response:
            if response.status_code not in statuses:
                response.failure(f"{response.status_code}: {response.text[:200]}")
            else:
                response.success()
            return response


class KioskUser(RollcallUser):
    """A kiosk at a classroom door during the morning rush: a student every few seconds."""

    weight = 16
    wait_time = between(1, 4)

    def on_start(self) -> None:
        super().on_start()
        self.klass = self.school.classes[(self.n // len(self.data.schools)) % len(self.school.classes)]
        self.client.headers["X-API-Key"] = self.klass.kiosk_key

    @task
    def check_in(self) -> None:
        kind = RNG.choices(list(VISITORS), weights=list(VISITORS.values()))[0]
        # 201 a challenge; 409 liveness_off: the server takes a single frame instead
        challenge = self.expect("challenge", {201, 409}, self.client.post, "/v1/checkins/challenge", json={})
        expected = EXPECTED
        if challenge.status_code == 201:
            expected = EXPECTED_LIVE
            issued = challenge.json()
            count = issued["frames"]["min"]
            frames = self._frames(kind, count, issued["action"])
            files = [("frames", (f"{i}.jpg", data, "image/jpeg")) for i, data in enumerate(frames)]
            form = {"nonce": issued["nonce"]}
        elif challenge.status_code == 409 and challenge.json()["error"]["code"] == "liveness_off":
            frames = self._frames(kind, 1)
            files, form = [("frame", ("f.jpg", frames[0], "image/jpeg"))], {}
        else:
            return
        self.expect(
            f"checkin: {kind}", expected[kind], self.client.post, "/v1/checkins", data=form, files=files
        )

    def _frames(self, kind: str, count: int, action: str | None = None) -> list[bytes]:
        """What the camera sends: with a challenge (``action``) a student performs it (the seed's real burst
        of a clip person, resampled to ``count``); everything else is a still held in front of it."""
        if kind == "student" and action is not None:
            burst = self.data.live[action]
            return [self.photo(burst[round(i * (len(burst) - 1) / max(count - 1, 1))]) for i in range(count)]
        if kind in ("student", "photo"):
            _, probes = RNG.choice(self.klass.students)
            still = self.photo(RNG.choice(probes))
        elif kind == "stranger":
            still = self.photo(RNG.choice(self.data.strangers))
        elif kind == "corrupt":
            still = corrupt_frame()
        else:
            still = faceless_frame()
        return [still] * count


class TeacherUser(RollcallUser):
    """A teacher glancing at who is in, reading reports, exporting a CSV now and then."""

    weight = 2
    wait_time = between(3, 10)

    def on_start(self) -> None:
        super().on_start()
        self.klass = RNG.choice(self.school.classes)
        self.client.headers["Authorization"] = f"Bearer {self.klass.teacher_token}"

    @task(3)
    def attendance(self) -> None:
        self.expect(
            "lesson attendance", {200}, self.client.get, f"/v1/lessons/{self.klass.lesson_id}/attendance"
        )

    @task(3)
    def lesson_report(self) -> None:
        self.expect("lesson report", {200}, self.client.get, f"/v1/reports/lessons/{self.klass.lesson_id}")

    @task(2)
    def classes(self) -> None:
        self.expect("classes", {200}, self.client.get, "/v1/classes")
        self.expect("class members", {200}, self.client.get, f"/v1/classes/{self.klass.id}/members")

    @task(1)
    def export_csv(self) -> None:
        params = {"format": "csv"}
        self.expect(
            "report csv", {200}, self.client.get, f"/v1/reports/classes/{self.klass.id}", params=params
        )


class AdminUser(RollcallUser):
    """The office enrolling latecomers (three photos each) and looking students up."""

    weight = 1
    wait_time = between(5, 15)

    def on_start(self) -> None:
        super().on_start()
        self.client.headers["Authorization"] = f"Bearer {self.school.admin_token}"

    @task(1)
    def enroll(self) -> None:
        student, photos = RNG.choice(self.school.spare)
        files = [("photos", (Path(p).name, self.photo(p), "image/jpeg")) for p in photos]
        # 201; 503 only if the gallery is down; 422 if a photo is refused (with every photo's reasons)
        self.expect("enroll", {201, 422}, self.client.post, f"/v1/students/{student}/enrollment", files=files)

    @task(2)
    def students(self) -> None:
        self.expect("students", {200}, self.client.get, "/v1/students", params={"limit": 50})
