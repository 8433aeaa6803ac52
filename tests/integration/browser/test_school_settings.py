"""The admin's own settings in a real browser against the real Serve app: switching the school's liveness
checks off asks for confirmation and the kiosk at the door says so at once (no restart); staff accounts are
added and given a new password from the console, shown once."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.integration.browser.conftest import (
    BrowserSchool,
    add_staff,
    chromium,
    kiosk_room,
    set_up_kiosk,
    shot,
    sign_in_as_admin,
)

pytestmark = pytest.mark.timeout(600)


def test_the_admin_switches_liveness_off_and_the_kiosk_says_so(
    playwright_driver, browser_school: BrowserSchool, artifacts
) -> None:
    _, _, key = kiosk_room(browser_school)
    try:
        with chromium(playwright_driver, artifacts, "school-settings", None) as page:
            sign_in_as_admin(page, browser_school)
            page.get_by_role("link", name="School").click()
            switch = page.get_by_label("Check liveness")
            expect(switch).to_be_checked()
            switch.click()
            dialog = page.get_by_role("dialog")
            expect(dialog).to_contain_text("printed photo")
            dialog.get_by_role("button", name="Switch off").click()
            expect(page.get_by_text("Saved.")).to_be_visible()
            expect(switch).not_to_be_checked()
            shot(page, artifacts, "school-liveness-off")

            set_up_kiosk(page, browser_school, key)
            expect(page.get_by_test_id("liveness-off")).to_contain_text("Liveness checks are off")
            shot(page, artifacts, "kiosk-liveness-off")
        events = browser_school.api.get("/v1/audit", params={"action": "school.update"}).json()["items"]
        assert events[0]["details"]["liveness"] is False and events[0]["actor_name"] == "Browser Admin"
    finally:  # the school is shared by the browser modules: liveness back on for the others
        restored = browser_school.api.patch(f"/v1/schools/{browser_school.id}", json={"liveness": True})
        assert restored.status_code == 200, restored.text
    with chromium(playwright_driver, artifacts, "school-settings-on", None) as page:
        set_up_kiosk(page, browser_school, key)
        expect(page.locator("main.kiosk")).to_be_visible()
        expect(page.get_by_test_id("liveness-off")).to_have_count(0)


def test_the_admin_adds_a_teacher_and_gives_a_new_password(
    playwright_driver, browser_school: BrowserSchool, artifacts
) -> None:
    email = f"teacher-{uuid.uuid4().hex[:6]}@browser.example.org"
    with chromium(playwright_driver, artifacts, "staff", None) as page:
        sign_in_as_admin(page, browser_school)
        add_staff(page, "Tess Teacher", email, "a long first password for Tess")
        row = page.get_by_role("row").filter(has_text=email)
        expect(row).to_contain_text("teacher")
        row.get_by_role("button", name="New password").click()
        page.get_by_role("dialog").get_by_role("button", name="New password").click()
        password = page.get_by_test_id("temporary-password").inner_text()
        shot(page, artifacts, "staff-new-password")
    assert len(password) >= 16
    signed_in = browser_school.api.post("/v1/auth/login", json={"email": email, "password": password})
    assert signed_in.status_code == 200, signed_in.text
