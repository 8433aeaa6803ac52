"""A person's path through the web app in a real browser, against the real Serve app:

an admin signs in (enrolling TOTP on the way), sets up a class, a lesson, a student and a kiosk, enrolls the
student from photos of the face the kiosk camera shows; the kiosk checks the student in through the liveness
challenge (its face landmark model watching for the turn) and the time from the press to the answer is
measured; the console's live attendance shows them present. A photo held up to the camera is refused with
its reason; a kiosk without a camera says so and checks a student in with a teacher's code.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.integration.browser.conftest import (
    BrowserSchool,
    Cameras,
    chromium,
    kiosk_room,
    set_up_kiosk,
    shot,
    sign_in_as_admin,
)

pytestmark = pytest.mark.timeout(900)


#: Notes, in the page, when the check-in button is pressed, when the result card is shown, and each phase.
WATCH_PRESS = """() => {
  const kiosk = document.querySelector("main.kiosk");
  const watch = (window.__pressToAnswer = { phases: [] });
  const fetch = window.fetch;
  window.fetch = async (url, init) => {
    if (url !== "/v1/checkins" || !(init?.body instanceof FormData)) return fetch(url, init);
    watch.frames = init.body.getAll("frames").length;
    watch.frame_times_ms = init.body.getAll("frame_times_ms").map(Number);
    const response = await fetch(url, init);
    watch.answer = { status: response.status, body: await response.clone().json().catch(() => null) };
    return response;
  };
  document.addEventListener("click", (event) => {
    if (event.target.closest("button")?.textContent === "Check in") watch.pressed = performance.now();
  }, { capture: true, once: true });
  new MutationObserver(() => {
    if (watch.pressed === undefined || watch.answered !== undefined) return;
    const phase = kiosk.dataset.phase;
    const at_ms = Math.round(performance.now() - watch.pressed);
    if (watch.phases.at(-1)?.phase !== phase) watch.phases.push({ phase, at_ms });
    if (kiosk.querySelector(".result-region .result")) watch.answered = performance.now();
  }).observe(kiosk, { attributes: true, childList: true, subtree: true });
}"""


def check_in_timed(page: Page, artifacts) -> None:
    """Press "Check in" as a student would, in front of a kiosk that is up (its face model loaded, or given
    up, and the face seen in the guide), wait for the answer, and write how long it took (press to result
    card) with the phases on the way to ``press-to-answer.json``."""
    kiosk = page.locator("main.kiosk")
    expect(kiosk).not_to_have_attribute("data-face-model", "loading", timeout=60_000)
    if kiosk.get_attribute("data-face-model") != "none":
        expect(page.locator("ellipse.guide-ready")).to_have_count(1, timeout=30_000)
    page.evaluate(WATCH_PRESS)
    page.get_by_role("button", name="Check in").click()
    expect(kiosk).to_have_attribute("data-phase", "result", timeout=120_000)
    watch = page.evaluate("window.__pressToAnswer")
    report = {
        "press_to_answer_ms": round(watch["answered"] - watch["pressed"]),
        "face_model": kiosk.get_attribute("data-face-model"),
        "phases": watch["phases"],
        "frames": watch.get("frames"),
        "frame_times_ms": watch.get("frame_times_ms"),
        "answer": watch.get("answer"),
    }
    (artifacts / "press-to-answer.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"kiosk press-to-answer: {report['press_to_answer_ms']} ms ({json.dumps(report)})")


def test_admin_enrolls_a_student_the_kiosk_checks_in_and_the_console_shows_present(
    playwright_driver, browser_school: BrowserSchool, cameras: Cameras, artifacts
) -> None:
    tag = uuid.uuid4().hex[:6]
    room, student_number = f"B{tag}", f"S{tag}"
    with chromium(playwright_driver, artifacts, "flow", cameras.live) as page:
        sign_in_as_admin(page, browser_school)

        form = page.get_by_role("form", name="New class")
        form.get_by_label("Code").fill(room)
        form.get_by_label("Name").fill("Browser class")
        form.get_by_label("Room").fill(room)
        form.get_by_role("button", name="Create class").click()
        page.get_by_role("link", name=room).click()
        page.get_by_role("form", name="New lesson").get_by_role("button", name="Schedule").click()
        expect(page.get_by_text("open now")).to_be_visible()
        class_url = page.url

        page.get_by_role("link", name="Students", exact=True).click()
        form = page.get_by_role("form", name="New student")
        form.get_by_label("Student number").fill(student_number)
        form.get_by_label("First name").fill("Kim")
        form.get_by_label("Last name").fill("Camera")
        form.get_by_role("button", name="Add student").click()
        expect(page.get_by_role("link", name="Kim Camera")).to_be_visible()

        page.goto(class_url)
        form = page.get_by_role("form", name="Add student to class")
        form.get_by_label("Add student").select_option(label=f"Kim Camera ({student_number})")
        form.get_by_role("button", name="Add").click()
        page.get_by_role("link", name="Kim Camera").click()

        form = page.get_by_role("form", name="Record consent")
        form.get_by_label("Given by (full name)").fill("Pat Camera")
        form.get_by_role("button", name="Record consent").click()
        page.get_by_test_id("enroll-files").set_input_files(
            [
                {"name": f"kim-{i}.jpg", "mimeType": "image/jpeg", "buffer": photo}
                for i, photo in enumerate(cameras.enroll_photos)
            ]
        )
        page.get_by_role("button", name=re.compile(r"Enroll \d photo")).click()
        expect(page.get_by_text(re.compile(r"Enrolled from \d photo"))).to_be_visible()
        expect(page.get_by_test_id("verdict-0")).to_be_visible()  # each photo's verdict is shown
        shot(page, artifacts, "01-enrolled-with-photo-verdicts")

        page.get_by_role("link", name="Kiosks").click()
        form = page.get_by_role("form", name="Issue a kiosk key")
        form.get_by_label("Room").fill(room)
        form.get_by_label("Name").fill("Door tablet")
        form.get_by_role("button", name="Issue key").click()
        expect(page.get_by_test_id("kiosk-key")).to_be_visible()
        page.get_by_role("button", name="Use this device as the kiosk").click()

        kiosk = page.locator("main.kiosk")
        expect(kiosk).to_have_attribute("data-phase", "ready")
        shot(page, artifacts, "02-kiosk-ready")
        check_in_timed(page, artifacts)  # measured, not asserted: the machine is shared
        result = page.get_by_role("status")
        shot(page, artifacts, "03-kiosk-result")
        expect(result).to_contain_text("Welcome, Kim Camera")
        expect(result).to_contain_text("Checked in: Present")

        page.goto(class_url)
        page.locator("a[href^='/console/lessons/']").first.click()  # the lesson scheduled above
        row = page.locator("tr[data-student='Kim Camera']")
        expect(row).to_contain_text("present")
        expect(row).to_contain_text("face")
        expect(page.get_by_test_id("present-count")).to_have_text("1")
        shot(page, artifacts, "04-console-live-attendance")

        page.get_by_role("link", name="Reports").click()
        page.get_by_label("Class", exact=True).select_option(label=f"{room} · Browser class")
        expect(page.get_by_role("table", name="Class report")).to_contain_text("Kim Camera")
        expect(page.get_by_role("img", name=f"{room}: attendance rate per week")).to_be_visible()
        with page.expect_download() as download:
            page.get_by_role("button", name="Export CSV").click()
        exported = download.value.path().read_text(encoding="utf-8")
        assert "Kim Camera" in exported, exported
        shot(page, artifacts, "05-console-reports")

        page.get_by_role("link", name="Audit log").click()
        expect(page.get_by_role("table", name="Audit events")).to_contain_text("enroll")
        page.get_by_role("button", name="Verify the chain").click()
        expect(page.get_by_text(re.compile(r"Intact: \d+ events"))).to_be_visible()
        shot(page, artifacts, "06-console-audit-log")


def test_a_photo_held_up_to_the_kiosk_is_refused_with_its_reason(
    playwright_driver, browser_school: BrowserSchool, cameras: Cameras, artifacts
) -> None:
    _, _, key = kiosk_room(browser_school)
    with chromium(playwright_driver, artifacts, "still-photo", cameras.still) as page:
        set_up_kiosk(page, browser_school, key)
        kiosk = page.locator("main.kiosk")
        expect(kiosk).to_have_attribute("data-phase", "ready")
        page.get_by_role("button", name="Check in").click()
        expect(kiosk).to_have_attribute("data-phase", "result", timeout=120_000)
        result = page.get_by_role("status")
        shot(page, artifacts, "07-kiosk-photo-refused")
        expect(result).to_contain_text("We could not confirm a live face")
        expect(result).to_contain_text("Turn your head")  # the server's hint for a face that did not move


def test_a_kiosk_without_a_camera_says_so_and_takes_a_teachers_code(
    playwright_driver, browser_school: BrowserSchool, artifacts
) -> None:
    _, student, key = kiosk_room(browser_school, "Noor Nocamera")
    assert student is not None
    issued = browser_school.api.post(
        f"/v1/lessons/{student['lesson_id']}/codes", json={"student_id": student["id"]}
    ).json()
    with chromium(playwright_driver, artifacts, "no-camera", camera=None) as page:
        set_up_kiosk(page, browser_school, key)
        kiosk = page.locator("main.kiosk")
        expect(kiosk).to_have_attribute("data-phase", "no_camera")
        expect(page.get_by_text("Camera unavailable")).to_be_visible()
        shot(page, artifacts, "08-kiosk-no-camera")
        page.get_by_label("Code from your teacher").fill(issued["code"])
        page.get_by_role("button", name="Check in with code").click()
        expect(page.get_by_text("Welcome, Noor Nocamera")).to_be_visible()
        shot(page, artifacts, "09-kiosk-code-check-in")
