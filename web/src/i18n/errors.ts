// The API's machine-readable error codes (app/core/error_codes.py) in the person's language. The server's own
// `message` is English for developers and logs; the UI never shows it: a code without a message here gets a
// generic one that names the code, so a newer server's code is still reported (and can be looked up).

import { ApiError } from "../api/client";
import { isMessageKey, t, type MessageKey } from "./index";

/** The message key of an error code, if the catalogue has one ("http_502" has none: see errorMessage). */
export function errorKey(code: string): MessageKey | null {
  const key = `error.${code}`;
  return isMessageKey(key) ? key : null;
}

/** One sentence for an API (or network) error code. */
export function errorMessage(code: string, status = 0): string {
  const key = errorKey(code);
  if (key) return t(key);
  if (code.startsWith("http_")) return t("error.http", { status });
  return t("error.unknown", { code });
}

/** A sentence for any failure a page can show: API errors by code, with the fields a validation error
 * names (their names only: the validator's own words are English). */
export function explain(err: unknown): string {
  if (err instanceof ApiError) {
    const text = errorMessage(err.code, err.status);
    if (err.status === 422 && Array.isArray(err.details.problems)) {
      const fields = (err.details.problems as { loc?: unknown[] }[])
        .map((problem) => (problem.loc ?? []).filter((part) => part !== "body").join("."))
        .filter(Boolean);
      if (fields.length) return `${text} (${t("error.fields", { fields: [...new Set(fields)].join(", ") })})`;
    }
    return text;
  }
  return err instanceof Error ? err.message : String(err);
}
