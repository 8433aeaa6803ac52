"""Running a class from the console in a real browser against the real Serve app, the school's data checked
through the API afterwards: several students marked at once, a student's history with a record's changes, a
student edited and given a guardian contact, a class renamed, a term of weekly lessons previewed and created
(a holiday skipped), and a student taken out of the class."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.integration.browser.conftest import BrowserSchool, chromium, shot, sign_in_as_admin

pytestmark = pytest.mark.timeout(600)


def next_monday(after: date) -> date:
    return after + timedelta(days=7 - after.weekday())


def test_the_admin_runs_a_class_from_the_console(
    playwright_driver, browser_school: BrowserSchool, artifacts
) -> None:
    api, tag = browser_school.api, uuid.uuid4().hex[:6]
    code = f"A{tag}"
    klass = api.post("/v1/classes", json={"code": code, "name": "Admin class", "room": code}).json()
    students = {}
    for i, first in enumerate(("Bea", "Cal", "Dot")):
        body = {"student_number": f"{code}{i}", "first_name": first, "last_name": "Admin"}
        students[first] = api.post("/v1/students", json=body).json()
        api.put(f"/v1/classes/{klass['id']}/members/{students[first]['id']}").raise_for_status()
    start = datetime.now(UTC) - timedelta(minutes=2)
    lesson = api.post(
        f"/v1/classes/{klass['id']}/lessons",
        json={"starts_at": start.isoformat(), "ends_at": (start + timedelta(minutes=45)).isoformat()},
    ).json()
    # A fortnight of Monday and Wednesday lessons well after today's, the second Wednesday a holiday.
    monday = next_monday(datetime.now(UTC).date() + timedelta(days=28))
    holiday = monday + timedelta(days=9)
    base = browser_school.base_url

    with chromium(playwright_driver, artifacts, "console-admin", None) as page:
        sign_in_as_admin(page, browser_school)

        page.goto(f"{base}/console/lessons/{lesson['id']}")
        page.get_by_label("Select Bea Admin").check()
        page.get_by_label("Select Cal Admin").check()
        marks = page.get_by_role("form", name="Mark selected")
        marks.get_by_label("Status").select_option("absent")
        marks.get_by_label("Reason").fill("school trip to the museum")
        marks.get_by_role("button", name="Mark 2 student(s)").click()
        expect(page.get_by_role("status").filter(has_text="2 student(s) marked")).to_be_visible()
        expect(page.locator("tr[data-student='Cal Admin']")).to_contain_text("absent")
        expect(page.locator("tr[data-student='Dot Admin']")).to_contain_text("pending")
        shot(page, artifacts, "console-admin-bulk")

        page.goto(f"{base}/console/students/{students['Bea']['id']}")
        history = page.get_by_role("table", name="Lessons of the student")
        row = history.get_by_role("row").filter(has_text=code)
        expect(row).to_contain_text("absent")
        row.get_by_role("button", name=re.compile("^Changes to the record")).click()
        expect(page.get_by_role("list", name="Changes")).to_contain_text("school trip to the museum")
        edit = page.get_by_role("form", name="Edit student")
        edit.get_by_label("Display name").fill("Bea B.")
        edit.get_by_role("button", name="Save changes").click()
        expect(page.get_by_text("Changes saved.")).to_be_visible()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Bea B.")
        contacts = page.get_by_role("region", name="Guardian contacts")
        add = contacts.get_by_role("form", name="Add contact")
        add.get_by_label("Name", exact=True).fill("Pat Parent")
        add.get_by_label("Email address").fill("pat.parent@example.org")
        add.get_by_role("button", name="Add contact").click()
        expect(contacts.get_by_text("Pat Parent was added.")).to_be_visible()
        shot(page, artifacts, "console-admin-student")

        page.goto(f"{base}/console/classes/{klass['id']}")
        rename = page.get_by_role("form", name="Edit class")
        rename.get_by_label("Name", exact=True).fill("Admin class, renamed")
        rename.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Admin class, renamed")
        weekly = page.get_by_role("form", name="Weekly lessons")
        weekly.get_by_label("Monday").check()
        weekly.get_by_label("Wednesday").check()
        weekly.get_by_label("Start time").fill("08:15")
        weekly.get_by_label("Duration (min)").fill("50")
        weekly.get_by_label("First day").fill(monday.isoformat())
        weekly.get_by_label("Last day").fill((monday + timedelta(days=13)).isoformat())
        weekly.get_by_label("Holiday", exact=True).fill(holiday.isoformat())
        weekly.get_by_role("button", name="Add", exact=True).click()
        weekly.get_by_role("button", name="Preview").click()
        expect(page.get_by_role("region", name="Planned lessons")).to_contain_text("Planned lessons: 3")
        weekly.get_by_role("button", name="Create lessons").click()
        expect(page.get_by_role("status").filter(has_text="Lessons created: 3")).to_be_visible()
        page.get_by_role("button", name="Remove Dot Admin from the class").click()
        page.get_by_role("dialog").get_by_role("button", name="Remove").click()
        expect(page.get_by_role("link", name="Dot Admin")).to_have_count(0)
        expect(page.get_by_role("link", name="Bea B.")).to_be_visible()
        shot(page, artifacts, "console-admin-class")

    window = {"from": monday.isoformat(), "to": (monday + timedelta(days=13)).isoformat()}
    planned = api.get(f"/v1/classes/{klass['id']}/lessons", params=window).json()["items"]
    starts = sorted(datetime.fromisoformat(item["starts_at"]) for item in planned)
    days = [monday, monday + timedelta(days=2), monday + timedelta(days=7)]  # the holiday skipped
    assert [s.date() for s in starts] == days
    assert {(s.hour, s.minute) for s in starts} == {(8, 15)}  # the school's zone is UTC
    members = api.get(f"/v1/classes/{klass['id']}/members").json()["items"]
    assert sorted(m["display_name"] for m in members) == ["Bea B.", "Cal Admin"]
    guardians = api.get("/v1/notifications/contacts", params={"student_id": students["Bea"]["id"]}).json()
    assert [(c["name"], c["email"], c["topics"]) for c in guardians] == [
        ("Pat Parent", "pat.parent@example.org", ["absence"])
    ]
    marked = api.get(f"/v1/lessons/{lesson['id']}/attendance").json()
    assert sorted(r["status"] for r in marked) == ["absent", "absent"]
