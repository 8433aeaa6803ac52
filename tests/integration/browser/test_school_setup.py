"""A new school set up end to end as its people would, against the real Serve app in Debian's
Chromium: the installation's operator adds the school and its first admin with ``python -m app.tenants`` (a
real process, with the database's credentials); the admin signs in (enrolling TOTP), adds a teacher, creates
a class for them and imports the roster from a CSV file (a bad file first: every problem reported, nothing
imported); the teacher signs in and finds the class with its students, and nothing of the other schools. The
operator then deletes the school and gets the receipt."""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.sync_api import expect

from tests.integration.browser.conftest import (
    BrowserSchool,
    add_staff,
    chromium,
    shot,
    sign_in_as_admin,
    submit_password,
)
from tests.integration.operator_cli import operator_json

pytestmark = pytest.mark.timeout(900)

ROSTER_HEADER = "student_number,first_name,last_name,display_name,birth_date,guardian_email,class_codes\n"


OPERATOR_PASSWORD = "the first admin's long password"


def operator(serve_app, *args: str) -> dict:
    """``python -m app.tenants ARGS --json`` with the app's own settings (its database, Redis, Milvus and
    secrets), a new admin's password from the environment."""
    env = {"ROLLCALL_BOOTSTRAP_PASSWORD": OPERATOR_PASSWORD}
    return operator_json("app.tenants", serve_app.settings, *args, env=env)


def test_an_operator_sets_up_a_second_school_and_its_teacher_sees_the_class(
    playwright_driver, serve_app, browser_school: BrowserSchool, artifacts
) -> None:
    tag = uuid.uuid4().hex[:6]
    name, admin_email = f"Lakeside {tag}", f"head-{tag}@lakeside.example.org"
    created = operator(
        serve_app, "create", "--school", name, "--email", admin_email,
        "--timezone", "Europe/Paris", "--full-name", "Hana Head",
    )  # fmt: skip
    school_id = str(created["school_id"])
    teacher_email, teacher_password = f"teacher-{tag}@lakeside.example.org", "a long first password for Theo"
    klass = f"7B{tag}"
    with httpx.Client(base_url=serve_app.base_url, timeout=120) as api:
        school = BrowserSchool(school_id, name, admin_email, OPERATOR_PASSWORD, api, serve_app.base_url)
        with chromium(playwright_driver, artifacts, "setup-admin", None) as page:
            sign_in_as_admin(page, school)

            add_staff(page, "Theo Teacher", teacher_email, teacher_password)

            page.get_by_role("link", name="Classes").click()
            new_class = page.get_by_role("form", name="New class")
            new_class.get_by_label("Code").fill(klass)
            new_class.get_by_label("Name").fill("Year 7 B")
            new_class.get_by_label("Teacher").select_option(label="Theo Teacher")
            new_class.get_by_role("button", name="Create class").click()
            row = page.get_by_role("row").filter(has_text=klass)
            expect(row).to_contain_text("Theo Teacher")

            page.get_by_role("link", name="Students").click()
            upload = page.get_by_role("form", name="Import students from CSV")
            bad = (
                ROSTER_HEADER
                + f"L{tag}1,Lena,Lake,,,,{klass}\n"
                + f"L{tag}1,Lena,Again,,,,{klass}\n"  # the same number twice
                + f"L{tag}3,Omar,Oak,,,,NO-SUCH-CLASS\n"
            )
            upload.get_by_label("CSV file").set_input_files(
                files=[{"name": "roster.csv", "mimeType": "text/csv", "buffer": bad.encode()}]
            )
            upload.get_by_role("button", name="Import", exact=True).click()
            refused = page.get_by_role("alert")
            expect(refused).to_contain_text("Nothing was imported.")
            problems = page.get_by_role("table", name="Problems in the file")
            expect(problems.get_by_role("row")).to_have_count(3)  # the header, line 3 and line 4
            expect(problems).to_contain_text("NO-SUCH-CLASS")
            shot(page, artifacts, "setup-import-rejected")

            good = (
                ROSTER_HEADER
                + f"L{tag}1,Lena,Lake,,2012-03-04,lena.parent@example.org,{klass}\n"
                + f"L{tag}2,Omar,Oak,,2012-05-06,,{klass}\n"
                + f"L{tag}3,Pia,Pine,Pia P.,,,\n"
            )
            upload.get_by_label("CSV file").set_input_files(
                files=[{"name": "roster.csv", "mimeType": "text/csv", "buffer": good.encode()}]
            )
            upload.get_by_role("button", name="Check file").click()
            expect(page.get_by_role("status").filter(has_text="3 row(s) checked")).to_be_visible()
            upload.get_by_role("button", name="Import", exact=True).click()
            done = page.get_by_role("status").filter(has_text="3 student(s) imported")
            expect(done).to_contain_text("2 class membership(s) added")
            expect(page.get_by_role("table", name="Students")).to_contain_text("Pia P.")
            shot(page, artifacts, "setup-imported")

        with chromium(playwright_driver, artifacts, "setup-teacher", None) as page:
            submit_password(page, serve_app.base_url, teacher_email, teacher_password)
            expect(page.get_by_role("heading", name="Classes")).to_be_visible()  # no code asked of a teacher
            classes = page.get_by_role("table", name="Classes")
            expect(classes.get_by_role("row")).to_have_count(2)  # the header and the one class
            classes.get_by_role("link", name=klass).click()
            members = page.get_by_role("list").filter(has_text="Lena Lake")
            expect(members).to_contain_text("Omar Oak")
            expect(members).not_to_contain_text("Pia P.")
            shot(page, artifacts, "setup-teacher-class")

        # The other school's admin sees none of it.
        others = browser_school.api.get("/v1/students", params={"q": f"L{tag}"}).json()
        assert others["total"] == 0

    receipt = operator(serve_app, "delete", school_id, "--confirm", name)
    assert receipt["school_id"] == school_id
