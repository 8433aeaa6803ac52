"""The installable app and its languages, in a real browser against the real Serve app: the manifest and its
icons load and parse, the service worker takes over and keeps the app shell (never an API answer), so a
kiosk restarted without a network opens its page and says it is offline; the UI speaks the browser's
language, switches from its menu, and keeps the choice.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.integration.browser.conftest import BrowserSchool, chromium, kiosk_room, set_up_kiosk, shot

pytestmark = pytest.mark.timeout(600)

#: The manifest the page links to, fetched and parsed by the page, each icon fetched too.
READ_MANIFEST = """async () => {
  const href = document.querySelector("link[rel=manifest]").href;
  const response = await fetch(href);
  const manifest = await response.json();
  const icons = await Promise.all(manifest.icons.map(async (icon) => {
    const got = await fetch(icon.src);
    return { ...icon, status: got.status, type_served: got.headers.get("content-type") };
  }));
  return { status: response.status, manifest, icons };
}"""

#: What the service worker keeps: every URL in its caches.
CACHED_URLS = """async () => {
  const urls = [];
  for (const name of await caches.keys()) {
    for (const request of await (await caches.open(name)).keys()) urls.push(new URL(request.url).pathname);
  }
  return urls;
}"""


def test_the_app_installs_and_a_kiosk_restarted_offline_says_so(
    playwright_driver, browser_school: BrowserSchool, artifacts
) -> None:
    _, _, key = kiosk_room(browser_school)
    with chromium(playwright_driver, artifacts, "pwa", None, viewport=(1024, 768)) as page:
        set_up_kiosk(page, browser_school, key)
        kiosk = page.locator("main.kiosk")
        expect(kiosk).to_have_attribute("data-phase", "no_camera")

        read = page.evaluate(READ_MANIFEST)
        assert read["status"] == 200
        manifest = read["manifest"]
        assert manifest["display"] == "standalone" and manifest["start_url"] == "/kiosk"
        assert manifest["name"] == "Rollcall" and manifest["theme_color"].startswith("#")
        icons = {(icon["sizes"], icon["purpose"]): icon for icon in read["icons"]}
        assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= set(icons)
        for icon in read["icons"]:
            assert icon["status"] == 200 and icon["type_served"] == icon["type"], icon
        favicon = page.evaluate("() => document.querySelector('link[rel=icon]').href")
        assert favicon.endswith("/favicon.svg")

        script = page.evaluate("() => navigator.serviceWorker.ready.then((r) => r.active.scriptURL)")
        assert script.endswith("/sw.js")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        cached = page.evaluate(CACHED_URLS)
        assert "/index.html" in cached and any(url.startswith("/assets/") for url in cached)
        assert not [url for url in cached if url.startswith("/v1/")], cached  # never an API answer

        page.context.set_offline(True)
        response = page.reload()
        assert response is not None and response.from_service_worker
        expect(kiosk).to_have_attribute("data-phase", "offline")
        offline = page.get_by_test_id("kiosk-offline")
        expect(offline).to_contain_text("Offline")
        expect(offline).to_contain_text("nobody can check in")
        expect(page.get_by_role("button", name="Check in")).to_have_count(0)
        shot(page, artifacts, "kiosk-offline")

        page.context.set_offline(False)  # the network is back: the kiosk carries on by itself
        expect(kiosk).to_have_attribute("data-phase", "no_camera", timeout=30_000)


def test_the_ui_speaks_the_browsers_language_and_switches_from_its_menu(
    playwright_driver, browser_school: BrowserSchool, artifacts
) -> None:
    base = browser_school.base_url
    with chromium(playwright_driver, artifacts, "languages", None, locale="fr-FR") as page:
        page.goto(f"{base}/console")
        expect(page.get_by_label("Mot de passe")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        shot(page, artifacts, "login-fr")

        page.get_by_label("Langue").select_option("es")
        expect(page.get_by_label("Contraseña")).to_be_visible()
        expect(page.get_by_role("button", name="Iniciar sesión")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "es")

        page.goto(f"{base}/kiosk")  # the choice is kept, on every page
        expect(page.get_by_role("heading", name="Configurar este quiosco")).to_be_visible()
        page.get_by_label("Idioma").select_option("en")
        expect(page.get_by_role("heading", name="Set up this kiosk")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "en")
