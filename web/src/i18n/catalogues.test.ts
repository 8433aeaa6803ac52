// One source of truth per thing: English is the catalogue every language must match, and the API's error
// registry (app/core/error_codes.py, read here as it is) is the list of codes that need a message.
import errorCodesPy from "../../../app/core/error_codes.py?raw";
import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { CATALOGUES, LOCALES } from "./index";
import { en } from "./en";
import { errorMessage, explain } from "./errors";

/** The keys of ERROR_CODES: every `"code": "meaning",` line inside its braces. */
function registeredCodes(source: string): string[] {
  const body = source.slice(source.indexOf("ERROR_CODES"), source.indexOf("\n}\n"));
  return [...body.matchAll(/^\s+"([a-z0-9_]+)":/gm)].map((match) => match[1]);
}

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();

describe("the catalogues", () => {
  it.each(LOCALES.filter((locale) => locale !== "en"))("%s has exactly the English keys", (locale) => {
    expect(Object.keys(CATALOGUES[locale]).sort()).toEqual(Object.keys(en).sort());
  });

  it.each(LOCALES)("%s keeps every message's placeholders and leaves none empty", (locale) => {
    for (const [key, text] of Object.entries(en)) {
      const translated = CATALOGUES[locale][key as keyof typeof en];
      expect(translated.trim(), key).not.toBe("");
      expect(placeholders(translated), key).toEqual(placeholders(text));
    }
  });

  it("has an English message for every error code the API registers", () => {
    const codes = registeredCodes(errorCodesPy);
    expect(codes.length).toBeGreaterThan(100); // the parse found the registry, not nothing
    const missing = codes.filter((code) => !Object.hasOwn(en, `error.${code}`));
    expect(missing).toEqual([]);
  });
});

describe("error codes in words", () => {
  it("says a known code in the person's language, never the server's message", () => {
    expect(explain(new ApiError(409, "code_used", "Code already redeemed at 10:02"))).toBe("That code was used already.");
  });

  it("names a code it does not know, and a bare HTTP status", () => {
    expect(errorMessage("brand_new_code")).toBe("Something went wrong (code: brand_new_code).");
    expect(errorMessage("http_502", 502)).toBe("The server answered with an error (502). Try again in a moment.");
  });

  it("lists the fields of a validation error by name only", () => {
    const err = new ApiError(422, "invalid_request", "the request is not valid", {
      problems: [{ loc: ["body", "code"], msg: "String should match pattern" }, { loc: ["body", "room"] }],
    });
    expect(explain(err)).toBe("Some values are not valid. (check: code, room)");
  });
});
