// Attendance reports: rates per class and per week as bars, a class's students as a table, CSV/XLSX export.

import { useEffect, useState } from "react";
import { explain } from "../api/client";
import { api } from "../api/session";
import type { ClassPublic, ClassReport, Page } from "../api/types";
import { BarChart, type Bar } from "../ui/BarChart";
import { ErrorNote, LoadState, percent, saveBlob, useApi } from "../ui/common";
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
  const [error, setError] = useState<string | null>(null);

  const download = async (format: "csv" | "xlsx") => {
    if (!selected) return;
    try {
      const blob = await api<Blob>(`/v1/reports/classes/${selected.id}`, { query: { from, to, format }, expect: "blob" });
      saveBlob(blob, `attendance-${selected.code}-${from}-${to}.${format}`);
      setError(null);
    } catch (err) {
      setError(explain(err));
    }
  };

  return (
    <section>
      <h1>Reports</h1>
      <div className="inline-form">
        <label>
          From <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          To <input type="date" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <label>
          Class
          <select value={selected?.id ?? ""} onChange={(e) => setClassId(e.target.value)}>
            {classes.data?.items.map((c) => (
              <option key={c.id} value={c.id}>
                {c.code} · {c.name}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => void download("csv")} disabled={!selected}>
          Export CSV
        </button>
        <button type="button" onClick={() => void download("xlsx")} disabled={!selected}>
          Export XLSX
        </button>
      </div>
      {error && <ErrorNote error={new Error(error)} />}
      <div className="charts">
        <BarChart title="Attendance rate per class" bars={perClass} />
        {selected && <BarChart title={`${selected.code}: attendance rate per week`} bars={perWeek} />}
      </div>
      {selected && (
        <LoadState state={report}>
          {(r) => (
            <table aria-label="Class report">
              <caption>
                {r.class_code}: {r.lessons} lesson(s), rate {percent(r.totals.rate)}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Student</th>
                  <th scope="col">Present</th>
                  <th scope="col">Late</th>
                  <th scope="col">Absent</th>
                  <th scope="col">Excused</th>
                  <th scope="col">Rate</th>
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
          .then((r): Bar => ({ label: `wk ${week.from.slice(5)}`, value: r.totals.rate }))
          .catch((): Bar => ({ label: `wk ${week.from.slice(5)}`, value: null })),
      ),
    ).then((all) => live && setBars(all));
    return () => {
      live = false;
    };
  }, [klass, from, to]);
  return bars;
}
