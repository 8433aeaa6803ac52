// The check-in flow with the camera and the landmark model replaced (jsdom has neither): what the kiosk sends
// and shows.
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { face } from "../test/faces";
import type { FaceSample } from "./facecheck";

/** Each grab is numbered; the model fake below reads the number to say where the nose is. */
let grabs = 0;
const picture = () => ({ source: grabs++, width: 640, height: 480 });
vi.mock("./camera", () => ({
  openCamera: vi.fn(async () => ({ getTracks: () => [] })),
  stopCamera: vi.fn(),
  grabFrame: vi.fn(async () => new Blob(["jpeg"], { type: "image/jpeg" })),
  look: vi.fn(() => picture()),
  grab: vi.fn(() => ({ ...picture(), blob: Promise.resolve(new Blob(["jpeg"], { type: "image/jpeg" })) })),
}));

/** The model the kiosk gets: none (a timed burst), unless a test gives it one. */
let model: ((index: number) => FaceSample | null) | null = null;
vi.mock("./landmarks", () => ({
  loadLandmarker: vi.fn(async () => {
    if (!model) throw new Error("no model in this test");
    const see = model;
    return { backend: "fake", detect: async (index: number) => see(index), close: () => {} };
  }),
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
  frames: { min: 5, max: 16, interval_ms: 120, default: 13 },
  colours: null,
};

function serve(answers: Record<string, Response[]>) {
  const fetch = vi.fn(async (url: string, init: RequestInit) => {
    if (url === "/v1/kiosks/me") return json(200, { kiosk_id: "k", school_id: "s", room: "A1", liveness: true });
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

beforeEach(() => {
  localStorage.setItem("rollcall.kioskKey", "rk_test");
  vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  model = null;
});

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
    expect(form.getAll("frames")).toHaveLength(13); // the server's default; no model, so a timed burst
    const times = form.getAll("frame_times_ms").map(Number);
    expect(times).toHaveLength(13);
    times.forEach((time, i) => expect(time).toBeGreaterThanOrEqual(i * 120 - 2));
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

  it("with the model: places the face first, then sends as soon as the student has turned", async () => {
    let placed = false;
    let turnsAt = Infinity;
    model = (index) => {
      if (!placed) return face(0, { iod: 40 }); // too far away until the prompt is followed
      return face(index >= turnsAt ? 0.12 : 0);
    };
    const fetch = serve({ "POST /v1/checkins/challenge": [json(201, challenge)], "POST /v1/checkins": [json(200, welcome)] });
    render(<KioskPage />);
    expect(await screen.findByText("Move closer")).toBeTruthy(); // while it waits, before the press
    await userEvent.click(screen.getByRole("button", { name: "Check in" }));
    expect(await screen.findByText("Move closer")).toBeTruthy();
    placed = true;
    expect(await screen.findByText("Turn your head slowly to your left", {}, { timeout: 2000 })).toBeTruthy();
    const started = performance.now();
    turnsAt = grabs + 3;
    expect(await screen.findByText("Welcome, Kim", {}, { timeout: 4000 })).toBeTruthy();
    expect(performance.now() - started).toBeLessThan(1500); // not the 3 s wait: the turn was seen
    const { form } = sent(fetch);
    const frames = form.getAll("frames");
    expect(frames.length).toBeGreaterThanOrEqual(5);
    expect(frames.length).toBeLessThan(13);
    expect(form.getAll("frame_times_ms")).toHaveLength(frames.length);
  });

  it("shows the guide ready while it waits, once the face is placed", async () => {
    model = () => face(0);
    serve({});
    const { container } = render(<KioskPage />);
    await screen.findByRole("button", { name: "Check in" });
    await waitFor(() => expect(container.querySelector("ellipse.guide-ready")).toBeTruthy());
    expect(container.querySelector(".instruction")).toBeNull(); // nothing to tell
  });

  it("lights the screen with the challenge's colours from the start of the capture, then goes back to normal", async () => {
    const colours = { sequence: ["#ff3030", "#30ff30", "#3030ff"], slot_ms: 200 };
    serve({ "POST /v1/checkins/challenge": [json(201, { ...challenge, colours })], "POST /v1/checkins": [json(200, welcome)] });
    const { container } = render(<KioskPage />);
    await userEvent.click(await screen.findByRole("button", { name: "Check in" }));
    const kiosk = container.querySelector("main.kiosk")!;
    const layer = container.querySelector<HTMLElement>(".colour-layer")!;
    await waitFor(() => expect(kiosk.classList.contains("lit")).toBe(true), { timeout: 3000 });
    expect(["rgb(255, 48, 48)", "rgb(48, 255, 48)"]).toContain(layer.style.backgroundColor);
    expect(screen.getByText("Turn your head slowly to your left")).toBeTruthy(); // still readable on top
    await waitFor(() => expect(layer.style.backgroundColor).toBe("rgb(48, 48, 255)"), { timeout: 3000 });
    await waitFor(() => expect(kiosk.classList.contains("lit")).toBe(false), { timeout: 3000 });
    expect(await screen.findByText("Welcome, Kim", {}, { timeout: 4000 })).toBeTruthy();
  });
});
