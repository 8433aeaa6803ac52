"""Every page against WCAG 2.1 AA, in a real browser against the real Serve app: axe-core (the npm package,
from web/node_modules, never a CDN) injected into each page, none of its serious or critical violations
allowed; the console on a 390x844 phone never scrolls sideways (its tables scroll inside their box); the kiosk
at 1024x768 and 390x844 keeps its button and its result in view. Screenshots and the axe report land in the
artifacts folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.conftest import REPO_ROOT, require
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

AXE = REPO_ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
#: True when the element itself (not something drawn over it) is what is at its own centre.
COVERS_ITS_CENTRE = """(card) => {
  const r = card.getBoundingClientRect();
  return card.contains(document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2));
}"""
TABLET, PHONE = (1024, 768), (390, 844)


def axe_violations(page: Page) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA violations of the page as it is now, serious and critical ones only."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "(tags) => axe.run(document, { runOnly: { type: 'tag', values: tags } })", WCAG_21_AA
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [node["target"] for node in v["nodes"][:5]],
        }
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


def settled(page: Page) -> None:
    """The page has its heading and nothing left loading."""
    expect(page.locator("h1").first).to_be_visible()
    expect(page.get_by_text("Loading…")).to_have_count(0)


def sideways_overflow(page: Page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


def in_view(page: Page, locator: Locator) -> bool:
    """Wholly inside the viewport, without scrolling."""
    box = locator.bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None
    return (
        box["y"] >= 0
        and box["x"] >= 0
        and box["y"] + box["height"] <= viewport["height"] + 0.5
        and box["x"] + box["width"] <= viewport["width"] + 0.5
    )


def write_report(artifacts: Path, found: dict[str, list[dict]]) -> None:
    report = {page: {"serious_or_critical": len(v), "violations": v} for page, v in found.items()}
    (artifacts / "axe-report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print("axe serious/critical violations per page:", {page: len(v) for page, v in found.items()})


def test_every_page_passes_axe_and_the_console_fits_a_phone(
    playwright_driver, browser_school: BrowserSchool, cameras: Cameras, artifacts
) -> None:
    require(AXE.is_file(), f"no axe-core at {AXE} (npm ci in web/)")
    _, student, key = kiosk_room(browser_school, "Ada Axe")
    assert student is not None
    issued = browser_school.api.post(
        f"/v1/lessons/{student['lesson_id']}/codes", json={"student_id": student["id"]}
    )
    assert issued.status_code in (200, 201), issued.text
    console = {
        "classes": "/console/classes",
        "class": f"/console/classes/{student['class_id']}",
        "lesson": f"/console/lessons/{student['lesson_id']}",
        "students": "/console/students",
        "student": f"/console/students/{student['id']}",
        "reports": "/console/reports",
        "kiosks": "/console/kiosks",
        "audit": "/console/audit",
        "users": "/console/users",
        "school": "/console/school",
        "notifications": "/console/notifications",
    }
    found: dict[str, list[dict]] = {}
    overflow: dict[str, int] = {}
    base = browser_school.base_url
    with chromium(playwright_driver, artifacts, "axe", cameras.live, bypass_csp=True) as page:
        page.goto(f"{base}/console")
        expect(page.get_by_label("Password")).to_be_visible()
        found["login"] = axe_violations(page)
        page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
        overflow["login"] = sideways_overflow(page)
        page.set_viewport_size({"width": 1280, "height": 900})
        sign_in_as_admin(page, browser_school)
        for name, path in console.items():
            page.goto(base + path)
            settled(page)
            found[name] = axe_violations(page)
            page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
            overflow[name] = sideways_overflow(page)
            found[f"{name}-phone"] = axe_violations(page)
            shot(page, artifacts, f"phone-console-{name}")
            page.set_viewport_size({"width": 1280, "height": 900})

        page.evaluate("() => localStorage.removeItem('rollcall.kioskKey')")
        page.goto(f"{base}/kiosk")
        expect(page.get_by_role("heading", name="Set up this kiosk")).to_be_visible()
        found["kiosk-setup"] = axe_violations(page)
        set_up_kiosk(page, browser_school, key)
        expect(page.locator("main.kiosk")).to_have_attribute("data-phase", "ready")
        found["kiosk"] = axe_violations(page)
        page.get_by_role("button", name="Use a code").click()
        found["kiosk-code-form"] = axe_violations(page)
    write_report(artifacts, found)
    blocking = {page: v for page, v in found.items() if v}
    assert not blocking, f"serious/critical WCAG 2.1 AA violations: {json.dumps(blocking, indent=2)}"
    assert all(px <= 0 for px in overflow.values()), f"pages wider than a 390 px phone: {overflow}"


def test_the_kiosk_keeps_its_button_and_result_in_view_on_a_tablet_and_a_phone(
    playwright_driver, browser_school: BrowserSchool, cameras: Cameras, artifacts
) -> None:
    _, _, key = kiosk_room(browser_school)
    with chromium(playwright_driver, artifacts, "kiosk-sizes", cameras.live, viewport=TABLET) as page:
        set_up_kiosk(page, browser_school, key)
        kiosk = page.locator("main.kiosk")
        for width, height in (TABLET, PHONE):
            page.set_viewport_size({"width": width, "height": height})
            expect(kiosk).to_have_attribute("data-phase", "ready", timeout=30_000)  # the last result gone
            shot(page, artifacts, f"kiosk-{width}x{height}-ready")
            page.get_by_role("button", name="Check in").click()
            expect(kiosk).to_have_attribute("data-phase", "result", timeout=120_000)
            page.screenshot(path=str(artifacts / f"kiosk-{width}x{height}-result.png"))  # the fold
            result = page.locator(".result-region .result")
            button = page.locator("main.kiosk button.huge")  # "Try again" or "Check in"
            assert in_view(page, result), f"{width}x{height}: the result is out of view"
            assert in_view(page, button), f"{width}x{height}: the button is below the fold"
            assert sideways_overflow(page) <= 0


def test_a_code_check_in_without_a_camera_shows_its_result_in_view(
    playwright_driver, browser_school: BrowserSchool, artifacts
) -> None:
    _, student, key = kiosk_room(browser_school, "Cody Nocam")
    assert student is not None
    with chromium(playwright_driver, artifacts, "kiosk-code-sizes", None, viewport=TABLET) as page:
        set_up_kiosk(page, browser_school, key)
        expect(page.locator("main.kiosk")).to_have_attribute("data-phase", "no_camera")
        for width, height in (TABLET, PHONE):
            page.set_viewport_size({"width": width, "height": height})
            code = browser_school.api.post(
                f"/v1/lessons/{student['lesson_id']}/codes", json={"student_id": student["id"]}
            ).json()["code"]
            page.get_by_label("Code from your teacher").fill(code)
            page.get_by_role("button", name="Check in with code").click()
            result = page.locator(".result-region .result")
            expect(result).to_be_visible()
            page.screenshot(path=str(artifacts / f"kiosk-code-{width}x{height}-result.png"))
            assert in_view(page, result), f"{width}x{height}: the code's result is out of view"
            # Nothing on top of it (the camera's error card was): the card itself is what is at its centre.
            on_top = result.evaluate(COVERS_ITS_CENTRE)
            assert on_top, f"{width}x{height}: something covers the code's result"
            expect(page.get_by_text("Camera unavailable")).to_be_visible()
            expect(result).to_have_count(0, timeout=15_000)  # gone after a while, ready for the next
