import { describe, expect, it, vi } from "vitest";
import type { CapturePlan } from "./burst";
import { awaitPosition, captureTurn, type Detect } from "./capture";
import { t } from "../i18n";
import { face } from "../test/faces";

const plan: CapturePlan = { count: 13, min: 5, max: 16, intervalMs: 15, waitMs: 600 };

/** Fake camera: each grab is numbered, and its JPEG is that number plus one bytes long (jsdom's Blob cannot be read). */
function camera() {
  let taken = 0;
  return {
    grab: vi.fn(() => {
      const index = taken++;
      return { source: index, width: 640, height: 480, blob: Promise.resolve(new Blob(["x".repeat(index + 1)])) };
    }),
  };
}

const numbers = (frames: { blob: Blob }[]) => frames.map((frame) => frame.blob.size - 1);

describe("captureTurn", () => {
  it("sends the latest frames as soon as the asked turn is seen, with the frames before it", async () => {
    const { grab } = camera();
    // The head turns left from the 6th picture on: the nose moves to the picture's right.
    const detect: Detect<number> = async (index) => face(index >= 6 ? 0.12 : 0);
    const t0 = performance.now();
    const burst = await captureTurn({ plan, action: "turn_left", t0, grab, detect });
    expect(burst.turnSeen).toBe(true);
    const sent = numbers(burst.frames);
    expect(sent[0]).toBe(0);
    expect(sent.length).toBeGreaterThanOrEqual(7);
    expect(sent.length).toBeLessThan(plan.count);
    expect(sent).toEqual(sent.map((_, i) => i));
    expect(performance.now() - t0).toBeLessThan(plan.waitMs);
  });

  it("never sends fewer than the server's minimum, even when the turn is seen at once", async () => {
    const { grab } = camera();
    const detect: Detect<number> = async (index) => face(index >= 1 ? 0.15 : 0);
    const burst = await captureTurn({ plan, action: "turn_left", t0: performance.now(), grab, detect });
    expect(burst.frames.length).toBe(plan.min);
  });

  it("waits out the other way and sends the latest frames at the deadline: the server decides", async () => {
    const { grab } = camera();
    const detect: Detect<number> = async (index) => face(index * 0.01); // turning left...
    const t0 = performance.now();
    const burst = await captureTurn({ plan, action: "turn_right", t0, grab, detect }); // ...asked right
    expect(burst.turnSeen).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(plan.waitMs);
    expect(burst.frames).toHaveLength(plan.count);
    expect(burst.frames.at(-1)!.timeMs).toBeGreaterThanOrEqual(plan.waitMs - 2 * plan.intervalMs);
  });

  it("is the timed burst without a model: count frames, interval apart, timed from t0", async () => {
    const { grab } = camera();
    const t0 = performance.now();
    const burst = await captureTurn({ plan, action: "turn_left", t0, grab, detect: null });
    expect(burst.turnSeen).toBe(false);
    expect(numbers(burst.frames)).toEqual([...Array(plan.count).keys()]);
    burst.frames.forEach((frame, i) => expect(frame.timeMs).toBeGreaterThanOrEqual(i * plan.intervalMs - 2)); // timers fire ±1 ms
  });

  it("finishes as a timed burst when the model fails", async () => {
    const { grab } = camera();
    const detect = vi.fn(async () => Promise.reject(new Error("model crashed")));
    const burst = await captureTurn({ plan, action: "turn_left", t0: performance.now(), grab, detect });
    expect(burst.frames).toHaveLength(plan.count);
    expect(detect).toHaveBeenCalledTimes(1);
  });

  it("looks at the latest frame only, skipping frames while the model is busy, without stretching the interval", async () => {
    const { grab } = camera();
    const slow = vi.fn(() => new Promise<null>((resolve) => setTimeout(() => resolve(null), 4 * plan.intervalMs)));
    const t0 = performance.now();
    const burst = await captureTurn({ plan: { ...plan, waitMs: 300 }, action: "turn_left", t0, grab, detect: slow });
    expect(slow.mock.calls.length).toBeLessThan(grab.mock.calls.length / 2);
    const times = burst.frames.map((frame) => frame.timeMs);
    // Each frame is due at t0 + i·interval, whatever the model does meanwhile.
    const first = Math.round(times[0] / plan.intervalMs);
    times.forEach((time, i) => expect(time).toBeGreaterThanOrEqual((first + i) * plan.intervalMs - 2));
  });

  it("counts only a turn within the frames it would send: a slow drift is not one", async () => {
    const { grab } = camera();
    // 0.01 a frame: 0.04 across 5 frames, enough only across more frames than are sent.
    const detect: Detect<number> = async (index) => face(index * 0.01);
    const burst = await captureTurn({ plan: { ...plan, count: 5, waitMs: 300 }, action: "turn_left", t0: performance.now(), grab, detect });
    expect(burst.turnSeen).toBe(false);
    expect(burst.frames).toHaveLength(5);
  });
});

describe("awaitPosition", () => {
  it("prompts until the face is ready", async () => {
    const faces = [null, face(0, { iod: 30 }), face(0)];
    const prompts: (string | null)[] = [];
    const detect = vi.fn(async () => faces.shift() ?? null);
    const ready = await awaitPosition(() => ({ source: 0, width: 640, height: 480 }), detect, (p) => prompts.push(p && t(p)), 5000);
    expect(ready).toBe(true);
    expect(prompts).toEqual(["Look at the camera", "Move closer", null]);
  });

  it("gives up after its time, or when the model fails, so the burst goes ahead", async () => {
    const away = await awaitPosition(() => ({ source: 0, width: 640, height: 480 }), async () => null, () => {}, 250);
    expect(away).toBe(false);
    const broken = await awaitPosition(() => ({ source: 0, width: 640, height: 480 }), () => Promise.reject(new Error("x")), () => {}, 5000);
    expect(broken).toBe(false);
  });
});
