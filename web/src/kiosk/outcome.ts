// What the kiosk says after a check-in: one large headline, a line of detail and, when it failed, what to do.
// Pure functions of the API's answer or error, so every case is tested without a camera.

import { ApiError } from "../api/client";
import type { CheckinAnswer, CheckinFace } from "../api/types";

export type Tone = "ok" | "warn" | "error";

export interface Outcome {
  tone: Tone;
  title: string;
  detail: string;
  /** What the student should do next; absent on success. */
  hint?: string;
  /** Offer the code fallback on this screen. */
  offerCode?: boolean;
}

const STATUS_WORD: Record<string, string> = { present: "Present", late: "Late", absent: "Absent", excused: "Excused" };

function faceLine(face: CheckinFace): Outcome {
  const name = face.student?.display_name ?? "";
  switch (face.outcome) {
    case "recorded":
      return {
        tone: face.status === "late" ? "warn" : "ok",
        title: `Welcome, ${name}`,
        detail: `Checked in: ${STATUS_WORD[face.status ?? "present"] ?? face.status}`,
      };
    case "already_recorded":
      return { tone: "ok", title: `Hello again, ${name}`, detail: "You are already checked in for this lesson." };
    case "not_in_lesson":
      return {
        tone: "error",
        title: `${name}, this is not your class`,
        detail: "You are not on the list of the lesson in this room.",
        hint: "Check the room, or ask your teacher.",
      };
    case "not_verified":
      return {
        tone: "error",
        title: "Face did not match",
        detail: "The face does not match the student chosen.",
        hint: "Try again, or ask your teacher for a code.",
        offerCode: true,
      };
    default:
      return {
        tone: "error",
        title: "We could not recognise you",
        detail: "Your face is not enrolled for this class, or the picture was unclear.",
        hint: "Look straight at the camera and try again, or ask your teacher for a code.",
        offerCode: true,
      };
  }
}

export function describeAnswer(answer: CheckinAnswer): Outcome {
  if (answer.faces.length === 0) {
    return {
      tone: "error",
      title: "No face found",
      detail: "The camera did not see a face.",
      hint: "Stand in front of the camera, inside the oval, in good light.",
    };
  }
  const lines = answer.faces.map(faceLine);
  if (lines.length === 1) return lines[0];
  // A group in front of the kiosk: the first recognised person leads, the rest are summed up.
  const ok = lines.filter((line) => line.tone !== "error");
  const lead = ok[0] ?? lines[0];
  return { ...lead, detail: `${lead.detail} (${ok.length} of ${lines.length} faces checked in)` };
}

const ERRORS: Record<string, Omit<Outcome, "tone"> & { tone?: Tone }> = {
  liveness_failed: {
    title: "Please try again",
    detail: "We could not confirm a live face.",
    hint: "Follow the instruction on the screen: turn your head slowly the way it says.",
  },
  poor_quality: {
    title: "Please try again",
    detail: "The picture was not clear enough to recognise you.",
    hint: "Face the camera in good light, inside the oval.",
  },
  no_face: {
    title: "No face found",
    detail: "The camera did not see a face.",
    hint: "Stand in front of the camera, inside the oval, in good light.",
  },
  multiple_faces: {
    title: "One at a time, please",
    detail: "More than one face was in the picture.",
    hint: "Step up alone and try again.",
  },
  no_open_lesson: {
    title: "No lesson is open",
    detail: "No class is taking attendance in this room right now.",
    hint: "Ask your teacher.",
  },
  lesson_not_open: {
    title: "No lesson is open",
    detail: "This lesson is not taking attendance now.",
    hint: "Ask your teacher.",
  },
  wrong_room: {
    title: "Wrong room",
    detail: "That lesson is taking attendance in another room.",
    hint: "Check in at the kiosk of your lesson's room.",
  },
  nonce_invalid: { title: "That took too long", detail: "The check expired before it finished.", hint: "Try again." },
  nonce_used: { title: "Please try again", detail: "That check was already used.", hint: "Try again." },
  challenge_required: { title: "Please try again", detail: "The kiosk must ask for a challenge first.", hint: "Try again." },
  too_few_frames: {
    title: "The camera was too slow",
    detail: "Too few pictures were taken.",
    hint: "Try again; if it keeps happening, tell staff the camera is slow.",
  },
  too_many_frames: { title: "Please try again", detail: "Too many pictures were taken.", hint: "Try again." },
  liveness_unavailable: {
    title: "Check-in is paused",
    detail: "The liveness check is not available right now.",
    hint: "Wait a moment, or ask your teacher for a code.",
    offerCode: true,
  },
  invalid_api_key: {
    title: "Kiosk not authorised",
    detail: "This kiosk's key was refused (revoked or mistyped).",
    hint: "Ask an administrator to set up the kiosk again.",
  },
  code_not_found: { title: "Code not recognised", detail: "That code does not exist.", hint: "Check the code and type it again." },
  code_used: { tone: "warn", title: "Code already used", detail: "That code was used before.", hint: "Ask your teacher for a new one." },
  code_expired: { title: "Code expired", detail: "That code is no longer valid.", hint: "Ask your teacher for a new one." },
  rate_limited: { title: "Too many tries", detail: "The kiosk is busy.", hint: "Wait a few seconds and try again." },
};

const COLOUR_HINT = "Stay close to the screen while it changes colour";
const REPLAY_HINT = "Show your own face to the camera, not a picture or a screen";
const GENERIC_LIVENESS_HINT = "Look at the camera and follow the instruction on the screen";

/** What the student should do about each liveness reason the server gives (codes: models/liveness/decision.py,
 * the colour challenge and the passive replay checks). The one place these codes are put in words. */
export const LIVENESS_HINTS: Record<string, string> = {
  no_face: "Look at the camera",
  face_lost: "Stay in front of the camera while you turn",
  multiple_faces: "One person at a time, please",
  inconsistent_track: "Move slowly and stay in the frame",
  different_faces: "One person at a time, please",
  no_motion: "Turn your head as shown",
  planar_motion: "Turn your head as shown",
  wrong_direction: "Turn the other way",
  challenge_not_performed: "Turn your head a little further",
  nonce_used: "Start again",
  colour_not_reflected: COLOUR_HINT,
  colour_mismatch: COLOUR_HINT,
  colour_timing: COLOUR_HINT,
  screen_moire: REPLAY_HINT,
  screen_border: REPLAY_HINT,
  screen_glare: REPLAY_HINT,
  screen_colour_cast: REPLAY_HINT,
  replay_suspected: REPLAY_HINT,
};

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v) => typeof v === "string") : []);

/** A liveness failure's hints from its reason codes; the server's own hints only when it gave no codes. */
function livenessHints(details: Record<string, unknown>): string[] {
  const reasons = strings(details.reasons);
  if (!reasons.length) return strings(details.hints);
  return reasons.map((reason) => (Object.hasOwn(LIVENESS_HINTS, reason) ? LIVENESS_HINTS[reason] : GENERIC_LIVENESS_HINT));
}

export function describeError(err: unknown): Outcome {
  if (err instanceof ApiError) {
    const known = ERRORS[err.code];
    // What went wrong with this attempt ("Turn the other way") says best what to do next.
    const hints = [...new Set(err.code === "liveness_failed" ? livenessHints(err.details) : strings(err.details.hints))];
    if (known) return { tone: "error", ...known, ...(hints.length ? { hint: hints.join(". ") + "." } : {}) };
    if (err.status === 0) {
      return {
        tone: "error",
        title: "No connection",
        detail: "The kiosk cannot reach the server.",
        hint: "Try again in a moment; tell staff if it keeps happening.",
        offerCode: true,
      };
    }
    if (err.status >= 500) {
      return {
        tone: "error",
        title: "Something went wrong",
        detail: err.message,
        hint: "Try again in a moment, or ask your teacher for a code.",
        offerCode: true,
      };
    }
    return { tone: "error", title: "Check-in failed", detail: err.message, hint: "Try again, or ask your teacher." };
  }
  return { tone: "error", title: "Check-in failed", detail: String(err), hint: "Try again." };
}

/** Camera failures in words a student or teacher can act on. */
export function describeCameraError(err: unknown): string {
  const name = err instanceof DOMException || err instanceof Error ? err.name : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return "Camera access was refused. Allow the camera for this page in the browser settings, or use a code.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No camera was found on this device. Connect one, or use a code.";
    case "NotReadableError":
    case "AbortError":
      return "The camera is busy or not working (another app may be using it). Restart the kiosk, or use a code.";
    case "Unsupported":
      return "This browser cannot open the camera here (it needs HTTPS or localhost). Use a code.";
    default:
      return `The camera could not be started${name ? ` (${name})` : ""}. Use a code instead.`;
  }
}
