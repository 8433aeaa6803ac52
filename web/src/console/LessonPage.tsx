// Live attendance of one lesson: refreshed every few seconds while it runs; teachers mark, correct, close,
// and issue one-time codes for students who check in without their face.

import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router-dom";
import { api } from "../api/session";
import type { CodeIssued, LessonPublic, LessonReport, LessonRow } from "../api/types";
import { getLocale, isMessageKey, t } from "../i18n";
import { Badge, ConfirmDialog, ErrorNote, LoadState, TableScroll, formatTime, percent, svgImage, useApi, useInterval } from "../ui/common";

const LIVE_REFRESH_MS = 3000;
/** The statuses a teacher may set by hand. */
const MARKS = ["present", "late", "absent", "excused"] as const;

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
              {t("lesson.title", { when: formatTime(s.starts_at) })}{" "}
              <Link className="small" to={`/console/classes/${s.class_id}`}>
                {t("lesson.class_link")}
              </Link>
            </h1>
            {running ? (
              <span className="live">
                <span aria-hidden="true">● </span>
                {t("lesson.live")}
                <span className="visually-hidden"> {t("lesson.live_note")}</span>
              </span>
            ) : (
              <Badge value={s.closed_at ? "closed" : "over"} />
            )}
            {running && (
              <button type="button" onClick={() => setClosing(true)}>
                {t("lesson.close")}
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
              {t("lesson.present")} <strong data-testid="present-count">{r.totals.present}</strong> · {t("lesson.late")}{" "}
              <strong>{r.totals.late}</strong> · {t("lesson.absent")} <strong>{r.totals.absent}</strong> · {t("lesson.pending")}{" "}
              {r.rows.filter((row) => row.status === "pending").length}
              {r.unknown_faces ? ` · ${t("lesson.unknown_faces", { count: r.unknown_faces })}` : ""} ·{" "}
              {t("lesson.rate", { rate: percent(r.totals.rate) })}
            </p>
            <TableScroll label={t("lesson.table")}>
            <table aria-label={t("lesson.table")}>
              <thead>
                <tr>
                  <th scope="col">{t("lesson.student")}</th>
                  <th scope="col">{t("lesson.number")}</th>
                  <th scope="col">{t("lesson.status")}</th>
                  <th scope="col">{t("lesson.how")}</th>
                  <th scope="col">{t("lesson.when")}</th>
                  <th scope="col">{t("lesson.actions")}</th>
                </tr>
              </thead>
              <tbody>
                {r.rows.map((row) => (
                  <AttendanceRow key={row.student_id} lessonId={r.lesson_id} row={row} onChanged={report.reload} />
                ))}
              </tbody>
            </table>
            </TableScroll>
          </>
        )}
      </LoadState>
      {closing && (
        <ConfirmDialog title={t("lesson.close_title")} confirmLabel={t("lesson.close_confirm")} onConfirm={() => void close()} onCancel={() => setClosing(false)}>
          <p>{t("lesson.close_text")}</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function AttendanceRow({ lessonId, row, onChanged }: { lessonId: string; row: LessonRow; onChanged: () => void }) {
  const [marking, setMarking] = useState(false);
  const [code, setCode] = useState<CodeIssued | null>(null);
  const [error, setError] = useState<unknown>(null);
  const issueCode = async () => {
    try {
      setCode(await api<CodeIssued>(`/v1/lessons/${lessonId}/codes`, { json: { student_id: row.student_id } }));
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  const method = row.method ? `method.${row.method}` : "";
  return (
    <tr data-student={row.display_name}>
      <th scope="row">{row.display_name}</th>
      <td>{row.student_number}</td>
      <td>
        <Badge value={row.status} />
      </td>
      <td>{isMessageKey(method) ? t(method) : (row.method ?? "")}</td>
      <td>{row.recorded_at ? new Date(row.recorded_at).toLocaleTimeString(getLocale()) : ""}</td>
      <td>
        {marking ? (
          <MarkForm lessonId={lessonId} studentId={row.student_id} onDone={() => (setMarking(false), onChanged())} />
        ) : (
          <button type="button" className="link" onClick={() => setMarking(true)}>
            {t("lesson.mark")}
          </button>
        )}
        {row.status === "pending" && (
          <button type="button" className="link" onClick={() => void issueCode()}>
            {t("lesson.code")}
          </button>
        )}
        {code && (
          <span className="code" aria-live="polite">
            {t("lesson.code_is")} <strong>{code.code}</strong>
            <img className="qr" src={svgImage(code.qr_svg)} alt={t("lesson.code_qr", { code: code.code })} width={128} height={128} />
          </span>
        )}
        <ErrorNote error={error} />
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
    <form className="mark" onSubmit={(e) => void submit(e)} aria-label={t("lesson.mark_form")}>
      <select value={status} onChange={(e) => setStatus(e.target.value)} aria-label={t("lesson.status")}>
        {MARKS.map((mark) => (
          <option key={mark} value={mark}>
            {t(`badge.${mark}`)}
          </option>
        ))}
      </select>
      <input
        value={reason}
        onChange={(e) => setReason(e.target.value)}
        placeholder={t("lesson.reason_placeholder")}
        aria-label={t("lesson.reason")}
        minLength={3}
        required
      />
      <button type="submit">{t("common.save")}</button>
      <ErrorNote error={error} />
    </form>
  );
}
