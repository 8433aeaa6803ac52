// What the console says for the enrollment API's machine-readable codes (docs/ENROLLMENT.md): the error
// codes of POST /v1/students/{id}/enrollment and the reason codes of each photo's verdict. English is the
// console's only language, so this is its one table of these strings; a code without an entry falls back to
// the server's own sentence, so a new server code is never shown as a bare code.

import { ApiError, explain } from "../api/client";
import type { PhotoVerdict } from "../api/types";

/** Why an enrollment was refused, by error code (and `not_same_person` for a 422 naming odd photos). */
export const ENROLL_ERRORS: Record<string, string> = {
  enrollment_rejected: "Not enrolled: too few of the photos are usable. Each photo's verdict is shown below.",
  not_same_person:
    "Not enrolled: the photos are not all of the same person. Remove the marked photos and send photos of this student only.",
  face_mismatch:
    "Not enrolled: these photos do not match the face already enrolled for this student. Only an administrator can replace an enrolled face.",
  face_already_enrolled:
    "Not enrolled: this face is already enrolled as another student of the school. Only an administrator can confirm that they are different people (twins).",
  consent_required: "Not enrolled: a consent to the current consent text must be recorded first.",
  photo_count: "Send 3 to 5 photos.",
};

/** Why one photo was not used, by reason code. */
export const PHOTO_REASONS: Record<string, string> = {
  duplicate_photo: "the same photo as another one here: take a different photo",
  not_same_person: "not the same person as the other photos",
  weak_likeness: "looks too little like the other photos",
  no_face: "no face found",
  multiple_faces: "more than one face: only the student may be in the photo",
  face_too_small: "face too small: move closer",
  blurry: "too blurry: hold still",
  too_dark: "too dark: find more light",
  too_bright: "too bright: avoid the glare",
  low_contrast: "contrast too low: find better light",
  turned: "face turned sideways: face the camera",
  tilted: "head tilted: hold the head straight",
  pitched: "face looking up or down: look at the camera",
  occluded: "face partly hidden: uncover the face",
};

/** The sentence for a failed enrollment. */
export function explainEnrollment(err: unknown): string {
  if (err instanceof ApiError) {
    const odd = err.details.not_same_person;
    const code = err.code === "enrollment_rejected" && Array.isArray(odd) && odd.length > 0 ? "not_same_person" : err.code;
    if (code in ENROLL_ERRORS) return ENROLL_ERRORS[code];
  }
  return explain(err);
}

/** A photo's reasons in words: translated by code where known, else the server's sentence. */
export function photoReasons(verdict: PhotoVerdict): string[] {
  const codes = verdict.codes ?? [];
  return verdict.reasons.map((reason, i) => PHOTO_REASONS[codes[i]] ?? reason);
}

/** The confirmation an administrator may give to a refusal (the form field to send again), if any. */
export interface Override {
  field: "replace" | "allow_duplicate";
  label: string;
}

export function overrideFor(err: unknown): Override | null {
  if (!(err instanceof ApiError) || err.status !== 409) return null;
  if (err.code === "face_mismatch") return { field: "replace", label: "Replace the enrolled face with these photos" };
  if (err.code === "face_already_enrolled") return { field: "allow_duplicate", label: "Enroll anyway: they are different people" };
  return null;
}
