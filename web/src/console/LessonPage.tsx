// Live attendance of one lesson: refreshed every few seconds while it runs; teachers mark, correct (one
// student or a selection at once), close, and issue one-time codes for students who check in without their face.

import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router-dom";
import { api } from "../api/session";
import type { AttendanceBulkMark, AttendanceStatus, CodeIssued, LessonPublic, LessonReport, LessonRow } from "../api/types";
import { getLocale, t, wordFor } from "../i18n";
import { Badge, ConfirmDialog, ErrorNote, LoadState, TableScroll, formatTime, percent, svgImage, useAction, useApi, useInterval } from "../ui/common";

const LIVE_REFRESH_MS = 3000;
/** The statuses a teacher may set by hand. */
const MARKS = ["present", "late", "absent", "excused"] as const satisfies readonly AttendanceStatus[];

export function LessonPage() {
  const { lessonId } = useParams();
  const lesson = useApi<LessonPublic>(`/v1/lessons/${lessonId}`);
  const report = useApi<LessonReport>(`/v1/reports/lessons/${lessonId}`);
  const running = lesson.data !== null && !lesson.data.closed_at && new Date(lesson.data.ends_at).getTime() > Date.now();
  useInterval(report.reload, running ? LIVE_REFRESH_MS : null);
  const [closing, setClosing] = useState(false);
  const { run, error } = useAction();
  // Kept by student across the live refreshes, and after a refused bulk mark (to fix and resend).
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const toggle = (studentId: string, on: boolean) =>
    setSelected((current) => {
      const next = new Set(current);
      if (on) next.add(studentId);
      else next.delete(studentId);
      return next;
    });

  const close = async () => {
    setClosing(false);
    await run(async () => {
      await api(`/v1/lessons/${lessonId}/close`, { method: "POST" });
      lesson.reload();
    });
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
            <BulkMarkForm
              lessonId={r.lesson_id}
              rows={r.rows}
              selected={selected}
              onSelect={setSelected}
              onMarked={() => (setSelected(new Set()), report.reload())}
            />
            <TableScroll label={t("lesson.table")}>
            <table aria-label={t("lesson.table")}>
              <thead>
                <tr>
                  <th scope="col">
                    <span className="visually-hidden">{t("bulk.select_column")}</span>
                  </th>
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
                  <AttendanceRow
                    key={row.student_id}
                    lessonId={r.lesson_id}
                    row={row}
                    selected={selected.has(row.student_id)}
                    onSelect={(on) => toggle(row.student_id, on)}
                    onChanged={report.reload}
                  />
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

/** The statuses a teacher may set, as a status select's options (one student's mark, or a selection's). */
function MarkOptions() {
  return MARKS.map((mark) => (
    <option key={mark} value={mark}>
      {t(`badge.${mark}`)}
    </option>
  ));
}

/** Several students at once, in one request the server keeps whole or refuses whole. */
function BulkMarkForm(props: {
  lessonId: string;
  rows: LessonRow[];
  selected: ReadonlySet<string>;
  onSelect: (selected: ReadonlySet<string>) => void;
  onMarked: () => void;
}) {
  const [status, setStatus] = useState<AttendanceStatus>("present");
  const [reason, setReason] = useState("");
  const { run, error } = useAction();
  const [done, setDone] = useState<number | null>(null);
  // In the table's order, and only students still in it.
  const chosen = props.rows.filter((row) => props.selected.has(row.student_id));
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setDone(null);
    const body: AttendanceBulkMark = { reason, marks: chosen.map((row) => ({ student_id: row.student_id, status })) };
    await run(async () => {
      await api(`/v1/lessons/${props.lessonId}/attendance`, { method: "POST", json: body });
      setReason("");
      setDone(chosen.length);
      props.onMarked();
    });
  };
  const pending = props.rows.filter((row) => row.status === "pending").map((row) => row.student_id);
  return (
    <form className="inline-form box" onSubmit={(e) => void submit(e)} aria-label={t("bulk.title")}>
      <h2>{t("bulk.title")}</h2>
      <div className="bulk-select">
        <button type="button" disabled={pending.length === 0} onClick={() => props.onSelect(new Set([...props.selected, ...pending]))}>
          {t("bulk.select_pending")}
        </button>
        <button type="button" disabled={chosen.length === 0} onClick={() => props.onSelect(new Set())}>
          {t("bulk.clear")}
        </button>
      </div>
      {chosen.length === 0 && <p className="muted bulk-hint">{t("bulk.none_selected")}</p>}
      <label>
        {t("lesson.status")}{" "}
        <select value={status} onChange={(e) => setStatus(e.target.value as AttendanceStatus)}>
          <MarkOptions />
        </select>
      </label>
      <label>
        {t("lesson.reason")}{" "}
        <input value={reason} onChange={(e) => setReason(e.target.value)} placeholder={t("lesson.reason_placeholder")} minLength={3} required />
      </label>
      <button type="submit" className="primary" disabled={chosen.length === 0}>
        {t("bulk.submit", { count: chosen.length })}
      </button>
      <ErrorNote error={error} />
      {done !== null && (
        <p className="note ok bulk-hint" role="status">
          {t("bulk.done", { count: done })}
        </p>
      )}
    </form>
  );
}

function AttendanceRow(props: {
  lessonId: string;
  row: LessonRow;
  selected: boolean;
  onSelect: (on: boolean) => void;
  onChanged: () => void;
}) {
  const { lessonId, row, onChanged } = props;
  const [marking, setMarking] = useState(false);
  const [code, setCode] = useState<CodeIssued | null>(null);
  const { run, error } = useAction();
  const issueCode = () =>
    run(async () => setCode(await api<CodeIssued>(`/v1/lessons/${lessonId}/codes`, { json: { student_id: row.student_id } })));
  return (
    <tr data-student={row.display_name}>
      <td>
        <input
          type="checkbox"
          checked={props.selected}
          onChange={(e) => props.onSelect(e.target.checked)}
          aria-label={t("bulk.select", { name: row.display_name })}
        />
      </td>
      <th scope="row">{row.display_name}</th>
      <td>{row.student_number}</td>
      <td>
        <Badge value={row.status} />
      </td>
      <td>{row.method ? wordFor("method", row.method) : ""}</td>
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
  const { run, error } = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await run(async () => {
      await api(`/v1/lessons/${lessonId}/attendance/${studentId}`, { method: "PUT", json: { status, reason } });
      onDone();
    });
  };
  return (
    <form className="mark" onSubmit={(e) => void submit(e)} aria-label={t("lesson.mark_form")}>
      <select value={status} onChange={(e) => setStatus(e.target.value)} aria-label={t("lesson.status")}>
        <MarkOptions />
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
