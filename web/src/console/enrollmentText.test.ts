import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { t } from "../i18n";
import { explainEnrollment, overrideFor, photoReasons } from "./enrollmentText";

describe("enrollment codes in words", () => {
  it("names the identity guard's refusals", () => {
    expect(explainEnrollment(new ApiError(409, "face_mismatch", "server words"))).toBe(t("enroll.face_mismatch"));
    expect(explainEnrollment(new ApiError(409, "face_already_enrolled", "server words"))).toBe(t("enroll.face_already_enrolled"));
    const odd = new ApiError(422, "enrollment_rejected", "photos[2]: ...", { photos: [], not_same_person: [2] });
    expect(explainEnrollment(odd)).toBe(t("enroll.not_same_person"));
    const few = new ApiError(422, "enrollment_rejected", "1 of 3 photos are usable", { photos: [] });
    expect(explainEnrollment(few)).toBe(t("enroll.enrollment_rejected"));
  });

  it("says other codes with their own message, never the server's sentence", () => {
    expect(explainEnrollment(new ApiError(409, "student_inactive", "the student is no longer active"))).toBe(
      "The student is inactive.",
    );
  });

  it("translates each photo's reasons by code, naming a code it does not know", () => {
    const verdict = {
      index: 1,
      accepted: false,
      reasons: ["the same photo as photos[0]", "something new"],
      codes: ["duplicate_photo", "brand_new_code"],
      quality: null,
    };
    expect(photoReasons(verdict)).toEqual([
      "the same photo as another one here: take a different photo",
      "not usable (brand_new_code)",
    ]);
  });

  it("offers an admin the confirmation a 409 allows, and nothing else", () => {
    expect(overrideFor(new ApiError(409, "face_mismatch", ""))?.field).toBe("replace");
    expect(overrideFor(new ApiError(409, "face_already_enrolled", ""))?.field).toBe("allow_duplicate");
    expect(overrideFor(new ApiError(409, "consent_required", ""))).toBeNull();
    expect(overrideFor(new ApiError(422, "enrollment_rejected", ""))).toBeNull();
    expect(overrideFor(new Error("offline"))).toBeNull();
  });
});
