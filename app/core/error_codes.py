"""Every ``error.code`` the API answers with, and what it means: the one registry of error codes.

The OpenAPI document takes the codes from here (``ErrorInfo.code`` is an enum of them, described by this
table), so clients, the web app's generated types and the people translating the codes read one list; a
test (tests/unit/test_error_codes.py) finds every code the code base raises and fails on one missing here,
and on one listed here that nothing raises any more.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

ERROR_CODES: Final[Mapping[str, str]] = {
    # Generic categories (a code a raise site did not name, and the HTTP layer's own).
    "error": "An error without a more specific code.",
    "bad_request": "The request cannot be read (a body that is not JSON or not multipart).",
    "invalid_input": "A value of the request is not acceptable.",
    "invalid_request": "The request does not match the operation's schema (details.problems says where).",
    "invalid_value": "A value passed validation but cannot be stored (a NUL character, a huge number).",
    "not_found": "Nothing at this address, or nothing the caller may see there.",
    "method_not_allowed": "The address exists, but not with this HTTP method.",
    "conflict": "The request conflicts with the current state.",
    "too_large": "The body or an image is larger than allowed.",
    "unsupported_media_type": "The body or a part is not of a type this operation takes.",
    "rate_limited": "Too many requests; Retry-After says when to try again.",
    "http_error": "An HTTP error without a more specific code.",
    "internal_error": "Something failed on the server; it was logged, nothing was half-written.",
    # Availability (503, with Retry-After).
    "unavailable": "A service the request needs is temporarily unavailable.",
    "database_unavailable": "PostgreSQL is unavailable (or not configured for this process).",
    "cache_unavailable": "Redis is unavailable (or not configured for this process).",
    "gallery_unavailable": "The vector index (Milvus) is unavailable.",
    "gallery_error": "The vector index refused an operation.",
    "invalid_vectors": "Vectors of the wrong shape were sent to the index.",
    "model_unavailable": "A model deployment is unavailable or not yet configured.",
    "liveness_unavailable": "The liveness deployment is unavailable.",
    "metrics_unavailable": "Ray's metrics export of this node did not answer /metrics.",
    # Sign-in, tokens, MFA and kiosk keys.
    "not_authenticated": "Credentials are missing (a bearer token or an API key).",
    "ambiguous_credentials": "Both a bearer token and an API key were sent.",
    "invalid_credentials": "The email or password is wrong (which one is not said).",
    "sign_in_throttled": "Too many failed sign-ins of this account from here; wait Retry-After seconds.",
    "invalid_token": "The token is not valid (signature, issuer, audience or type).",
    "token_expired": "The token has expired; refresh it or sign in again.",
    "invalid_refresh_token": "The refresh token is not valid.",
    "refresh_token_reused": "A refresh token was used twice: the whole sign-in was revoked.",
    "sign_in_revoked": "The sign-in was revoked (signed out, password changed, or reuse detected).",
    "mfa_required": "A TOTP code is needed to finish signing in.",
    "mfa_not_set_up": "MFA has not been set up for this account.",
    "mfa_already_enabled": "MFA is already enabled for this account.",
    "invalid_mfa_code": "The TOTP code is wrong or expired.",
    "weak_password": "The password is too short or too common.",
    "invalid_api_key": "The kiosk API key is unknown or revoked.",
    "forbidden": "The caller's role may not do this.",
    # Users and schools.
    "already_bootstrapped": "The first school and admin exist already.",
    "school_suspended": "The installation's operator suspended this school: no sign-ins, kiosks refused.",
    "confirmation_mismatch": "The confirmation does not match (deleting a school asks for its exact name).",
    "duplicate": "Something with the same unique value (an email, a number, a code, a name) exists already.",
    "last_admin": "The school's last active admin cannot be removed or demoted.",
    "cannot_remove_self": "An admin cannot deactivate or demote themself.",
    "student_required": "A student account must be linked to a student.",
    "invalid_student_link": "The student to link is not in the school, or linked to another account.",
    "school_not_found": "No such school.",
    "teacher_not_found": "No such teacher in the school.",
    "user_not_found": "No such user in the school.",
    "kiosk_key_not_found": "No such kiosk key in the school.",
    # Students, classes, lessons and imports.
    "student_not_found": "No such student in the school.",
    "class_not_found": "No such class in the school.",
    "student_inactive": "The student is inactive.",
    "member_not_found": "The student is not a member of the class.",
    "lesson_not_found": "No such lesson in the school.",
    "invalid_range": "The date range is empty, reversed or longer than allowed.",
    "in_use": "The item is still referenced (e.g. a class with lessons).",
    "invalid_csv": "The CSV file cannot be read (encoding, header, delimiter).",
    "too_many_rows": "The CSV file has more rows than one import takes.",
    "import_rejected": "Rows of the import are invalid; nothing was imported (details list them).",
    # Consent and enrollment.
    "consent_required": "The student has no current consent to biometric processing.",
    "consent_exists": "A current consent exists already.",
    "guardian_required": "The student is a minor: a guardian must give the consent.",
    "outdated_consent_version": "The consent text given is not the current one.",
    "photo_count": "Too few or too many photos for an enrollment.",
    "enrollment_rejected": "Too few photos were usable (each photo's reasons are in details).",
    "face_mismatch": "The photos show another face than the student's enrolled one.",
    "face_already_enrolled": "This face is enrolled for another student already.",
    "not_enrolled": "The student has no enrolled face.",
    "label_not_found": "No face is enrolled under this label in the gallery.",
    "invalid_gallery": "The gallery name is not valid (1-128 characters from A-Z a-z 0-9 _ . : -).",
    "invalid_label": "The label is not valid (1-128 characters from A-Z a-z 0-9 _ . : -).",
    "erasure_not_found": "No such erasure receipt.",
    "review_frame_not_found": "No such kept frame (or it has expired).",
    "contact_not_found": "No such notification contact in the school.",
    "delivery_not_found": "No such notification delivery in the school.",
    "not_dead": "Only a dead-lettered delivery can be retried.",
    # Images and faces.
    "no_face": "No face was found in the image.",
    "multiple_faces": "More than one face where exactly one is needed.",
    "poor_quality": "The face is too small, blurred, turned or badly lit.",
    "empty": "The image is empty.",
    "corrupt": "The image is damaged and cannot be decoded.",
    "not_an_image": "The file is not an image of a supported format (JPEG, PNG, WebP, BMP).",
    "too_many_pixels": "The image has more pixels than allowed.",
    # Check-in.
    "no_open_lesson": "No lesson is open in the kiosk's room now.",
    "lesson_not_open": "The lesson does not take check-ins now.",
    "lesson_overlaps": "Another lesson of the class overlaps it in the same room (see allow_overlap).",
    "not_in_class": "The student is not in the lesson's class.",
    "wrong_room": "The lesson is in another room than the kiosk's.",
    "attendance_not_found": "No such attendance record.",
    "liveness_off": "Liveness is off (the school's or the installation's setting): send a single frame.",
    "challenge_required": "A challenge nonce and its burst of frames are needed.",
    "nonce_invalid": "The challenge is unknown, expired, or another kiosk's.",
    "nonce_used": "The challenge was answered already (a replay).",
    "no_frame": "No frame was sent.",
    "too_few_frames": "The burst has fewer frames than a liveness check needs.",
    "too_many_frames": "The burst has more frames than allowed.",
    "frame_times_required": "The colour challenge needs each frame's capture time.",
    "frame_times_invalid": "The frames' capture times are malformed or out of order.",
    "liveness_failed": "The burst did not show a live person answering the challenge (reasons in details).",
    "invalid_idempotency_key": "The Idempotency-Key header is malformed.",
    "idempotency_key_reused": "This Idempotency-Key was first used for a different request; send a new key.",
    "checkin_in_progress": "The same check-in (same Idempotency-Key) is still being answered; retry shortly.",
    "kiosk_cooling_down": "Too many faces failed to match at this kiosk; face check-in pauses a while.",
    "code_not_found": "No such one-time check-in code.",
    "code_expired": "The one-time check-in code has expired.",
    "code_used": "The one-time check-in code was used already.",
}


def openapi_description() -> str:
    """The table the OpenAPI document shows under ``ErrorInfo.code``."""
    rows = "\n".join(f"- `{code}`: {meaning}" for code, meaning in ERROR_CODES.items())
    return "Stable, for machines (the web app translates it). One of:\n\n" + rows
