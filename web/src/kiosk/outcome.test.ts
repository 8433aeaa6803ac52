import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import type { CheckinAnswer, ErrorCode } from "../api/types";
import { describeAnswer, describeCameraError, describeError } from "./outcome";

const answer = (faces: CheckinAnswer["faces"]): CheckinAnswer => ({
  mode: "identify",
  faces,
  liveness: { checked: true, passed: true, score: 0.9 },
  recorded: faces.filter((f) => f.outcome === "recorded").length,
  unknown: faces.filter((f) => f.outcome === "unknown").length,
  replayed: false,
});
const kim = { id: "1", display_name: "Kim Camera" };

describe("describeAnswer", () => {
  it("greets a recorded student with their status", () => {
    const out = describeAnswer(answer([{ outcome: "recorded", student: kim, status: "present", confidence: 0.8 }]));
    expect(out).toMatchObject({ tone: "ok", title: "Welcome, Kim Camera", detail: "Checked in: Present" });
  });

  it("marks a late arrival as a warning", () => {
    const out = describeAnswer(answer([{ outcome: "recorded", student: kim, status: "late", confidence: 0.8 }]));
    expect(out.tone).toBe("warn");
    expect(out.detail).toContain("Late");
  });

  it("tells an unknown face what to do and offers the code", () => {
    const out = describeAnswer(answer([{ outcome: "unknown", student: null, status: null, confidence: 0.1 }]));
    expect(out.tone).toBe("error");
    expect(out.hint).toMatch(/code/);
    expect(out.offerCode).toBe(true);
  });

  it("says when no face was found", () => {
    expect(describeAnswer(answer([])).title).toBe("No face found");
  });

  it("sums up a group", () => {
    const out = describeAnswer(
      answer([
        { outcome: "unknown", student: null, status: null, confidence: 0.1 },
        { outcome: "recorded", student: kim, status: "present", confidence: 0.8 },
      ]),
    );
    expect(out.title).toBe("Welcome, Kim Camera");
    expect(out.detail).toContain("1 of 2 faces");
  });
});

describe("describeError", () => {
  it("puts the liveness reasons in words", () => {
    const err = new ApiError(422, "liveness_failed", "the liveness check failed", {
      reasons: ["no_motion"],
      hints: ["no_motion"],
    });
    const out = describeError(err);
    expect(out.title).toBe("Please try again");
    expect(out.detail).toBe("We could not confirm a live face.");
    expect(out.hint).toBe("Turn your head as shown.");
  });

  it("asks to stay close to the screen for the colour checks, once however many failed", () => {
    const err = new ApiError(422, "liveness_failed", "x", { reasons: ["colour_not_reflected", "colour_timing"], hints: [] });
    expect(describeError(err).hint).toBe("Stay close to the screen while it changes colour.");
    const mismatch = new ApiError(422, "liveness_failed", "x", { reasons: ["colour_mismatch"] });
    expect(describeError(mismatch).hint).toBe("Stay close to the screen while it changes colour.");
  });

  it("asks for a real face when a picture or a screen is suspected", () => {
    for (const reason of ["screen_moire", "screen_border", "screen_glare", "screen_colour_cast", "replay_suspected"]) {
      const out = describeError(new ApiError(422, "liveness_failed", "x", { reasons: [reason], hints: [reason] }));
      expect(out.hint).toBe("Show your own face to the camera, not a picture or a screen.");
    }
  });

  it("gives a generic hint for a reason it does not know, never the code", () => {
    const out = describeError(new ApiError(422, "liveness_failed", "x", { reasons: ["something_new"], hints: ["something_new"] }));
    expect(out.hint).toBe("Look at the camera and follow the instruction on the screen.");
    const both = describeError(new ApiError(422, "liveness_failed", "x", { reasons: ["wrong_direction", "constructor"] }));
    expect(both.hint).toBe("Turn the other way. Look at the camera and follow the instruction on the screen.");
  });

  it("says a quality problem's hint by its reason code, not the server's sentence", () => {
    const err = new ApiError(422, "poor_quality", "x", { reasons: ["blurry"], hints: ["Keep the camera steady"] });
    expect(describeError(err).hint).toBe("Hold still.");
  });

  it("explains a room without a lesson", () => {
    expect(describeError(new ApiError(409, "no_open_lesson", "x")).title).toBe("No lesson is open");
  });

  it("never leaves a network failure unexplained", () => {
    const out = describeError(new ApiError(0, "network_error", "unreachable"));
    expect(out.title).toBe("No connection");
    expect(out.offerCode).toBe(true);
  });

  it("names a code it does not know in a generic message, never the server's English", () => {
    const newer = "something_new" as ErrorCode; // a code a newer server answers with
    expect(describeError(new ApiError(400, newer, "A new rule")).detail).toBe("Something went wrong (code: something_new).");
  });

  it("says a known error code in its own words", () => {
    const out = describeError(new ApiError(409, "student_inactive", "server words"));
    expect(out).toMatchObject({ title: "Check-in failed", detail: "The student is inactive." });
  });
});

describe("describeCameraError", () => {
  it("names a refusal and a missing camera", () => {
    expect(describeCameraError(new DOMException("no", "NotAllowedError"))).toMatch(/refused/);
    expect(describeCameraError(new DOMException("no", "NotFoundError"))).toMatch(/No camera/);
  });
});
