// The burst's plan: how many frames and how far apart, how long the kiosk waits for the turn, the screen
// colours that light the face meanwhile, and the form that carries the frames with their times.
// Pure functions of the challenge, so every case is tested without a camera.

import type { Challenge, ColourChallenge } from "../api/types";

/** A frame of the burst and when it was grabbed: milliseconds from the start of the capture (colour slot 0). */
export interface Frame {
  blob: Blob;
  timeMs: number;
}

/** The burst bounds a challenge offers; an older server gives no ``default``. */
export type OfferedFrames = Omit<Challenge["frames"], "default"> & { default?: number };

/** How many frames to take and how far apart: enough to cover ~1.5 s of the movement, within the server's bounds.
 * What the kiosk sends when the server does not say (``frames.default``). */
export function planBurst(frames: OfferedFrames, spanMs = 1500): { count: number; intervalMs: number } {
  const interval = Math.max(frames.interval_ms, 1);
  const wanted = Math.floor(spanMs / interval) + 1;
  return { count: Math.min(Math.max(wanted, frames.min), frames.max), intervalMs: interval };
}

export interface CapturePlan {
  /** Frames sent (the latest ones), unless the turn is seen sooner: then at least ``min``. */
  count: number;
  /** The fewest frames sent: the server's minimum or, with colours, as many as the sequence lights. */
  min: number;
  max: number;
  intervalMs: number;
  /** How long the kiosk waits for the turn before it sends the latest frames anyway. */
  waitMs: number;
}

/** Long enough for a slow turn; the server decides on what it gets. */
export const TURN_WAIT_MS = 3000;

export function planCapture(challenge: Omit<Challenge, "frames"> & { frames: OfferedFrames }): CapturePlan {
  const { frames, colours } = challenge;
  const { count: planned, intervalMs } = planBurst(frames);
  const count = Math.min(Math.max(frames.default ?? planned, frames.min), frames.max);
  // Past the colour sequence the face is no longer lit as the server expects, so the wait ends with it; and
  // the server judges the light over the frames, so a burst sent early still spans what the default one would.
  const lit = colours ? colours.slot_ms * colours.sequence.length : Infinity;
  const min = colours ? Math.max(frames.min, Math.min(count, Math.floor(lit / intervalMs) + 1)) : frames.min;
  const waitMs = Math.max(Math.min(TURN_WAIT_MS, lit), (min - 1) * intervalMs);
  return { count, min, max: frames.max, intervalMs, waitMs };
}

/** The colour the screen shows ``elapsedMs`` after the capture started; null before and after the sequence. */
export function colourAt(colours: ColourChallenge | null | undefined, elapsedMs: number): string | null {
  if (!colours || colours.slot_ms <= 0 || elapsedMs < 0) return null;
  return colours.sequence[Math.floor(elapsedMs / colours.slot_ms)] ?? null;
}

/** The check-in upload: the nonce, the frames in order and, for each, its ``frame_times_ms`` (whole ms). */
export function checkinForm(nonce: string, frames: Frame[]): FormData {
  const form = new FormData();
  form.append("nonce", nonce);
  frames.forEach((frame, i) => form.append("frames", frame.blob, `frame-${i}.jpg`));
  frames.forEach((frame) => form.append("frame_times_ms", String(Math.max(0, Math.round(frame.timeMs)))));
  return form;
}
