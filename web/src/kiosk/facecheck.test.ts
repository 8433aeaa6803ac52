import { describe, expect, it } from "vitest";
import { t } from "../i18n";
import { face } from "../test/faces";
import {
  assessPosition,
  directedTurn,
  guideEllipse,
  MIN_TURN,
  noseOffset,
  sampleFrom68,
  sideReach,
  turnSeen,
  type FaceSample,
} from "./facecheck";

describe("noseOffset", () => {
  it("is + when the nose points to the picture's right, in inter-ocular distances, whatever the roll", () => {
    expect(noseOffset(face(0))).toBeCloseTo(0);
    expect(noseOffset(face(0.1))).toBeCloseTo(0.1);
    expect(noseOffset(face(-0.12, { iod: 60 }))).toBeCloseTo(-0.12);
    expect(noseOffset(face(0.1, { roll: 0.3 }))).toBeCloseTo(0.1);
  });
});

describe("sampleFrom68", () => {
  it("takes the eye centres from points 36-41 and 42-47 and the nose tip from point 30", () => {
    const points = Array.from({ length: 68 }, (_, i) => ({ x: i, y: 2 * i }));
    const sample = sampleFrom68(points, { x: 0, y: 0, width: 1, height: 1 });
    expect(sample.leftEye).toEqual({ x: 38.5, y: 77 });
    expect(sample.rightEye).toEqual({ x: 44.5, y: 89 });
    expect(sample.noseTip).toEqual({ x: 30, y: 60 });
  });
});

describe("assessPosition", () => {
  it("is ready for a big enough, centred, frontal face", () => {
    expect(assessPosition(face(0.05), 640, 480)).toEqual({ ready: true });
  });

  it("says what to do otherwise", () => {
    const prompt = (sample: FaceSample | null) => {
      const position = assessPosition(sample, 640, 480);
      return position.ready ? "ready" : t(position.prompt);
    };
    expect(prompt(null)).toBe("Look at the camera");
    expect(prompt(face(0, { iod: 30 }))).toBe("Move closer");
    expect(prompt(face(0, { iod: 260 }))).toBe("Move back a little");
    expect(prompt(face(0, { cx: 120 }))).toBe("Centre your face in the oval");
    expect(prompt(face(0, { cy: 60 }))).toBe("Centre your face in the oval");
    expect(prompt(face(0.3))).toBe("Look straight at the screen");
  });

  it("measures against the guide drawn over the preview", () => {
    const guide = guideEllipse(640, 480);
    expect(guide.cx).toBe(320);
    expect(guide.cy).toBeCloseTo(230.4);
    expect(guide.rx).toBeCloseTo(129.6);
    expect(guide.ry).toBeCloseTo(172.8);
    expect(guideEllipse(480, 640).rx).toBeLessThanOrEqual(0.45 * 480); // a portrait camera
  });
});

describe("directedTurn", () => {
  it("is the largest rise in the direction asked, from any earlier to any later sample", () => {
    expect(directedTurn([0, 0.02, 0.1, 0.05], 1)).toBeCloseTo(0.1);
    expect(directedTurn([0.05, -0.05, 0.03], 1)).toBeCloseTo(0.08); // started turned the other way
    expect(directedTurn([0.1, 0.05, 0], 1)).toBe(0); // only the other way
    expect(directedTurn([0.1, 0.05, 0], -1)).toBeCloseTo(0.1);
    expect(directedTurn([0.3], 1)).toBe(0);
  });
});

describe("sideReach", () => {
  it("is how far past frontal the nose got on the asked side", () => {
    expect(sideReach([-0.1, 0, 0.04], 1)).toBeCloseTo(0.04);
    expect(sideReach([-0.1, -0.02], 1)).toBe(0);
    expect(sideReach([-0.1, -0.02], -1)).toBeCloseTo(0.1);
  });
});

describe("turnSeen", () => {
  it("follows the server's DIRECTION: the student's left moves the nose to the picture's right", () => {
    const rising = [0, 0.03, 0.07];
    expect(turnSeen(rising, "turn_left")).toBe(true);
    expect(turnSeen(rising, "turn_right")).toBe(false);
    expect(turnSeen(rising.map((v) => -v), "turn_right")).toBe(true);
  });

  it("wants the head on the asked side, not only back to frontal from the other one", () => {
    expect(turnSeen([-0.1, -0.04, 0.01], "turn_left")).toBe(false); // moved 0.11 the asked way, reached 0.01
    expect(turnSeen([-0.1, -0.04, 0.04], "turn_left")).toBe(true);
  });

  it("does not take the model's jitter on a still face for a turn", () => {
    expect(turnSeen([-0.045, -0.056, -0.04, -0.045, -0.056], "turn_left")).toBe(false);
    expect(turnSeen([0.02, 0.02 + MIN_TURN - 0.001], "turn_left")).toBe(false);
  });
});
