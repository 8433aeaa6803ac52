import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { ENROLL_ERRORS, explainEnrollment, overrideFor, photoReasons } from "./enrollmentText";

describe("enrollment codes in words", () => {
  it("names the identity guard's refusals", () => {
    expect(explainEnrollment(new ApiError(409, "face_mismatch", "server words"))).toBe(ENROLL_ERRORS.face_mismatch);
    expect(explainEnrollment(new ApiError(409, "face_already_enrolled", "server words"))).toBe(ENROLL_ERRORS.face_already_enrolled);
    const odd = new ApiError(422, "enrollment_rejected", "photos[2]: ...", { photos: [], not_same_person: [2] });
    expect(explainEnrollment(odd)).toBe(ENROLL_ERRORS.not_same_person);
    const few = new ApiError(422, "enrollment_rejected", "1 of 3 photos are usable", { photos: [] });
    expect(explainEnrollment(few)).toBe(ENROLL_ERRORS.enrollment_rejected);
  });

  it("falls back to the server's sentence for a code it does not know", () => {
    expect(explainEnrollment(new ApiError(409, "student_inactive", "the student is no longer active"))).toBe(
      "the student is no longer active",
    );
  });

  it("translates each photo's reasons by code, keeping the server's where no code is known", () => {
    const verdict = {
      index: 1,
      accepted: false,
      reasons: ["the same photo as photos[0]", "something new"],
      codes: ["duplicate_photo", "brand_new_code"],
      quality: null,
    };
    expect(photoReasons(verdict)).toEqual(["the same photo as another one here: take a different photo", "something new"]);
  });

  it("offers an admin the confirmation a 409 allows, and nothing else", () => {
    expect(overrideFor(new ApiError(409, "face_mismatch", ""))?.field).toBe("replace");
    expect(overrideFor(new ApiError(409, "face_already_enrolled", ""))?.field).toBe("allow_duplicate");
    expect(overrideFor(new ApiError(409, "consent_required", ""))).toBeNull();
    expect(overrideFor(new ApiError(422, "enrollment_rejected", ""))).toBeNull();
    expect(overrideFor(new Error("offline"))).toBeNull();
  });
});
