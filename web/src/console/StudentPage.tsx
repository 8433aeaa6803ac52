// One student: consent, face enrollment (photos or the camera, with each photo's quality verdict), and below
// them the attendance history, the record itself (admins edit it, and the guardian contacts) and the GDPR rights.

import { useEffect, useRef, useState, type FormEvent } from "react";
import { useParams } from "react-router-dom";
import { ApiError } from "../api/client";
import { api } from "../api/session";
import type { EnrollmentResult, EnrollmentState, PhotoVerdict, StudentPublic } from "../api/types";
import { grabFrame, openCamera, stopCamera } from "../kiosk/camera";
import { describeCameraError } from "../kiosk/outcome";
import { isMessageKey, t, wordFor } from "../i18n";
import { Badge, ConfirmDialog, ErrorNote, LoadState, formatTime, useAction, useApi } from "../ui/common";
import { HistorySection } from "./AttendanceHistory";
import { ContactsSection } from "./ContactsSection";
import { explainEnrollment, overrideFor, photoReasons, type Override } from "./enrollmentText";
import { EditSection } from "./StudentEditForm";
import { RightsSection } from "./StudentRights";

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
  const { run, error } = useAction();
  const grant = async (event: FormEvent) => {
    event.preventDefault();
    await run(async () => {
      await api(`/v1/students/${studentId}/consents`, { json: { granted_by_name: name, relation } });
      onChanged();
    });
  };
  const withdraw = async () => {
    setWithdrawing(false);
    await run(async () => {
      await api(`/v1/students/${studentId}/consents`, { method: "DELETE" });
      onChanged();
    });
  };
  return (
    <div className="box">
      <h2>{t("consent.title")}</h2>
      {state.consent ? (
        <p>
          {t("consent.given", {
            name: state.consent.granted_by_name,
            relation: wordFor("relation", state.consent.granted_by_relation),
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
