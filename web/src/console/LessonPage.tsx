// Live attendance of one lesson: refreshed every few seconds while it runs; teachers mark, correct, close,
// and issue one-time codes for students who check in without their face.

import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router-dom";
import { explain } from "../api/client";
import { api } from "../api/session";
import type { LessonPublic, LessonReport, LessonRow } from "../api/types";
import { Badge, ConfirmDialog, ErrorNote, LoadState, formatTime, percent, useApi, useInterval } from "../ui/common";

const LIVE_REFRESH_MS = 3000;

export function LessonPage() {
  const { lessonId } = useParams();
  const lesson = useApi<LessonPublic>(`/v1/lessons/${lessonId}`);
  const report = useApi<LessonReport>(`/v1/reports/lessons/${lessonId}`);
  const running = lesson.data !== null && !lesson.data.closed_at && new Date(lesson.data.ends_at).getTime() > Date.now();
  useInterval(report.reload, running ? LIVE_REFRESH_MS : null);
  const [closing, setClosing] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const close = async () => {
    setClosing(false);
    try {
      await api(`/v1/lessons/${lessonId}/close`, { method: "POST" });
      lesson.reload();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section>
      <LoadState state={lesson}>
        {(s) => (
          <header className="page-head">
            <h1>
              Lesson {formatTime(s.starts_at)}{" "}
              <Link className="small" to={`/console/classes/${s.class_id}`}>
                (class)
              </Link>
            </h1>
            {running ? (
              <span className="live" aria-label="Live: updates every few seconds">
                ● live
              </span>
            ) : (
              <Badge value={s.closed_at ? "closed" : "over"} />
            )}
            {running && (
              <button type="button" onClick={() => setClosing(true)}>
                Close check-ins
              </button>
            )}
          </header>
        )}
      </LoadState>
      <ErrorNote error={error} />
      <LoadState state={report}>
        {(r) => (
          <>
            <p className="totals" aria-live="polite">
              <strong data-testid="present-count">{r.totals.present}</strong> present · <strong>{r.totals.late}</strong> late ·{" "}
              <strong>{r.totals.absent}</strong> absent · {r.rows.filter((row) => row.status === "pending").length} not yet
              {r.unknown_faces ? ` · ${r.unknown_faces} unrecognised face(s) at the kiosk` : ""} · rate {percent(r.totals.rate)}
            </p>
            <table aria-label="Attendance">
              <thead>
                <tr>
                  <th scope="col">Student</th>
                  <th scope="col">Number</th>
                  <th scope="col">Status</th>
                  <th scope="col">How</th>
                  <th scope="col">When</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {r.rows.map((row) => (
                  <AttendanceRow key={row.student_id} lessonId={r.lesson_id} row={row} onChanged={report.reload} />
                ))}
              </tbody>
            </table>
          </>
        )}
      </LoadState>
      {closing && (
        <ConfirmDialog title="Close check-ins?" confirmLabel="Close" onConfirm={() => void close()} onCancel={() => setClosing(false)}>
          <p>Kiosks stop accepting check-ins for this lesson. Marks by hand stay possible.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function AttendanceRow({ lessonId, row, onChanged }: { lessonId: string; row: LessonRow; onChanged: () => void }) {
  const [marking, setMarking] = useState(false);
  const [code, setCode] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const issueCode = async () => {
    try {
      const issued = await api<{ code: string }>(`/v1/lessons/${lessonId}/codes`, { json: { student_id: row.student_id } });
      setCode(issued.code);
      setError(null);
    } catch (err) {
      setError(explain(err));
    }
  };
  return (
    <tr data-student={row.display_name}>
      <th scope="row">{row.display_name}</th>
      <td>{row.student_number}</td>
      <td>
        <Badge value={row.status} />
      </td>
      <td>{row.method ?? ""}</td>
      <td>{row.recorded_at ? new Date(row.recorded_at).toLocaleTimeString() : ""}</td>
      <td>
        {marking ? (
          <MarkForm lessonId={lessonId} studentId={row.student_id} onDone={() => (setMarking(false), onChanged())} />
        ) : (
          <button type="button" className="link" onClick={() => setMarking(true)}>
            Mark…
          </button>
        )}
        {row.status === "pending" && (
          <button type="button" className="link" onClick={() => void issueCode()}>
            Code
          </button>
        )}
        {code && (
          <span className="code" aria-live="polite">
            Code: <strong>{code}</strong>
          </span>
        )}
        {error && <span className="note error">{error}</span>}
      </td>
    </tr>
  );
}

function MarkForm({ lessonId, studentId, onDone }: { lessonId: string; studentId: string; onDone: () => void }) {
  const [status, setStatus] = useState("present");
  const [reason, setReason] = useState("");
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    try {
      await api(`/v1/lessons/${lessonId}/attendance/${studentId}`, { method: "PUT", json: { status, reason } });
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="mark" onSubmit={(e) => void submit(e)} aria-label="Mark attendance">
      <select value={status} onChange={(e) => setStatus(e.target.value)} aria-label="Status">
        <option value="present">present</option>
        <option value="late">late</option>
        <option value="absent">absent</option>
        <option value="excused">excused</option>
      </select>
      <input value={reason} onChange={(e) => setReason(e.target.value)} placeholder="Reason (kept)" aria-label="Reason" minLength={3} required />
      <button type="submit">Save</button>
      <ErrorNote error={error} />
    </form>
  );
}
