"""Browser tests: Debian's Chromium, driven by Playwright, against the real Serve app with the web build
served at "/", its camera fed from real face clips (Chromium's fake capture device reads a .y4m file).

They live under tests/integration so they share that session's one Ray Serve app (``serve_app``): a second
app in the same process would wait forever on the one-Ray-per-machine lock. Each test run gets its own school
(created in-process, as ``python -m app.bootstrap`` would), so faces and rooms never clash with other tests.

Needs: ``chromium`` (apt; ``$ROLLCALL_CHROMIUM`` overrides /usr/bin/chromium) and the web build (``npm ci &&
npm run build`` in web/; scripts/test.sh does both). Missing, they skip here and fail under CI.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import httpx
import numpy as np
import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import REPO_ROOT, require

CHROMIUM = Path(os.environ.get("ROLLCALL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium")
WEB_DIST = REPO_ROOT / "web" / "dist"
#: Headless, no network of its own (no update checks, sync, QUIC), a fresh profile per launch (Playwright's).
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Enough photos for an enrollment (3-5) taken from the fake camera's own clip: the same person it shows.
ENROLL_PHOTOS = 5


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots of every step (and of any failure): ``$ROLLCALL_ARTIFACTS``, else artifacts/ here."""
    path = Path(os.environ.get("ROLLCALL_ARTIFACTS") or Path(__file__).parent / "artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[object]:
    """Module-scoped: Playwright's sync API keeps an asyncio loop running on this thread while it lives, and
    later tests in the same process call ``asyncio.run``."""
    require(CHROMIUM.is_file(), f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    require((WEB_DIST / "index.html").is_file(), "the web app is not built (bash web/build.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@dataclass(frozen=True)
class Cameras:
    """Fake-camera files: a live head turning (answers the challenge), and a still photo of the same face."""

    live: Path
    still: Path
    enroll_photos: list[bytes]


def write_camera(path: Path, cycle: list[np.ndarray], seconds: float, fps: int = 25) -> Path:
    """A .y4m for Chromium's fake camera: ``cycle``'s frames (BGR) over and over for ``seconds``."""
    height, width = cycle[0].shape[:2]
    planes = [cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes() for frame in cycle]
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(int(seconds * fps)):
            out.write(b"FRAME\n" + planes[i % len(planes)])
    return path


#: The live camera's head turns from this far to one side of frontal to this far to the other (degrees of the
#: evaluation's reference yaw, ``models.eval.recorded``): a clear turn, as a student makes when asked, so a
#: burst sees the turn and its 3-D texture whichever side the challenge asks for. (The generated clips turn
#: barely 6 degrees, which the texture check passes only some of the time: a real student would turn again.)
SWEEP_REACH_DEG = 15.0
#: The longest sweep used, in frames at 25 fps: a burst of about a second covers it there and back.
SWEEP_FRAMES = 20
#: Frames the head stays turned at each end: a student who turns and holds it a moment.
HOLD_FRAMES = 6


def turning_sweep() -> list[np.ndarray]:
    """The shortest stretch of a real phone clip (``tests.real_liveness.LIVE_CLIP``), a face in every frame,
    in which the head crosses frontal by ``SWEEP_REACH_DEG`` each way."""
    from tests.real_liveness import LIVE_CLIP, recording

    clip = recording(LIVE_CLIP)
    yaw = clip.reference_yaw
    best: tuple[int, int] | None = None
    for a in np.flatnonzero(np.abs(np.nan_to_num(yaw)) >= SWEEP_REACH_DEG):
        side = np.sign(yaw[a])
        for b in range(a + 1, min(len(yaw), a + SWEEP_FRAMES)):
            if np.isnan(yaw[b]):
                break
            if -side * yaw[b] >= SWEEP_REACH_DEG:
                if best is None or b - a < best[1] - best[0]:
                    best = (int(a), b)
                break
    assert best is not None, f"{LIVE_CLIP} does not turn {SWEEP_REACH_DEG} degrees each way in {SWEEP_FRAMES}"
    return clip.frames[best[0] : best[1] + 1]


def write_turning_camera(path: Path, sweep: list[np.ndarray], seconds: float = 8.0) -> Path:
    """``sweep`` forward and back, each end held ``HOLD_FRAMES``, looped: whichever turn the challenge asks
    for starts within about a second of the press, and goes past frontal."""
    cycle = sweep + [sweep[-1]] * HOLD_FRAMES + sweep[-2:0:-1] + [sweep[0]] * HOLD_FRAMES
    return write_camera(path, cycle, seconds)


@pytest.fixture(scope="session")
def cameras(tmp_path_factory: pytest.TempPathFactory, faces_dir: Path) -> Cameras:
    folder = tmp_path_factory.mktemp("cameras")
    from tests.real_liveness import LIVE_CLIP, recording, stills

    sweep = turning_sweep()
    live = write_turning_camera(folder / "live.y4m", sweep)
    # Enrollment photos of the same person: the clip's most frontal frames, spread over all of it.
    photos = stills(recording(LIVE_CLIP), ENROLL_PHOTOS)
    # A still photo of the same face: what a printed picture held up to the kiosk looks like to it.
    still = write_camera(folder / "still.y4m", [sweep[len(sweep) // 2]], seconds=4)
    return Cameras(live, still, photos)


@dataclass
class BrowserSchool:
    """A school of its own with an admin (no MFA yet: the UI enrols it) and an API client as that admin."""

    id: str
    name: str
    admin_email: str
    admin_password: str
    api: httpx.Client
    base_url: str
    #: The admin's TOTP secret once the first sign-in enrolled it (the browser modules share the school),
    #: and the last code used, never sent twice.
    totp_secret: str | None = None
    last_totp: str | None = None

    def totp_code(self) -> str:
        assert self.totp_secret is not None
        totp = pyotp.TOTP(self.totp_secret)
        while (code := totp.now()) == self.last_totp:
            time.sleep(1)
        self.last_totp = code
        return code


@pytest.fixture(scope="package")
def browser_school(serve_app) -> Iterator[BrowserSchool]:
    """Liveness checks on (the app's default, which the integration suite switches off) for the browser
    tests, without the colour challenge: Chromium's fake camera plays a clip, which cannot reflect the screen.
    Package-scoped: one redeploy for all the browser modules, each a slow restart of the replicas."""
    from app.container import build_container
    from app.core.enums import Role
    from app.db.session import transaction
    from app.db.tables import School, User

    settings = serve_app.redeploy({}, {"liveness_mode": "challenge"})
    tag = uuid.uuid4().hex[:8]
    name, email = f"Browser School {tag}", f"admin-{tag}@browser.example.org"
    password = secrets.token_urlsafe(16)
    container = build_container(settings)  # the replicas' settings: their audit keys
    assert container.engine is not None and container.security is not None
    try:
        auth = container.security.auth
        with transaction(container.engine) as session:
            school = School(name=name, timezone="UTC")
            session.add(school)
            session.flush()
            admin = User(
                school_id=school.id, email=email, full_name="Browser Admin", role=Role.admin,
                password_hash=auth.hash_password(password, email),
            )  # fmt: skip
            session.add(admin)
        token = auth.issue_tokens(admin).access_token
        school_id = str(school.id)
    finally:
        container.close()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=serve_app.base_url, headers=headers, timeout=120) as api:
        updated = api.patch(f"/v1/schools/{school_id}", json={"colour_challenge": False})
        assert updated.status_code == 200, updated.text
        assert updated.json()["colour_challenge"] is False
        yield BrowserSchool(school_id, name, email, password, api, serve_app.base_url)
    serve_app.redeploy({})


@contextlib.contextmanager
def chromium(
    driver,
    artifacts: Path,
    name: str,
    camera: Path | None,
    *,
    viewport: tuple[int, int] = (1280, 900),
    locale: str = "en-GB",
    bypass_csp: bool = False,
) -> Iterator[Page]:
    """A fresh Chromium (its own profile) whose camera shows ``camera``; None: a machine without a camera.
    ``locale`` is the browser's language (navigator.languages); ``bypass_csp`` lets a test inject a script
    of its own (axe-core) under the pages' script-src 'self'. A failing step leaves ``<name>-failure.png``."""
    args = list(CHROMIUM_ARGS)
    if camera is not None:
        args += [
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={camera}",
        ]
    browser = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
    width, height = viewport
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale=locale, bypass_csp=bypass_csp
    )
    page = context.new_page()
    page.set_default_timeout(90_000)
    try:
        yield page
    except BaseException:
        with contextlib.suppress(Exception):
            page.screenshot(path=str(artifacts / f"{name}-failure.png"), full_page=True)
        raise
    finally:
        context.close()
        browser.close()


def shot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def submit_password(page: Page, base_url: str, email: str, password: str) -> None:
    """The console's sign-in form, filled and sent: a teacher is in; an admin is asked for a code next."""
    page.goto(f"{base_url}/console")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_in_as_admin(page: Page, school: BrowserSchool) -> None:
    """Sign in as the school's admin: the first time enrolling TOTP (an admin without MFA enrols it first),
    later with a code from the secret enrolled then."""
    submit_password(page, school.base_url, school.admin_email, school.admin_password)
    if school.totp_secret is None:
        school.totp_secret = page.get_by_test_id("totp-secret").inner_text()
        page.get_by_label("Code from your authenticator app").fill(school.totp_code())
        page.get_by_role("button", name="Turn on two-factor and sign in").click()
    else:
        page.get_by_label("Code from your authenticator app").fill(school.totp_code())
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Classes")).to_be_visible()


def add_staff(page: Page, name: str, email: str, password: str) -> None:
    """An admin adds a teacher on the Staff page, with a first password, and sees it done."""
    page.get_by_role("link", name="Staff").click()
    form = page.get_by_role("form", name="Add a teacher or an admin")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Email").fill(email)
    form.get_by_label("First password").fill(password)
    form.get_by_role("button", name="Create").click()
    expect(form.get_by_text(f"{name} can sign in now.")).to_be_visible()


def kiosk_room(school: BrowserSchool, student_name: str | None = None) -> tuple[str, dict | None, str]:
    """A class in a new room with an open lesson and a kiosk key (and one student, without consent)."""
    room = f"R{uuid.uuid4().hex[:6]}"
    klass = school.api.post("/v1/classes", json={"code": room, "name": "Kiosk class", "room": room}).json()
    start = datetime.now(UTC) - timedelta(minutes=2)
    lesson = school.api.post(
        f"/v1/classes/{klass['id']}/lessons",
        json={"starts_at": start.isoformat(), "ends_at": (start + timedelta(minutes=45)).isoformat()},
    ).json()
    student = None
    if student_name:
        first, last = student_name.split()
        body = {"student_number": f"N{uuid.uuid4().hex[:6]}", "first_name": first, "last_name": last}
        student = school.api.post("/v1/students", json=body).json()
        school.api.put(f"/v1/classes/{klass['id']}/members/{student['id']}").raise_for_status()
        student["lesson_id"] = lesson["id"]
        student["class_id"] = klass["id"]
    key = school.api.post("/v1/kiosks", json={"room": room, "name": "Door"}).json()["api_key"]
    return room, student, key


def set_up_kiosk(page: Page, school: BrowserSchool, key: str) -> None:
    page.goto(f"{school.base_url}/kiosk")
    page.get_by_label("Kiosk key").fill(key)
    page.get_by_role("button", name="Save and start").click()
