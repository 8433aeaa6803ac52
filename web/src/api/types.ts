// Shapes of the Rollcall API this app uses, generated from the API's own OpenAPI document when the app is
// built (web/build.sh: `python -m app.api.openapi`, then openapi-typescript into schema.d.ts): never copied
// by hand, so a field the routers rename or drop breaks this build, not a page at run time.
import type { components } from "./schema";

type Schemas = components["schemas"];

export type Role = Schemas["Role"];
export type EnrollmentStatus = Schemas["EnrollmentStatus"];
export type AttendanceStatus = Schemas["AttendanceStatus"];

export type ErrorBody = Schemas["ErrorResponse"];
/** Every code the API answers with (its registry, app/core/error_codes.py). */
export type ErrorCode = Schemas["ErrorInfo"]["code"];

/** One page of a listing (every listing pages alike; the items' shape is the caller's). */
export type Page<T> = Omit<Schemas["Page_StudentPublic_"], "items"> & { items: T[] };

export type TokenPair = Schemas["TokenPair"];
export type MfaSetupRequired = Schemas["MfaSetupRequired"];
export type MfaSetup = Schemas["MfaSetup"];
export type UserPublic = Schemas["UserPublic"];
export type TemporaryPassword = Schemas["TemporaryPassword"];
export type SchoolPublic = Schemas["SchoolPublic"];
export type CodeIssued = Schemas["CodeIssued"];
export type ClassPublic = Schemas["ClassPublic"];
export type LessonPublic = Schemas["LessonPublic"];
/** All the marks are kept, or none (the first refused answers its error, e.g. 409 ``not_in_class``). */
export type AttendanceBulkMark = Schemas["AttendanceBulkMark"];
export type ClassCreate = Schemas["ClassCreate"];
/** An explicit null clears a field (``teacher_id``, ``room``); a field left out stays as it is. */
export type ClassUpdate = Schemas["ClassUpdate"];
/** ``start_time``: the school's wall-clock time ("08:15", no offset); dates are the school's calendar. */
export type LessonSeriesCreate = Schemas["LessonSeriesCreate"];
export type Weekday = LessonSeriesCreate["weekdays"][number];
/** Also the ``details`` of a 409 ``lesson_overlaps`` refusal, each clashing date with its ``overlaps``. */
export type LessonSeriesReport = Schemas["LessonSeriesReport"];
export type SeriesLesson = Schemas["SeriesLesson"];
export type StudentPublic = Schemas["StudentPublic"];
export type StudentUpdate = Schemas["StudentUpdate"];
/** Either every row went in (``imported``) or none did; a refused file's report is a 422's ``details``. */
export type ImportReport = Schemas["ImportReport"];
/** ``code`` says the problem (``value``: the number or class code at fault); ``message`` is English, for logs. */
export type ImportRowError = Schemas["ImportRowError"];
export type StudentReport = Schemas["StudentReport"];
/** ``attendance_id``: the record, when there is one (its changes: GET /v1/attendance/{id}/changes). */
export type StudentLessonRow = Schemas["StudentLessonRow"];
export type AttendanceChange = Schemas["AttendanceChangePublic"];
export type ConsentPublic = Schemas["ConsentPublic"];
export type EnrollmentState = Schemas["EnrollmentState"];
/** ``codes``: one stable code per reason, in the same order (console/enrollmentText.ts translates them). */
export type PhotoVerdict = Schemas["PhotoVerdict"];
/** ``replaced``: these photos replaced a different enrolled face (an admin confirmed it). */
export type EnrollmentResult = Schemas["EnrollmentResult"];
export type Totals = Schemas["Totals"];
export type LessonRow = Schemas["LessonRow"];
export type LessonReport = Schemas["LessonReport"];
export type ClassReport = Schemas["ClassReport"];
export type AuditEvent = Schemas["AuditEventPublic"];
export type AuditPage = Schemas["AuditPage"];
export type ChainStatus = Schemas["ChainStatus"];
export type KioskKey = Schemas["KioskKeyPublic"];
export type KioskKeyIssued = Schemas["KioskKeyIssued"];
export type KioskIdentity = Schemas["KioskIdentity"];
/** ``frames.default``: how many frames the kiosk should send; ``colours``: the screen's sequence, or none. */
export type Challenge = Schemas["ChallengeIssued"];
/** CSS colours ("#ff3030"), each shown for ``slot_ms`` from the start of the capture. */
export type ColourChallenge = Schemas["ColourChallenge"];
export type CheckinFace = Schemas["CheckinFace"];
export type FaceOutcome = CheckinFace["outcome"];
export type CheckinAnswer = Schemas["CheckinAnswer"];
export type ContactPublic = Schemas["ContactPublic"];
/** ``webhook_secret``: in this answer only (a new webhook contact, or a changed webhook URL). */
export type ContactCreated = Schemas["ContactCreated"];
export type ContactCreate = Schemas["ContactCreate"];
/** A field left out stays as it is; a new ``webhook_url`` gets a new secret. */
export type ContactUpdate = Schemas["ContactUpdate"];
export type Channel = NonNullable<ContactCreate["channels"]>[number];
export type Topic = NonNullable<ContactCreate["topics"]>[number];
/** Quiet hours in the school's local time ("22:00:00"), both or neither. */
export type NotificationSettings = Schemas["NotificationSettingsPublic"];
export type NotificationSettingsUpdate = Schemas["NotificationSettingsUpdate"];
export type DeliveryPublic = Schemas["DeliveryPublic"];
