// A student's attendance history: the date range, the table of lessons, and each record's changes on demand.

import { useState } from "react";
import type { AttendanceChange, StudentLessonRow, StudentReport } from "../api/types";
import { t, wordFor } from "../i18n";
import { Badge, LoadState, TableScroll, formatTime, percent, useApi } from "../ui/common";
import { daysAgo } from "./weeks";

/** The student's lessons over a date range (teachers: their own classes' only, the server decides). */
export function HistorySection({ studentId, isAdmin }: { studentId: string; isAdmin: boolean }) {
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
  return (
    <>
      <tr>
        <th scope="row">{when}</th>
        <td>{row.class_code}</td>
        <td>
          <Badge value={row.status} />
        </td>
        <td>{row.method ? wordFor("method", row.method) : ""}</td>
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
