import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { reloadLocale } from "../i18n";
import { KioskPage } from "./KioskPage";

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

function server(routes: Record<string, (init: RequestInit) => Response>) {
  const fetch = vi.fn(async (url: string, init: RequestInit) => {
    const route = routes[`${init.method ?? "GET"} ${url}`];
    return route ? route(init) : json(404, { error: { code: "not_found", message: "Not Found" } });
  });
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

const identity = { kiosk_id: "k", school_id: "s", room: "A1", liveness: true };

beforeEach(() => localStorage.setItem("rollcall.kioskKey", "rk_test"));
afterEach(() => vi.unstubAllGlobals());

describe("KioskPage", () => {
  it("asks for a kiosk key when none is set up", () => {
    localStorage.clear();
    render(<KioskPage />);
    expect(screen.getByRole("heading", { name: "Set up this kiosk" })).toBeTruthy();
  });

  it("explains a refused camera and checks in with a teacher's code instead", async () => {
    const fetch = server({
      "GET /v1/kiosks/me": () => json(200, identity),
      "POST /v1/checkins/code": () =>
        json(200, {
          mode: "code",
          faces: [{ outcome: "recorded", student: { id: "1", display_name: "Noor" }, status: "present", confidence: null }],
          liveness: { checked: false, passed: false, score: null },
          recorded: 1,
          unknown: 0,
          replayed: false,
        }),
    });
    vi.stubGlobal("navigator", {
      ...navigator,
      mediaDevices: { getUserMedia: vi.fn(async () => Promise.reject(new DOMException("denied", "NotAllowedError"))) },
    });
    render(<KioskPage />);
    expect(await screen.findByText("Camera unavailable")).toBeTruthy();
    expect(screen.getByText(/Camera access was refused/)).toBeTruthy();

    await userEvent.type(screen.getByLabelText("Code from your teacher"), "ABCD-2345");
    await userEvent.click(screen.getByRole("button", { name: "Check in with code" }));
    expect(await screen.findByText("Welcome, Noor")).toBeTruthy();
    const sent = fetch.mock.calls.find(([url]) => url === "/v1/checkins/code")!;
    expect((sent[1].headers as Record<string, string>)["X-API-Key"]).toBe("rk_test");
    expect(sent[1].body).toBe('{"code":"ABCD-2345"}');
  });

  it("says on screen when the school has switched liveness checks off", async () => {
    server({ "GET /v1/kiosks/me": () => json(200, { ...identity, liveness: false }) });
    vi.stubGlobal("navigator", {
      ...navigator,
      mediaDevices: { getUserMedia: vi.fn(async () => Promise.reject(new DOMException("denied", "NotAllowedError"))) },
    });
    render(<KioskPage />);
    expect((await screen.findByTestId("liveness-off")).textContent).toContain("Liveness checks are off");
  });

  it("forgets a revoked key and asks for a new one", async () => {
    server({ "GET /v1/kiosks/me": () => json(401, { error: { code: "invalid_api_key", message: "bad key" } }) });
    render(<KioskPage />);
    expect(await screen.findByText(/refused \(revoked or mistyped\)/)).toBeTruthy();
    expect(localStorage.getItem("rollcall.kioskKey")).toBeNull();
  });

  it("says it is offline, in the kiosk's language, and offers no check-in while the network is gone", async () => {
    localStorage.setItem("rollcall.locale", "fr");
    reloadLocale();
    const fetch = server({ "GET /v1/kiosks/me": () => json(200, identity) });
    vi.spyOn(navigator, "onLine", "get").mockReturnValue(false);
    render(<KioskPage />);
    expect((await screen.findByTestId("kiosk-offline")).textContent).toContain("Hors ligne");
    expect(screen.queryByRole("button", { name: "Pointer" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Check in" })).toBeNull();
    expect(document.documentElement.lang).toBe("fr");
    vi.spyOn(navigator, "onLine", "get").mockReturnValue(true);
    window.dispatchEvent(new Event("online")); // the network is back: the kiosk carries on by itself
    await waitFor(() => expect(screen.queryByTestId("kiosk-offline")).toBeNull());
    expect(fetch).toHaveBeenCalled();
    vi.restoreAllMocks();
  });

  it("keeps trying an unreachable server with feedback rather than a blank screen", async () => {
    const fetch = vi.fn(async () => Promise.reject(new TypeError("Failed to fetch")));
    vi.stubGlobal("fetch", fetch);
    render(<KioskPage />);
    expect(screen.getByRole("status").textContent).toMatch(/Starting the kiosk/);
    // The browser says it is online, yet no server answers: offline from the first failure, not the last.
    expect(await screen.findByTestId("kiosk-offline")).toBeTruthy();
    expect(fetch).toHaveBeenCalledTimes(1);
    await waitFor(() => expect(fetch.mock.calls.length).toBeGreaterThan(1), { timeout: 4000 });
  });
});
