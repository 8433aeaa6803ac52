// What the console says for the enrollment API's machine-readable codes (docs/ENROLLMENT.md): the error
// codes of POST /v1/students/{id}/enrollment and the reason codes of each photo's verdict, in the person's
// language (i18n/). A code without an entry gets the generic error text (i18n/errors.ts), never the server's
// English sentence.

import { ApiError } from "../api/client";
import type { PhotoVerdict } from "../api/types";
import { isMessageKey, t } from "../i18n";
import { explain } from "../i18n/errors";

/** The sentence for a failed enrollment (`enroll.<code>`; `not_same_person` for a 422 naming odd photos). */
export function explainEnrollment(err: unknown): string {
  if (err instanceof ApiError) {
    const odd = err.details.not_same_person;
    const code = err.code === "enrollment_rejected" && Array.isArray(odd) && odd.length > 0 ? "not_same_person" : err.code;
    const key = `enroll.${code}`;
    if (isMessageKey(key)) return t(key);
  }
  return explain(err);
}

/** A photo's reasons in words, by reason code (`photo.<code>`); a code this app does not know yet gets a
 * generic reason that names it. */
export function photoReasons(verdict: PhotoVerdict): string[] {
  const codes = verdict.codes ?? [];
  return verdict.reasons.map((_, i) => {
    const code = codes[i] ?? "";
    const key = `photo.${code}`;
    return isMessageKey(key) ? t(key) : t("photo.unknown", { code: code || "?" });
  });
}

/** The confirmation an administrator may give to a refusal (the form field to send again), if any. */
export interface Override {
  field: "replace" | "allow_duplicate";
  label: string;
}

export function overrideFor(err: unknown): Override | null {
  if (!(err instanceof ApiError) || err.status !== 409) return null;
  if (err.code === "face_mismatch") return { field: "replace", label: t("enroll.override_replace") };
  if (err.code === "face_already_enrolled") return { field: "allow_duplicate", label: t("enroll.override_duplicate") };
  return null;
}
