// The check-in flow with the camera module replaced (jsdom has no camera): what the kiosk sends and shows.
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("./camera", () => ({
  openCamera: vi.fn(async () => ({ getTracks: () => [] })),
  stopCamera: vi.fn(),
  grabFrame: vi.fn(async () => new Blob(["jpeg"], { type: "image/jpeg" })),
  captureBurst: vi.fn(async (_video: unknown, count: number) =>
    Array.from({ length: count }, () => new Blob(["jpeg"], { type: "image/jpeg" })),
  ),
}));

import { KioskPage } from "./KioskPage";

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
const welcome = {
  mode: "identify",
  faces: [{ outcome: "recorded", student: { id: "1", display_name: "Kim" }, status: "late", confidence: 0.9 }],
  liveness: { checked: true, passed: true, score: 0.8 },
  recorded: 1,
  unknown: 0,
  replayed: false,
};
const challenge = {
  nonce: "n-1",
  action: "turn_left",
  instruction: "Turn your head slowly to your left",
  expires_in_s: 30,
  frames: { min: 5, max: 16, interval_ms: 120 },
};

function serve(answers: Record<string, Response[]>) {
  const fetch = vi.fn(async (url: string, init: RequestInit) => {
    if (url === "/v1/kiosks/me") return json(200, { kiosk_id: "k", school_id: "s", room: "A1" });
    const queue = answers[`${init.method} ${url}`];
    return queue?.shift() ?? json(500, { error: { code: "internal_error", message: "unexpected call" } });
  });
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

const sent = (fetch: ReturnType<typeof serve>) => {
  const call = fetch.mock.calls.filter(([url, init]) => url === "/v1/checkins" && init.method === "POST").at(-1)!;
  return { form: call[1].body as FormData, headers: call[1].headers as Record<string, string> };
};

beforeEach(() => localStorage.setItem("rollcall.kioskKey", "rk_test"));
afterEach(() => vi.unstubAllGlobals());

describe("a check-in at the kiosk", () => {
  it("shows the challenge, sends the burst with its nonce, and greets the student", async () => {
    const fetch = serve({ "POST /v1/checkins/challenge": [json(201, challenge)], "POST /v1/checkins": [json(200, welcome)] });
    render(<KioskPage />);
    await userEvent.click(await screen.findByRole("button", { name: "Check in" }));
    expect(await screen.findByText("Turn your head slowly to your left")).toBeTruthy();
    expect(await screen.findByText("Welcome, Kim", {}, { timeout: 4000 })).toBeTruthy();
    expect(screen.getByText("Checked in: Late")).toBeTruthy();
    const { form, headers } = sent(fetch);
    expect(form.get("nonce")).toBe("n-1");
    expect(form.getAll("frames")).toHaveLength(13); // ~1.5 s at 120 ms, within 5..16
    expect(headers["Idempotency-Key"]).toBeTruthy();
    expect(headers["X-API-Key"]).toBe("rk_test");
  });

  it("sends one frame when the operator switched liveness off", async () => {
    const fetch = serve({
      "POST /v1/checkins/challenge": [json(409, { error: { code: "liveness_off", message: "off" } })],
      "POST /v1/checkins": [json(200, welcome)],
    });
    render(<KioskPage />);
    await userEvent.click(await screen.findByRole("button", { name: "Check in" }));
    expect(await screen.findByText("Welcome, Kim")).toBeTruthy();
    const { form } = sent(fetch);
    expect(form.get("frame")).toBeTruthy();
    expect(form.get("nonce")).toBeNull();
  });

  it("retries an upload the server could not take, with the same attempt id, and says so meanwhile", async () => {
    const unavailable = json(503, { error: { code: "database_unavailable", message: "down" } });
    const fetch = serve({ "POST /v1/checkins/challenge": [json(201, challenge)], "POST /v1/checkins": [unavailable, json(200, welcome)] });
    render(<KioskPage />);
    await userEvent.click(await screen.findByRole("button", { name: "Check in" }));
    expect(await screen.findByText(/Connection problem, retrying \(2 of 3\)/, {}, { timeout: 4000 })).toBeTruthy();
    expect(await screen.findByText("Welcome, Kim", {}, { timeout: 8000 })).toBeTruthy();
    const uploads = fetch.mock.calls.filter(([url]) => url === "/v1/checkins");
    expect(uploads).toHaveLength(2);
    const ids = uploads.map(([, init]) => (init.headers as Record<string, string>)["Idempotency-Key"]);
    expect(ids[0]).toBe(ids[1]);
  });

  it("shows why the liveness check failed and offers another try", async () => {
    serve({
      "POST /v1/checkins/challenge": [json(201, challenge)],
      "POST /v1/checkins": [
        json(422, { error: { code: "liveness_failed", message: "x", details: { reasons: ["wrong_direction"], hints: ["Turn the other way"] } } }),
      ],
    });
    render(<KioskPage />);
    await userEvent.click(await screen.findByRole("button", { name: "Check in" }));
    expect(await screen.findByText("Turn the other way.", {}, { timeout: 4000 })).toBeTruthy();
    expect(screen.getByRole("button", { name: "Try again" })).toBeTruthy();
  });
});
