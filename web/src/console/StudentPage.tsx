// One student: consent, face enrollment (photos or the camera, with each photo's quality verdict), and the
// GDPR rights (export, erase) behind a confirmation.

import { useEffect, useRef, useState, type FormEvent } from "react";
import { useNavigate, useParams } from "react-router-dom";
import { ApiError, explain } from "../api/client";
import { api } from "../api/session";
import type { EnrollmentResult, EnrollmentState, PhotoVerdict, StudentPublic } from "../api/types";
import { grabFrame, openCamera, stopCamera } from "../kiosk/camera";
import { describeCameraError } from "../kiosk/outcome";
import { Badge, ConfirmDialog, ErrorNote, LoadState, formatTime, saveBlob, useApi } from "../ui/common";
import { explainEnrollment, overrideFor, photoReasons, type Override } from "./enrollmentText";

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
              {s.birth_date && ` · born ${s.birth_date}`}
              {s.guardian_email && ` · guardian ${s.guardian_email}`}
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
              <p className="note">Enrollment needs a current consent first. Without one the student checks in with a code.</p>
            )}
          </>
        )}
      </LoadState>
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
      <h2>Biometric consent</h2>
      {state.consent ? (
        <p>
          Given by {state.consent.granted_by_name} ({state.consent.granted_by_relation}) on {formatTime(state.consent.granted_at)}, text{" "}
          {state.consent.version}
          {!state.consent_current && <strong> — an older text: record consent to the current one.</strong>}{" "}
          <button type="button" className="link danger" onClick={() => setWithdrawing(true)}>
            Withdraw consent
          </button>
        </p>
      ) : (
        <p>No consent recorded.</p>
      )}
      {(!state.consent || !state.consent_current) && (
        <form className="inline-form" onSubmit={(e) => void grant(e)} aria-label="Record consent">
          <label>
            Given by (full name) <input value={name} onChange={(e) => setName(e.target.value)} required />
          </label>
          <label>
            Relation
            <select value={relation} onChange={(e) => setRelation(e.target.value as "self" | "guardian")}>
              <option value="guardian">guardian</option>
              <option value="self">the student (adult)</option>
            </select>
          </label>
          <button type="submit" className="primary">
            Record consent
          </button>
        </form>
      )}
      <ErrorNote error={error} />
      {withdrawing && (
        <ConfirmDialog
          title="Withdraw consent?"
          confirmLabel="Withdraw and erase the face"
          danger
          onConfirm={() => void withdraw()}
          onCancel={() => setWithdrawing(false)}
        >
          <p>The student's face data is erased everywhere at once. Attendance records stay.</p>
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
      const replaced = result.replaced ? ", replacing the face enrolled before" : "";
      setMessage({ tone: "ok", text: `Enrolled from ${result.templates} photo(s)${replaced}.` });
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
      <h2>Face enrollment</h2>
      <p>
        Status: <Badge value={state.enrollment_status} />
        {state.enrolled_at && ` since ${formatTime(state.enrolled_at)} (${state.templates} photos, ${state.model})`}
      </p>
      <p className="muted">3 to 5 different photos of the student alone, facing the camera, in good light. A new enrollment replaces the old one if it shows the same face.</p>
      <div className="photo-actions">
        <label className="button">
          Choose photos
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
          {camera ? "Close camera" : "Use the camera"}
        </button>
        {photos.length > 0 && (
          <button type="button" onClick={() => (setPhotos([]), reset())}>
            Clear
          </button>
        )}
      </div>
      {camera && <CameraShots onShot={(blob) => add([{ blob, name: `camera-${Date.now()}.jpg` }])} />}
      <ol className="photos" aria-label="Photos to enroll">
        {photos.map((p, i) => {
          const verdict = verdicts?.find((v) => v.index === i);
          return (
            <li key={p.url} className={verdict ? (verdict.accepted ? "accepted" : "rejected") : ""}>
              <img src={p.url} alt={`Photo ${i + 1}`} />
              {verdict && (
                <p className="verdict" data-testid={`verdict-${i}`}>
                  {verdict.accepted ? "✓ usable" : `✗ ${photoReasons(verdict).join("; ") || "not usable"}`}
                  {verdict.quality && <span className="quality">{describeQuality(verdict.quality)}</span>}
                </p>
              )}
            </li>
          );
        })}
      </ol>
      <button type="button" className="primary" disabled={photos.length === 0 || sending} onClick={() => void submit()}>
        {sending ? "Enrolling…" : `Enroll ${photos.length} photo(s)`}
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
    .map(([name, value]) => `${name.replace(/_/g, " ")} ${Math.abs(value) >= 10 ? Math.round(value) : value.toFixed(2)}`)
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
          <video ref={video} className="preview small" muted playsInline autoPlay aria-label="Camera preview" />
          <button type="button" onClick={() => video.current && void grabFrame(video.current, 1024).then(onShot)}>
            Take photo
          </button>
        </>
      )}
    </div>
  );
}

/** GDPR: a copy of everything held on the student, and erasure. Both are audited by the server. */
function RightsSection({ student }: { student: StudentPublic }) {
  const navigate = useNavigate();
  const [purpose, setPurpose] = useState("subject access request");
  const [erasing, setErasing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const unavailable = (err: unknown) => err instanceof ApiError && err.status === 404 && err.code === "not_found";

  const exportData = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const blob = await api<Blob>(`/v1/students/${student.id}/export`, { query: { purpose }, expect: "blob" });
      saveBlob(blob, `student-${student.student_number}-export.${blob.type.includes("zip") ? "zip" : "json"}`);
      setDone("Export downloaded.");
    } catch (err) {
      setError(unavailable(err) ? "Data export is not available on this server yet." : explain(err));
    }
  };
  const erase = async () => {
    setErasing(false);
    setError(null);
    try {
      const receipt = await api<{ receipt_id: string; state: string }>(`/v1/students/${student.id}/erase`, { method: "POST" });
      const notice = `${student.display_name} was erased (${receipt.state}; receipt ${receipt.receipt_id}).`;
      navigate("/console/students", { replace: true, state: { notice } });
    } catch (err) {
      setError(unavailable(err) ? "Erasure is not available on this server yet." : explain(err));
    }
  };
  return (
    <div className="box">
      <h2>Data protection (GDPR)</h2>
      <form className="inline-form" onSubmit={(e) => void exportData(e)} aria-label="Export student data">
        <label>
          Purpose <input value={purpose} onChange={(e) => setPurpose(e.target.value)} required minLength={3} />
        </label>
        <button type="submit">Export all data</button>
      </form>
      <button type="button" className="danger" onClick={() => setErasing(true)}>
        Erase student…
      </button>
      {done && <p className="note ok" role="status">{done}</p>}
      {error && <ErrorNote error={new Error(error)} />}
      {erasing && (
        <ConfirmDialog
          title={`Erase ${student.display_name}?`}
          confirmLabel="Erase for good"
          confirmText={student.student_number}
          danger
          onConfirm={() => void erase()}
          onCancel={() => setErasing(false)}
        >
          <p>Face data, consent and attendance records of this student are deleted everywhere. This cannot be undone.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}
