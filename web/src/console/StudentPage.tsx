// One student: consent, face enrollment (photos or the camera, with each photo's quality verdict), attendance
// history with each record's corrections, the record itself (admins edit it, and the guardian contacts), and
// the GDPR rights (export, erase) behind a confirmation.

import { useEffect, useRef, useState, type FormEvent } from "react";
import { useNavigate, useParams } from "react-router-dom";
import { ApiError } from "../api/client";
import { api } from "../api/session";
import type {
  AttendanceChange,
  EnrollmentResult,
  EnrollmentState,
  PhotoVerdict,
  StudentLessonRow,
  StudentPublic,
  StudentReport,
  StudentUpdate,
} from "../api/types";
import { grabFrame, openCamera, stopCamera } from "../kiosk/camera";
import { describeCameraError } from "../kiosk/outcome";
import { isMessageKey, t } from "../i18n";
import { Badge, ConfirmDialog, ErrorNote, LoadState, TableScroll, formatTime, percent, saveBlob, useApi } from "../ui/common";
import { ContactsSection } from "./ContactsSection";
import { explainEnrollment, overrideFor, photoReasons, type Override } from "./enrollmentText";
import { daysAgo } from "./weeks";

export function StudentPage({ isAdmin }: { isAdmin: boolean }) {
  const { studentId } = useParams();
  const student = useApi<StudentPublic>(`/v1/students/${studentId}`);
  const enrollment = useApi<EnrollmentState>(`/v1/students/${studentId}/enrollment`);
  const refresh = () => (student.reload(), enrollment.reload());
  return (
    <section>
      <LoadState state={student}>
        {(s) => (
          <>
            <h1>
              {s.display_name} <span className="muted">#{s.student_number}</span> <Badge value={s.enrollment_status} />
            </h1>
            <p className="muted">
              {s.first_name} {s.last_name}
              {s.birth_date && ` · ${t("student.born", { date: s.birth_date })}`}
              {s.guardian_email && ` · ${t("student.guardian", { email: s.guardian_email })}`}
            </p>
          </>
        )}
      </LoadState>
      <LoadState state={enrollment}>
        {(state) => (
          <>
            <ConsentSection studentId={studentId!} state={state} onChanged={refresh} />
            {state.consent && state.consent_current ? (
              <EnrollSection studentId={studentId!} state={state} isAdmin={isAdmin} onEnrolled={refresh} />
            ) : (
              <p className="note">{t("student.needs_consent")}</p>
            )}
          </>
        )}
      </LoadState>
      <HistorySection studentId={studentId!} isAdmin={isAdmin} />
      {isAdmin && student.data && <EditSection student={student.data} onSaved={student.reload} />}
      {isAdmin && <ContactsSection studentId={studentId!} />}
      {isAdmin && student.data && <RightsSection student={student.data} />}
    </section>
  );
}

function ConsentSection({ studentId, state, onChanged }: { studentId: string; state: EnrollmentState; onChanged: () => void }) {
  const [name, setName] = useState("");
  const [relation, setRelation] = useState<"self" | "guardian">("guardian");
  const [withdrawing, setWithdrawing] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const grant = async (event: FormEvent) => {
    event.preventDefault();
    try {
      await api(`/v1/students/${studentId}/consents`, { json: { granted_by_name: name, relation } });
      setError(null);
      onChanged();
    } catch (err) {
      setError(err);
    }
  };
  const withdraw = async () => {
    setWithdrawing(false);
    try {
      await api(`/v1/students/${studentId}/consents`, { method: "DELETE" });
      onChanged();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div className="box">
      <h2>{t("consent.title")}</h2>
      {state.consent ? (
        <p>
          {t("consent.given", {
            name: state.consent.granted_by_name,
            relation: relationWord(state.consent.granted_by_relation),
            when: formatTime(state.consent.granted_at),
            version: state.consent.version,
          })}
          {!state.consent_current && <strong> — {t("consent.outdated")}</strong>}{" "}
          <button type="button" className="link danger" onClick={() => setWithdrawing(true)}>
            {t("consent.withdraw")}
          </button>
        </p>
      ) : (
        <p>{t("consent.none")}</p>
      )}
      {(!state.consent || !state.consent_current) && (
        <form className="inline-form" onSubmit={(e) => void grant(e)} aria-label={t("consent.record")}>
          <label>
            {t("consent.given_by")} <input value={name} onChange={(e) => setName(e.target.value)} required />
          </label>
          <label>
            {t("consent.relation")}
            <select value={relation} onChange={(e) => setRelation(e.target.value as "self" | "guardian")}>
              <option value="guardian">{t("relation.guardian")}</option>
              <option value="self">{t("relation.self_adult")}</option>
            </select>
          </label>
          <button type="submit" className="primary">
            {t("consent.record")}
          </button>
        </form>
      )}
      <ErrorNote error={error} />
      {withdrawing && (
        <ConfirmDialog
          title={t("consent.withdraw_title")}
          confirmLabel={t("consent.withdraw_confirm")}
          danger
          onConfirm={() => void withdraw()}
          onCancel={() => setWithdrawing(false)}
        >
          <p>{t("consent.withdraw_text")}</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

interface Photo {
  blob: Blob;
  url: string;
  name: string;
}

function EnrollSection({
  studentId,
  state,
  isAdmin,
  onEnrolled,
}: {
  studentId: string;
  state: EnrollmentState;
  isAdmin: boolean;
  onEnrolled: () => void;
}) {
  const [photos, setPhotos] = useState<Photo[]>([]);
  const [verdicts, setVerdicts] = useState<PhotoVerdict[] | null>(null);
  const [message, setMessage] = useState<{ tone: "ok" | "error"; text: string } | null>(null);
  const [sending, setSending] = useState(false);
  const [camera, setCamera] = useState(false);
  // An admin's answer to a 409 the server lets them override; kept (with earlier ones) for these photos only.
  const [override, setOverride] = useState<Override | null>(null);
  const [confirmed, setConfirmed] = useState<Override["field"][]>([]);
  useEffect(() => () => photos.forEach((p) => URL.revokeObjectURL(p.url)), [photos]);

  const reset = () => (setVerdicts(null), setMessage(null), setOverride(null), setConfirmed([]));
  const add = (blobs: { blob: Blob; name: string }[]) => {
    reset();
    setPhotos((current) => [...current, ...blobs.map((b) => ({ ...b, url: URL.createObjectURL(b.blob) }))].slice(0, 5));
  };
  const submit = async (confirm: Override["field"][] = []) => {
    setSending(true);
    setMessage(null);
    setOverride(null);
    setConfirmed(confirm);
    const form = new FormData();
    photos.forEach((p) => form.append("photos", p.blob, p.name));
    confirm.forEach((field) => form.append(field, "true"));
    try {
      const result = await api<EnrollmentResult>(`/v1/students/${studentId}/enrollment`, { form });
      setVerdicts(result.photos);
      const text = result.replaced ? "enroll.done_replaced" : "enroll.done";
      setMessage({ tone: "ok", text: t(text, { count: result.templates }) });
      onEnrolled();
    } catch (err) {
      if (err instanceof ApiError && Array.isArray(err.details.photos)) setVerdicts(err.details.photos as PhotoVerdict[]);
      setMessage({ tone: "error", text: explainEnrollment(err) });
      setOverride(isAdmin ? overrideFor(err) : null);
    } finally {
      setSending(false);
    }
  };
  return (
    <div className="box">
      <h2>{t("enroll.title")}</h2>
      <p>
        {t("enroll.status")} <Badge value={state.enrollment_status} />
        {state.enrolled_at &&
          ` ${t("enroll.since", { when: formatTime(state.enrolled_at), count: state.templates ?? 0, model: state.model ?? "" })}`}
      </p>
      <p className="muted">{t("enroll.advice")}</p>
      <div className="photo-actions">
        <label className="button">
          {t("enroll.choose")}
          <input
            type="file"
            accept="image/jpeg,image/png,image/webp"
            multiple
            className="visually-hidden"
            data-testid="enroll-files"
            onChange={(e) => {
              add(Array.from(e.target.files ?? [], (file) => ({ blob: file, name: file.name })));
              e.target.value = "";
            }}
          />
        </label>
        <button type="button" onClick={() => setCamera((v) => !v)} aria-expanded={camera}>
          {camera ? t("enroll.camera_close") : t("enroll.camera_open")}
        </button>
        {photos.length > 0 && (
          <button type="button" onClick={() => (setPhotos([]), reset())}>
            {t("enroll.clear")}
          </button>
        )}
      </div>
      {camera && <CameraShots onShot={(blob) => add([{ blob, name: `camera-${Date.now()}.jpg` }])} />}
      <ol className="photos" aria-label={t("enroll.photos")}>
        {photos.map((p, i) => {
          const verdict = verdicts?.find((v) => v.index === i);
          return (
            <li key={p.url} className={verdict ? (verdict.accepted ? "accepted" : "rejected") : ""}>
              <img src={p.url} alt={t("enroll.photo_alt", { n: i + 1 })} />
              {verdict && (
                <p className="verdict" data-testid={`verdict-${i}`}>
                  {verdict.accepted ? `✓ ${t("enroll.usable")}` : `✗ ${photoReasons(verdict).join("; ") || t("enroll.not_usable")}`}
                  {verdict.quality && <span className="quality">{describeQuality(verdict.quality)}</span>}
                </p>
              )}
            </li>
          );
        })}
      </ol>
      <button type="button" className="primary" disabled={photos.length === 0 || sending} onClick={() => void submit()}>
        {sending ? t("enroll.sending") : t("enroll.submit", { count: photos.length })}
      </button>
      {message && (
        <p className={`note ${message.tone}`} role={message.tone === "error" ? "alert" : "status"}>
          {message.text}
        </p>
      )}
      {override && (
        <button type="button" disabled={sending} onClick={() => void submit([...confirmed, override.field])}>
          {override.label}
        </button>
      )}
    </div>
  );
}

/** The measures the server judged the photo by (face size, sharpness, head turn...), rounded for people. */
function describeQuality(quality: Record<string, number>): string {
  return Object.entries(quality)
    .map(([name, value]) => {
      const key = `quality.${name}`;
      const label = isMessageKey(key) ? t(key) : name.replace(/_/g, " ");
      return `${label} ${Math.abs(value) >= 10 ? Math.round(value) : value.toFixed(2)}`;
    })
    .join(" · ");
}

function relationWord(relation: string): string {
  const key = `relation.${relation}`;
  return isMessageKey(key) ? t(key) : relation;
}

function CameraShots({ onShot }: { onShot: (blob: Blob) => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let stream: MediaStream | null = null;
    let live = true;
    if (video.current)
      openCamera(video.current)
        .then((opened) => (live ? (stream = opened) : stopCamera(opened)))
        .catch((err: unknown) => live && setError(describeCameraError(err)));
    return () => {
      live = false;
      stopCamera(stream);
    };
  }, []);
  return (
    <div className="camera-shots">
      {error ? (
        <p className="note error" role="alert">
          {error}
        </p>
      ) : (
        <>
          <video ref={video} className="preview small" muted playsInline autoPlay aria-label={t("kiosk.preview")} />
          <button type="button" onClick={() => video.current && void grabFrame(video.current, 1024).then(onShot)}>
            {t("enroll.take_photo")}
          </button>
        </>
      )}
    </div>
  );
}

const TEXT_FIELDS = ["student_number", "first_name", "last_name", "display_name", "birth_date", "guardian_email"] as const;
type TextField = (typeof TEXT_FIELDS)[number];
type StudentForm = Record<TextField, string> & { active: boolean };

function formOf(student: StudentPublic): StudentForm {
  return {
    student_number: student.student_number,
    first_name: student.first_name,
    last_name: student.last_name,
    display_name: student.display_name,
    birth_date: student.birth_date ?? "",
    guardian_email: student.guardian_email ?? "",
    active: student.active,
  };
}

/** Only what the person changed, so a save never rewrites a field someone else changed meanwhile; a cleared
 * field is sent as null (the API refuses that for the required ones, which the form requires anyway). */
function changedFields(base: StudentForm, form: StudentForm): StudentUpdate {
  const patch: StudentUpdate = {};
  for (const name of TEXT_FIELDS) {
    const value = form[name].trim();
    if (value !== base[name]) patch[name] = value === "" ? null : value;
  }
  if (form.active !== base.active) patch.active = form.active;
  return patch;
}

function EditSection({ student, onSaved }: { student: StudentPublic; onSaved: () => void }) {
  const [base, setBase] = useState(() => formOf(student));
  const [form, setForm] = useState(base);
  const [saved, setSaved] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const field = (name: TextField) => ({
    value: form[name],
    onChange: (e: { target: { value: string } }) => (setForm({ ...form, [name]: e.target.value }), setSaved(null)),
  });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const patch = changedFields(base, form);
    if (Object.keys(patch).length === 0) {
      setSaved(t("student.no_changes"));
      return;
    }
    try {
      const next = formOf(await api<StudentPublic>(`/v1/students/${student.id}`, { method: "PATCH", json: patch }));
      setBase(next);
      setForm(next);
      setSaved(t("student.saved"));
      onSaved();
    } catch (err) {
      setSaved(null);
      setError(err);
    }
  };
  return (
    <div className="box">
      <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label={t("student.edit")}>
        <h2>{t("student.edit")}</h2>
        <label>
          {t("students.number_long")} <input {...field("student_number")} required />
        </label>
        <label>
          {t("students.first_name")} <input {...field("first_name")} required />
        </label>
        <label>
          {t("students.last_name")} <input {...field("last_name")} required />
        </label>
        <label>
          {t("student.display_name")} <input {...field("display_name")} required />
        </label>
        <label>
          {t("students.birth_date")} <input type="date" {...field("birth_date")} />
        </label>
        <label>
          {t("students.guardian_email")} <input type="email" {...field("guardian_email")} />
        </label>
        <label>
          <input
            type="checkbox"
            checked={form.active}
            onChange={(e) => (setForm({ ...form, active: e.target.checked }), setSaved(null))}
          />{" "}
          {t("student.active")}
        </label>
        <button type="submit" className="primary">
          {t("student.save")}
        </button>
      </form>
      {saved && (
        <p className="note ok" role="status">
          {saved}
        </p>
      )}
      <ErrorNote error={error} />
    </div>
  );
}

/** The student's lessons over a date range (teachers: their own classes' only, the server decides). */
function HistorySection({ studentId, isAdmin }: { studentId: string; isAdmin: boolean }) {
  const [from, setFrom] = useState(() => daysAgo(30));
  const [to, setTo] = useState(() => daysAgo(0));
  const report = useApi<StudentReport>(`/v1/reports/students/${studentId}`, { from, to });
  return (
    <div className="box">
      <h2>{t("history.title")}</h2>
      {!isAdmin && <p className="muted">{t("history.own_classes")}</p>}
      <div className="inline-form" role="group" aria-label={t("history.range")}>
        <label>
          {t("reports.from")} <input type="date" value={from} max={to} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          {t("reports.to")} <input type="date" value={to} min={from} onChange={(e) => setTo(e.target.value)} />
        </label>
      </div>
      <LoadState state={report}>
        {(r) => (
          <>
            <p className="totals">{t("history.totals", { ...r.totals, rate: percent(r.totals.rate) })}</p>
            {r.rows.length === 0 ? (
              <p className="muted">{t("history.none")}</p>
            ) : (
              <TableScroll label={t("history.table")}>
                <table aria-label={t("history.table")}>
                  <thead>
                    <tr>
                      <th scope="col">{t("history.when")}</th>
                      <th scope="col">{t("history.class")}</th>
                      <th scope="col">{t("history.status")}</th>
                      <th scope="col">{t("history.how")}</th>
                      <th scope="col">{t("history.record")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {r.rows.map((row) => (
                      <HistoryRow key={row.lesson_id} row={row} />
                    ))}
                  </tbody>
                </table>
              </TableScroll>
            )}
          </>
        )}
      </LoadState>
    </div>
  );
}

const HISTORY_COLUMNS = 5;

function HistoryRow({ row }: { row: StudentLessonRow }) {
  const [open, setOpen] = useState(false);
  const when = formatTime(row.starts_at);
  const method = row.method ? `method.${row.method}` : "";
  return (
    <>
      <tr>
        <th scope="row">{when}</th>
        <td>{row.class_code}</td>
        <td>
          <Badge value={row.status} />
        </td>
        <td>{isMessageKey(method) ? t(method) : (row.method ?? "")}</td>
        <td>
          {row.attendance_id && (
            <button
              type="button"
              className="link"
              aria-expanded={open}
              aria-label={t("history.changes_for", { when })}
              onClick={() => setOpen((v) => !v)}
            >
              {t("history.changes")}
            </button>
          )}
        </td>
      </tr>
      {open && row.attendance_id && (
        <tr>
          <td colSpan={HISTORY_COLUMNS}>
            <ChangesList attendanceId={row.attendance_id} />
          </td>
        </tr>
      )}
    </>
  );
}

/** Who changed one record, when, from what to what and why (staff of the class; the API answers 403 else). */
function ChangesList({ attendanceId }: { attendanceId: string }) {
  const changes = useApi<AttendanceChange[]>(`/v1/attendance/${attendanceId}/changes`);
  return (
    <LoadState state={changes}>
      {(list) =>
        list.length === 0 ? (
          <p className="muted">{t("history.no_changes")}</p>
        ) : (
          <ul className="list" aria-label={t("history.changes")}>
            {list.map((change) => (
              <li key={change.id}>
                {t("history.change", { when: formatTime(change.changed_at), by: change.changed_by })}{" "}
                {change.old_status ? <Badge value={change.old_status} /> : t("history.no_record")} →{" "}
                <Badge value={change.new_status} /> {t("history.reason", { reason: change.reason })}
              </li>
            ))}
          </ul>
        )
      }
    </LoadState>
  );
}

/** GDPR: a copy of everything held on the student, and erasure. Both are audited by the server. */
function RightsSection({ student }: { student: StudentPublic }) {
  const navigate = useNavigate();
  const [purpose, setPurpose] = useState(() => t("gdpr.purpose_default"));
  const [erasing, setErasing] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const unavailable = (err: unknown) => err instanceof ApiError && err.status === 404 && err.code === "not_found";

  const exportData = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const blob = await api<Blob>(`/v1/students/${student.id}/export`, { query: { purpose }, expect: "blob" });
      saveBlob(blob, `student-${student.student_number}-export.${blob.type.includes("zip") ? "zip" : "json"}`);
      setDone(true);
    } catch (err) {
      setError(unavailable(err) ? new Error(t("gdpr.export_unavailable")) : err);
    }
  };
  const erase = async () => {
    setErasing(false);
    setError(null);
    try {
      const receipt = await api<{ receipt_id: string; state: string }>(`/v1/students/${student.id}/erase`, { method: "POST" });
      const notice = t("gdpr.erased", { name: student.display_name, state: receipt.state, receipt: receipt.receipt_id });
      navigate("/console/students", { replace: true, state: { notice } });
    } catch (err) {
      setError(unavailable(err) ? new Error(t("gdpr.erase_unavailable")) : err);
    }
  };
  return (
    <div className="box">
      <h2>{t("gdpr.title")}</h2>
      <form className="inline-form" onSubmit={(e) => void exportData(e)} aria-label={t("gdpr.export_form")}>
        <label>
          {t("gdpr.purpose")} <input value={purpose} onChange={(e) => setPurpose(e.target.value)} required minLength={3} />
        </label>
        <button type="submit">{t("gdpr.export")}</button>
      </form>
      <button type="button" className="danger" onClick={() => setErasing(true)}>
        {t("gdpr.erase")}
      </button>
      {done && (
        <p className="note ok" role="status">
          {t("gdpr.exported")}
        </p>
      )}
      <ErrorNote error={error} />
      {erasing && (
        <ConfirmDialog
          title={t("gdpr.erase_title", { name: student.display_name })}
          confirmLabel={t("gdpr.erase_confirm")}
          confirmText={student.student_number}
          danger
          onConfirm={() => void erase()}
          onCancel={() => setErasing(false)}
        >
          <p>{t("gdpr.erase_text")}</p>
        </ConfirmDialog>
      )}
    </div>
  );
}
