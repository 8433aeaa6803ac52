// What the kiosk says after a check-in: one large headline, a line of detail and, when it failed, what to do.
// Pure functions of the API's answer or error, so every case is tested without a camera. Every word comes
// from the catalogue (i18n/), by outcome, error code or reason code: never the server's English sentences.

import { ApiError } from "../api/client";
import type { CheckinAnswer, CheckinFace } from "../api/types";
import { errorMessage } from "../i18n/errors";
import { isMessageKey, t, type MessageKey } from "../i18n";

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

function statusWord(status: string | null | undefined): string {
  const key = `status.${status ?? "present"}`;
  return isMessageKey(key) ? t(key) : String(status);
}

function faceLine(face: CheckinFace): Outcome {
  const name = face.student?.display_name ?? "";
  switch (face.outcome) {
    case "recorded":
      return {
        tone: face.status === "late" ? "warn" : "ok",
        title: t("outcome.recorded.title", { name }),
        detail: t("outcome.recorded.detail", { status: statusWord(face.status) }),
      };
    case "already_recorded":
      return { tone: "ok", title: t("outcome.already_recorded.title", { name }), detail: t("outcome.already_recorded.detail") };
    case "not_in_lesson":
      return {
        tone: "error",
        title: t("outcome.not_in_lesson.title", { name }),
        detail: t("outcome.not_in_lesson.detail"),
        hint: t("outcome.not_in_lesson.hint"),
      };
    case "not_verified":
      return {
        tone: "error",
        title: t("outcome.not_verified.title"),
        detail: t("outcome.not_verified.detail"),
        hint: t("outcome.not_verified.hint"),
        offerCode: true,
      };
    default:
      return {
        tone: "error",
        title: t("outcome.unknown.title"),
        detail: t("outcome.unknown.detail"),
        hint: t("outcome.unknown.hint"),
        offerCode: true,
      };
  }
}

export function describeAnswer(answer: CheckinAnswer): Outcome {
  if (answer.faces.length === 0) return { tone: "error", ...refusal("no_face")! };
  const lines = answer.faces.map(faceLine);
  if (lines.length === 1) return lines[0];
  // A group in front of the kiosk: the first recognised person leads, the rest are summed up.
  const ok = lines.filter((line) => line.tone !== "error");
  const lead = ok[0] ?? lines[0];
  return { ...lead, detail: t("outcome.group", { detail: lead.detail, ok: ok.length, faces: lines.length }) };
}

/** The check-in refusals the kiosk explains itself (title, detail, hint in the catalogue under
 * ``refusal.<code>``); other codes get a generic title and their error message. */
const REFUSALS: Record<string, { tone?: Tone; offerCode?: boolean }> = {
  liveness_failed: {},
  poor_quality: {},
  no_face: {},
  multiple_faces: {},
  no_open_lesson: {},
  lesson_not_open: {},
  wrong_room: {},
  nonce_invalid: {},
  nonce_used: {},
  challenge_required: {},
  too_few_frames: {},
  too_many_frames: {},
  liveness_unavailable: { offerCode: true },
  kiosk_cooling_down: { offerCode: true },
  invalid_api_key: {},
  code_not_found: {},
  code_used: { tone: "warn" },
  code_expired: {},
  rate_limited: {},
};

function refusal(code: string): Omit<Outcome, "tone"> & { tone?: Tone } | null {
  if (!Object.hasOwn(REFUSALS, code)) return null;
  const part = (name: "title" | "detail" | "hint") => t(`refusal.${code}.${name}` as MessageKey);
  return { ...REFUSALS[code], title: part("title"), detail: part("detail"), hint: part("hint") };
}

/** What the student should do about each reason code the server gives: liveness reasons
 * (models/liveness/decision.py, the colour challenge, the passive replay checks) and the quality reasons of
 * a picture. Several codes share one hint; a code without one gets the generic hint. */
const HINT_OF_REASON: Record<string, MessageKey> = {
  no_face: "hint.look",
  face_lost: "hint.stay_in_front",
  multiple_faces: "hint.one_person",
  different_faces: "hint.one_person",
  inconsistent_track: "hint.move_slowly",
  no_motion: "hint.turn_as_shown",
  planar_motion: "hint.turn_as_shown",
  wrong_direction: "hint.other_way",
  challenge_not_performed: "hint.turn_further",
  nonce_used: "hint.start_again",
  colour_not_reflected: "hint.colour",
  colour_mismatch: "hint.colour",
  colour_timing: "hint.colour",
  screen_moire: "hint.replay",
  screen_border: "hint.replay",
  screen_glare: "hint.replay",
  screen_colour_cast: "hint.replay",
  replay_suspected: "hint.replay",
  face_too_small: "hint.closer",
  blurry: "hint.hold_still",
  too_dark: "hint.more_light",
  too_bright: "hint.less_light",
  low_contrast: "hint.more_light",
  turned: "hint.face_camera",
  tilted: "hint.head_straight",
  pitched: "hint.face_camera",
  occluded: "hint.uncover",
};

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v) => typeof v === "string") : []);

/** The hints for a refusal's reason codes, in order, each once. */
export function reasonHints(reasons: string[]): string[] {
  const keys = reasons.map((reason) => (Object.hasOwn(HINT_OF_REASON, reason) ? HINT_OF_REASON[reason] : "hint.generic"));
  return [...new Set(keys)].map((key) => t(key));
}

export function describeError(err: unknown): Outcome {
  if (err instanceof ApiError) {
    const known = refusal(err.code);
    // What went wrong with this attempt ("Turn the other way") says best what to do next.
    const hints = reasonHints(strings(err.details.reasons));
    const hint = hints.length ? hints.map((h) => `${h}.`).join(" ") : undefined;
    if (known) return { tone: "error", ...known, ...(hint ? { hint } : {}) };
    if (err.status === 0) {
      return { tone: "error", title: t("outcome.offline.title"), detail: t("outcome.offline.detail"), hint: t("outcome.offline.hint"), offerCode: true };
    }
    const detail = errorMessage(err.code, err.status);
    if (err.status >= 500) {
      return { tone: "error", title: t("outcome.server.title"), detail, hint: t("outcome.server.hint"), offerCode: true };
    }
    return { tone: "error", title: t("outcome.failed.title"), detail, hint: hint ?? t("outcome.failed.hint") };
  }
  return { tone: "error", title: t("outcome.failed.title"), detail: String(err), hint: t("outcome.failed.hint") };
}

/** Camera failures in words a student or teacher can act on. */
export function describeCameraError(err: unknown): string {
  const name = err instanceof DOMException || err instanceof Error ? err.name : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return t("camera.refused");
    case "NotFoundError":
    case "OverconstrainedError":
      return t("camera.missing");
    case "NotReadableError":
    case "AbortError":
      return t("camera.busy");
    case "Unsupported":
      return t("camera.unsupported");
    default:
      return name ? t("camera.failed_named", { name }) : t("camera.failed");
  }
}
