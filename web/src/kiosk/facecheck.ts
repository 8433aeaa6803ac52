// What the kiosk reads from the browser landmark model before and during the burst: is the face in the guide,
// big enough and frontal, and has the head turned the asked way. Pure geometry, so it is tested without a model.
// Every point is in the unmirrored camera picture (what is sent), in pixels.

import type { Challenge } from "../api/types";
import type { MessageKey } from "../i18n";

export interface Point {
  x: number;
  y: number;
}

export interface FaceSample {
  box: { x: number; y: number; width: number; height: number };
  /** Eye centres: the one on the picture's left (the student's right eye) and the one on its right. */
  leftEye: Point;
  rightEye: Point;
  noseTip: Point;
}

/** The guide ellipse drawn over the preview, in picture pixels (the preview shows the whole picture). */
export interface Guide {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
}

export function guideEllipse(width: number, height: number): Guide {
  return { cx: width / 2, cy: 0.48 * height, rx: Math.min(0.27 * height, 0.45 * width), ry: 0.36 * height };
}

const mean = (points: Point[]): Point => ({
  x: points.reduce((sum, p) => sum + p.x, 0) / points.length,
  y: points.reduce((sum, p) => sum + p.y, 0) / points.length,
});

/** A sample from the 68-point (iBUG) layout: eyes are points 36-41 and 42-47, the nose tip is 30. */
export function sampleFrom68(points: Point[], box: FaceSample["box"]): FaceSample {
  const nose = points[30];
  return { box, leftEye: mean(points.slice(36, 42)), rightEye: mean(points.slice(42, 48)), noseTip: { x: nose.x, y: nose.y } };
}

function interOcular(face: FaceSample): number {
  return Math.hypot(face.rightEye.x - face.leftEye.x, face.rightEye.y - face.leftEye.y);
}

/** The nose tip's offset from the eyes' midpoint along the eye line, in inter-ocular distances: +x is the
 * picture's right, as in models/liveness/geometry.py. About 0.55·sin(yaw) for a real head. */
export function noseOffset(face: FaceSample): number {
  const iod = Math.max(interOcular(face), 1e-6);
  const ux = (face.rightEye.x - face.leftEye.x) / iod;
  const uy = (face.rightEye.y - face.leftEye.y) / iod;
  const mx = (face.leftEye.x + face.rightEye.x) / 2;
  const my = (face.leftEye.y + face.rightEye.y) / 2;
  return ((face.noseTip.x - mx) * ux + (face.noseTip.y - my) * uy) / iod;
}

/** Limits of a face ready for the burst. Generous: the server decides; these only save a wasted try. */
const POSITION = {
  /** Inter-ocular distance as a fraction of the picture's shorter side (server's minimum face is ~40 px). */
  minIod: 0.1,
  maxIod: 0.42,
  /** Face centre's distance from the guide's centre, in guide radii. */
  maxOffCentre: 0.5,
  /** |noseOffset| of a roughly frontal face (about 20° of yaw). */
  maxFrontalOffset: 0.2,
};

/** ``prompt``: what to tell the student, as a message key (i18n/). */
export type Position = { ready: true } | { ready: false; prompt: MessageKey };

export function assessPosition(face: FaceSample | null, width: number, height: number): Position {
  if (!face) return { ready: false, prompt: "prompt.look" };
  const iod = interOcular(face) / Math.min(width, height);
  if (iod < POSITION.minIod) return { ready: false, prompt: "prompt.closer" };
  if (iod > POSITION.maxIod) return { ready: false, prompt: "prompt.back" };
  const guide = guideEllipse(width, height);
  const centre = mean([face.leftEye, face.rightEye, face.noseTip]);
  if (Math.hypot((centre.x - guide.cx) / guide.rx, (centre.y - guide.cy) / guide.ry) > POSITION.maxOffCentre) {
    return { ready: false, prompt: "prompt.centre" };
  }
  if (Math.abs(noseOffset(face)) > POSITION.maxFrontalOffset) return { ready: false, prompt: "prompt.straight" };
  return { ready: true };
}

/** The student's own left moves the nose to the picture's right (+x): models/liveness/challenge.py DIRECTION. */
export const DIRECTION: Record<Challenge["action"], number> = { turn_left: 1, turn_right: -1 };

/** The largest move of the nose in ``direction`` between any earlier and any later sample (the server's
 * ``directed_turn``): a turn anywhere in the sequence counts, wherever the head started. */
export function directedTurn(offsets: number[], direction: number): number {
  let lowest = Infinity;
  let best = 0;
  for (const offset of offsets) {
    const value = offset * direction;
    best = Math.max(best, value - lowest);
    lowest = Math.min(lowest, value);
  }
  return best;
}

/** How far toward ``direction`` of frontal (offset 0) the nose got in any sample (the server's ``side_reach``):
 * a head coming back to frontal from the other side moves the asked way too, but has not turned that way. */
export function sideReach(offsets: number[], direction: number): number {
  return Math.max(0, ...offsets.map((offset) => offset * direction));
}

/** The turn the kiosk waits for, in noseOffset units of the browser model, which measures about 0.63 of the
 * server's nose parallax (same frames of a real turn): 0.05 here is ~0.08 there, above its 0.065, and the
 * reach 0.03 is ~0.05, its minimum. Far above this model's jitter on a still face (about 0.013), so a burst
 * sent early is one the server will most likely pass. */
export const MIN_TURN = 0.05;
const MIN_REACH = 0.03;

export function turnSeen(offsets: number[], action: Challenge["action"]): boolean {
  const direction = DIRECTION[action];
  return directedTurn(offsets, direction) >= MIN_TURN && sideReach(offsets, direction) >= MIN_REACH;
}
