// Shapes of the Rollcall API this app uses (app/schemas/*.py); field names match the JSON exactly.

export type Role = "admin" | "teacher" | "student";
export type EnrollmentStatus = "none" | "pending" | "enrolled" | "needs_reenrollment";
export type AttendanceStatus = "present" | "late" | "absent" | "excused";

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: "bearer";
  expires_in: number;
}

export interface MfaSetupRequired {
  mfa_setup_required: true;
  setup_token: string;
  expires_in: number;
}

export interface MfaSetup {
  secret: string;
  otpauth_uri: string;
}

export interface UserPublic {
  id: string;
  school_id: string;
  email: string;
  full_name: string;
  role: Role;
  student_id: string | null;
  is_active: boolean;
  mfa_enabled: boolean;
}

export interface ClassPublic {
  id: string;
  school_id: string;
  code: string;
  name: string;
  teacher_id: string | null;
  room: string | null;
  created_at: string;
}

export interface SessionPublic {
  id: string;
  class_id: string;
  starts_at: string;
  ends_at: string;
  grace_minutes: number;
  room: string | null;
  closed_at: string | null;
}

export interface StudentPublic {
  id: string;
  school_id: string;
  student_number: string;
  first_name: string;
  last_name: string;
  display_name: string;
  birth_date: string | null;
  guardian_email: string | null;
  active: boolean;
  enrollment_status: EnrollmentStatus;
  created_at: string;
  updated_at: string;
}

export interface ConsentPublic {
  id: string;
  student_id: string;
  version: string;
  granted_by_name: string;
  granted_by_relation: "self" | "guardian";
  granted_at: string;
  withdrawn_at: string | null;
}

export interface EnrollmentState {
  student_id: string;
  enrollment_status: EnrollmentStatus;
  templates: number;
  model: string | null;
  enrolled_at: string | null;
  consent: ConsentPublic | null;
  consent_current: boolean;
}

export interface PhotoVerdict {
  index: number;
  accepted: boolean;
  reasons: string[];
  /** One stable code per reason, in the same order (console/enrollmentText.ts translates them). */
  codes: string[];
  quality: Record<string, number> | null;
}

export interface EnrollmentResult {
  student_id: string;
  enrollment_status: EnrollmentStatus;
  templates: number;
  model: string;
  /** These photos replaced a different enrolled face (an admin confirmed it). */
  replaced: boolean;
  photos: PhotoVerdict[];
}

export interface Totals {
  counted: number;
  present: number;
  late: number;
  absent: number;
  excused: number;
  rate: number | null;
}

export interface SessionRow {
  student_id: string;
  student_number: string;
  display_name: string;
  status: string;
  method: string | null;
  recorded_at: string | null;
  confidence: number | null;
}

export interface SessionReport {
  session_id: string;
  class_id: string;
  class_code: string;
  starts_at: string;
  ends_at: string;
  unknown_faces: number | null;
  totals: Totals;
  rows: SessionRow[];
}

export interface ClassReport {
  class_id: string;
  class_code: string;
  date_from: string;
  date_to: string;
  sessions: number;
  totals: Totals;
  rows: { student_id: string; student_number: string; display_name: string; totals: Totals }[];
}

export interface AuditEvent {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  result: string;
  request_id: string | null;
  details: Record<string, unknown>;
}

export interface AuditPage {
  items: AuditEvent[];
  next_before_seq: number | null;
}

export interface ChainStatus {
  ok: boolean;
  events: number;
  head_hash: string;
  first_broken_seq: number | null;
  problem: string | null;
}

export interface KioskKey {
  id: string;
  room: string;
  name: string;
  prefix: string;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface KioskKeyIssued extends KioskKey {
  api_key: string;
}

export interface KioskIdentity {
  kiosk_id: string;
  school_id: string;
  room: string | null;
}

export interface Challenge {
  nonce: string;
  action: "turn_left" | "turn_right";
  instruction: string;
  expires_in_s: number;
  /** ``default``: how many frames the kiosk should send (absent from older servers). */
  frames: { min: number; max: number; interval_ms: number; default?: number };
  /** The screen's colour sequence that lights the face during the burst; null or absent: none. */
  colours?: ColourChallenge | null;
}

export interface ColourChallenge {
  /** CSS colours ("#ff3030"), each shown for ``slot_ms`` from the start of the capture. */
  sequence: string[];
  slot_ms: number;
}

export type FaceOutcome = "recorded" | "already_recorded" | "unknown" | "not_in_session" | "not_verified";

export interface CheckinFace {
  outcome: FaceOutcome;
  student: { id: string; display_name: string } | null;
  status: AttendanceStatus | null;
  confidence: number | null;
}

export interface CheckinAnswer {
  mode: "identify" | "verify" | "code";
  faces: CheckinFace[];
  liveness: { checked: boolean; passed: boolean; score: number | null; action?: string | null; reasons?: string[] };
  recorded: number;
  unknown: number;
  replayed: boolean;
}
