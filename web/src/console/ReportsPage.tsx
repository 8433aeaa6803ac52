// Attendance reports: rates per class and per week as bars, a class's students as a table, CSV/XLSX export.

import { useEffect, useId, useState } from "react";
import { api } from "../api/session";
import type { ClassPublic, ClassReport, Page } from "../api/types";
import { BarChart, type Bar } from "../ui/BarChart";
import { t } from "../i18n";
import { ErrorNote, LoadState, TableScroll, percent, saveBlob, useAction, useApi } from "../ui/common";
import { daysAgo, weeksBetween } from "./weeks";

export function ReportsPage() {
  const classes = useApi<Page<ClassPublic>>("/v1/classes", { limit: 50 });
  const [from, setFrom] = useState(() => daysAgo(27));
  const [to, setTo] = useState(() => daysAgo(0));
  const [classId, setClassId] = useState("");
  const selected = classes.data?.items.find((c) => c.id === classId) ?? classes.data?.items[0] ?? null;
  const report = useApi<ClassReport>(selected ? `/v1/reports/classes/${selected.id}` : null, { from, to });
  const perClass = useRates(classes.data?.items ?? [], from, to);
  const perWeek = useWeekRates(selected, from, to);
  const { run, error } = useAction();
  const classField = useId();

  const download = async (format: "csv" | "xlsx") => {
    if (!selected) return;
    await run(async () => {
      const blob = await api<Blob>(`/v1/reports/classes/${selected.id}`, { query: { from, to, format }, expect: "blob" });
      saveBlob(blob, `attendance-${selected.code}-${from}-${to}.${format}`);
    });
  };

  return (
    <section>
      <h1>{t("reports.title")}</h1>
      <div className="inline-form">
        <label>
          {t("reports.from")} <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          {t("reports.to")} <input type="date" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        {/* Labelled by id, not by wrapping: a wrapping label's name would include the chosen class. */}
        <span className="field">
          <label htmlFor={classField}>{t("reports.class")}</label>
          <select id={classField} value={selected?.id ?? ""} onChange={(e) => setClassId(e.target.value)}>
            {classes.data?.items.map((c) => (
              <option key={c.id} value={c.id}>
                {c.code} · {c.name}
              </option>
            ))}
          </select>
        </span>
        <button type="button" onClick={() => void download("csv")} disabled={!selected}>
          {t("reports.export_csv")}
        </button>
        <button type="button" onClick={() => void download("xlsx")} disabled={!selected}>
          {t("reports.export_xlsx")}
        </button>
      </div>
      <ErrorNote error={error} />
      <div className="charts">
        <BarChart title={t("reports.per_class")} bars={perClass} />
        {selected && <BarChart title={t("reports.per_week", { code: selected.code })} bars={perWeek} />}
      </div>
      {selected && (
        <LoadState state={report}>
          {(r) => (
            <TableScroll label={t("reports.table")}>
            <table aria-label={t("reports.table")}>
              <caption>{t("reports.caption", { code: r.class_code, lessons: r.lessons, rate: percent(r.totals.rate) })}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("lesson.student")}</th>
                  <th scope="col">{t("reports.present")}</th>
                  <th scope="col">{t("reports.late")}</th>
                  <th scope="col">{t("reports.absent")}</th>
                  <th scope="col">{t("reports.excused")}</th>
                  <th scope="col">{t("reports.rate")}</th>
                </tr>
              </thead>
              <tbody>
                {r.rows.map((row) => (
                  <tr key={row.student_id}>
                    <th scope="row">{row.display_name}</th>
                    <td>{row.totals.present}</td>
                    <td>{row.totals.late}</td>
                    <td>{row.totals.absent}</td>
                    <td>{row.totals.excused}</td>
                    <td>{percent(row.totals.rate)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            </TableScroll>
          )}
        </LoadState>
      )}
    </section>
  );
}

function useRates(classes: ClassPublic[], from: string, to: string): Bar[] {
  const [bars, setBars] = useState<Bar[]>([]);
  const key = classes.map((c) => c.id).join(",");
  useEffect(() => {
    let live = true;
    void Promise.all(
      classes.map((c) =>
        api<ClassReport>(`/v1/reports/classes/${c.id}`, { query: { from, to } })
          .then((r): Bar => ({ label: c.code, value: r.totals.rate }))
          .catch((): Bar => ({ label: c.code, value: null })),
      ),
    ).then((all) => live && setBars(all));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- keyed by the ids
  }, [key, from, to]);
  return bars;
}

function useWeekRates(klass: ClassPublic | null, from: string, to: string): Bar[] {
  const [bars, setBars] = useState<Bar[]>([]);
  useEffect(() => {
    if (!klass) return;
    let live = true;
    void Promise.all(
      weeksBetween(from, to).map((week) =>
        api<ClassReport>(`/v1/reports/classes/${klass.id}`, { query: { from: week.from, to: week.to } })
          .then((r): Bar => ({ label: t("reports.week", { date: week.from.slice(5) }), value: r.totals.rate }))
          .catch((): Bar => ({ label: t("reports.week", { date: week.from.slice(5) }), value: null })),
      ),
    ).then((all) => live && setBars(all));
    return () => {
      live = false;
    };
  }, [klass, from, to]);
  return bars;
}
