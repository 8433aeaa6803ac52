import { describe, expect, it } from "vitest";
import type { Challenge } from "../api/types";
import { checkinForm, colourAt, type OfferedFrames, planBurst, planCapture, TURN_WAIT_MS } from "./burst";

type Offered = Omit<Challenge, "frames"> & { frames: OfferedFrames };

const challenge = (over: Partial<Offered> = {}): Offered => ({
  nonce: "n",
  action: "turn_left",
  instruction: "Turn your head slowly to your left",
  expires_in_s: 30,
  frames: { min: 5, max: 16, interval_ms: 120, default: 13 },
  colours: null,
  ...over,
});

describe("planBurst", () => {
  it("covers about 1.5 s within the server's bounds", () => {
    expect(planBurst({ min: 5, max: 16, interval_ms: 120 })).toEqual({ count: 13, intervalMs: 120 });
    expect(planBurst({ min: 5, max: 8, interval_ms: 120 }).count).toBe(8);
    expect(planBurst({ min: 10, max: 16, interval_ms: 500 }).count).toBe(10);
  });
});

describe("planCapture", () => {
  it("sends the server's default count, within its bounds", () => {
    expect(planCapture(challenge())).toEqual({ count: 13, min: 5, max: 16, intervalMs: 120, waitMs: TURN_WAIT_MS });
    expect(planCapture(challenge({ frames: { min: 5, max: 8, interval_ms: 120, default: 13 } })).count).toBe(8);
  });

  it("falls back to planBurst for a server that gives no default", () => {
    expect(planCapture(challenge({ frames: { min: 5, max: 16, interval_ms: 100 } })).count).toBe(16);
  });

  it("waits for the turn no longer than the colour sequence lasts, but long enough for the fewest frames", () => {
    const colours = { sequence: ["#ff3030", "#30ff30", "#3030ff", "#ffffff"], slot_ms: 300 };
    expect(planCapture(challenge({ colours })).waitMs).toBe(1200);
    expect(planCapture(challenge({ colours: { ...colours, slot_ms: 50 } })).waitMs).toBe(4 * 120);
  });

  it("with colours, sends early only as many frames as the default burst would have lit", () => {
    const colours = { sequence: Array(12).fill("#ff3030"), slot_ms: 200 };
    expect(planCapture(challenge({ colours }))).toMatchObject({ count: 13, min: 13, waitMs: 2400 });
    expect(planCapture(challenge({ colours: { ...colours, sequence: Array(4).fill("#ffffff"), slot_ms: 300 } })).min).toBe(11);
    expect(planCapture(challenge()).min).toBe(5); // no colours: the server's minimum
  });
});

describe("colourAt", () => {
  const colours = { sequence: ["#ff3030", "#30ff30", "#3030ff"], slot_ms: 250 };

  it("shows each colour for its slot from t=0, then none", () => {
    expect(colourAt(colours, 0)).toBe("#ff3030");
    expect(colourAt(colours, 249.9)).toBe("#ff3030");
    expect(colourAt(colours, 250)).toBe("#30ff30");
    expect(colourAt(colours, 700)).toBe("#3030ff");
    expect(colourAt(colours, 750)).toBeNull();
    expect(colourAt(colours, -1)).toBeNull();
  });

  it("shows nothing without a colour challenge", () => {
    expect(colourAt(null, 10)).toBeNull();
    expect(colourAt(undefined, 10)).toBeNull();
  });
});

describe("checkinForm", () => {
  it("sends the nonce, the frames in order, and each frame's whole-millisecond time in the same order", () => {
    const frames = [0.4, 121.6, 239.5].map((timeMs, i) => ({ blob: new Blob([`jpeg-${i}`], { type: "image/jpeg" }), timeMs }));
    const form = checkinForm("n-1", frames);
    expect(form.get("nonce")).toBe("n-1");
    const sent = form.getAll("frames") as File[];
    expect(sent.map((file) => file.name)).toEqual(["frame-0.jpg", "frame-1.jpg", "frame-2.jpg"]);
    expect(form.getAll("frame_times_ms")).toEqual(["0", "122", "240"]);
  });
});
