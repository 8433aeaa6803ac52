// A class's weekly lessons from a timetable slot: the form, its preview (a dry run) and the report of clashes.

import { useRef, useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import { ApiError } from "../api/client";
import { api, signedInUser } from "../api/session";
import type { LessonSeriesCreate, LessonSeriesReport, SchoolPublic, Weekday } from "../api/types";
import { getLocale, t } from "../i18n";
import { ErrorNote, useApi } from "../ui/common";
import { localInput, timeRange } from "./classTime";

/** A calendar date of the school ("2026-09-07") as written in the locale, never shifted by a time zone. */
function formatDay(day: string): string {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString(getLocale(), { dateStyle: "medium", timeZone: "UTC" });
}

/** In the API's order, Monday first (its Weekday type). */
const WEEKDAYS: Weekday[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/** The weekday's name in the person's language: 1 January 2024 was a Monday. */
function weekdayName(index: number): string {
  return new Intl.DateTimeFormat(getLocale(), { weekday: "long", timeZone: "UTC" }).format(new Date(Date.UTC(2024, 0, 1 + index)));
}

/** A timetable slot as lessons: planned first (a dry run), then created all at once, or none on a clash. */
export function WeeklyLessonsForm({ classId, onCreated }: { classId: string; onCreated: () => void }) {
  const me = signedInUser();
  const school = useApi<SchoolPublic>(me ? `/v1/schools/${me.school_id}` : null);
  const [weekdays, setWeekdays] = useState<Weekday[]>([]);
  const [startTime, setStartTime] = useState("08:00");
  const [duration, setDuration] = useState(60);
  const [dateFrom, setDateFrom] = useState(() => localInput(new Date()).slice(0, 10));
  const [dateTo, setDateTo] = useState("");
  const [skipDraft, setSkipDraft] = useState("");
  const [skipDates, setSkipDates] = useState<string[]>([]);
  const [grace, setGrace] = useState(5);
  const [allowOverlap, setAllowOverlap] = useState(false);
  const [report, setReport] = useState<LessonSeriesReport | null>(null);
  const [created, setCreated] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  // which of the two submit buttons was pressed: their click runs before the form's submit
  const dryRun = useRef(true);
  const toggleDay = (day: Weekday, on: boolean) =>
    setWeekdays((days) => WEEKDAYS.filter((d) => (d === day ? on : days.includes(d))));
  const addSkip = () => {
    if (skipDraft && !skipDates.includes(skipDraft)) setSkipDates([...skipDates, skipDraft].sort());
    setSkipDraft("");
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setCreated(null);
    if (weekdays.length === 0) {
      setReport(null);
      setError(new Error(t("series.pick_day")));
      return;
    }
    const body: LessonSeriesCreate = {
      weekdays,
      start_time: startTime,
      duration_minutes: duration,
      date_from: dateFrom,
      date_to: dateTo,
      skip_dates: skipDates,
      grace_minutes: grace,
      allow_overlap: allowOverlap,
      dry_run: dryRun.current,
    };
    try {
      const answer = await api<LessonSeriesReport>(`/v1/classes/${classId}/lessons/recurring`, { json: body });
      setError(null);
      if (answer.dry_run) {
        setReport(answer);
      } else {
        setReport(null);
        setCreated(answer.created);
        onCreated();
      }
    } catch (err) {
      // a clash refuses the whole series and sends the plan with each clashing date's lesson
      const clash = err instanceof ApiError && err.code === "lesson_overlaps";
      setReport(clash ? (err.details as unknown as LessonSeriesReport) : null);
      setError(err);
    }
  };
  const clashes = report?.lessons.filter((row) => row.overlaps) ?? [];
  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label={t("series.form")}>
      <h3>{t("series.form")}</h3>
      <p className="muted small series-hint">
        {school.data ? t("series.zone_hint", { zone: school.data.timezone }) : t("series.zone_hint_plain")}
      </p>
      <fieldset className="series-days">
        <legend>{t("series.weekdays")}</legend>
        {WEEKDAYS.map((day, index) => (
          <label key={day}>
            <input type="checkbox" checked={weekdays.includes(day)} onChange={(e) => toggleDay(day, e.target.checked)} />{" "}
            {weekdayName(index)}
          </label>
        ))}
      </fieldset>
      <label>
        {t("series.start_time")} <input type="time" value={startTime} onChange={(e) => setStartTime(e.target.value)} required />
      </label>
      <label>
        {t("series.duration")}{" "}
        <input type="number" min={1} max={720} value={duration} onChange={(e) => setDuration(Number(e.target.value))} required />
      </label>
      <label>
        {t("series.date_from")} <input type="date" value={dateFrom} onChange={(e) => setDateFrom(e.target.value)} required />
      </label>
      <label>
        {t("series.date_to")}{" "}
        <input type="date" value={dateTo} min={dateFrom} onChange={(e) => setDateTo(e.target.value)} required />
      </label>
      <label>
        {t("lessons.grace")} <input type="number" min={0} max={120} value={grace} onChange={(e) => setGrace(Number(e.target.value))} />
      </label>
      <fieldset className="series-skip">
        <legend>{t("series.skip")}</legend>
        <label>
          {t("series.skip_date")}{" "}
          <input type="date" value={skipDraft} min={dateFrom} max={dateTo || undefined} onChange={(e) => setSkipDraft(e.target.value)} />
        </label>{" "}
        <button type="button" onClick={addSkip} disabled={!skipDraft}>
          {t("series.skip_add")}
        </button>
        {skipDates.length > 0 && (
          <ul className="list" aria-label={t("series.skip")}>
            {skipDates.map((day) => (
              <li key={day}>
                {formatDay(day)}{" "}
                <button
                  type="button"
                  className="link"
                  aria-label={t("series.skip_remove_named", { date: formatDay(day) })}
                  onClick={() => setSkipDates(skipDates.filter((d) => d !== day))}
                >
                  {t("series.skip_remove")}
                </button>
              </li>
            ))}
          </ul>
        )}
      </fieldset>
      {(clashes.length > 0 || allowOverlap) && (
        <label className="series-check">
          <input type="checkbox" checked={allowOverlap} onChange={(e) => setAllowOverlap(e.target.checked)} />{" "}
          {t("series.allow_overlap")}
        </label>
      )}
      <button type="submit" onClick={() => (dryRun.current = true)}>
        {t("series.preview")}
      </button>
      <button type="submit" className="primary" onClick={() => (dryRun.current = false)}>
        {t("series.create")}
      </button>
      <ErrorNote error={error} />
      {created !== null && (
        <p className="note ok" role="status">
          {t("series.created", { count: created })}
        </p>
      )}
      {report && (
        <div className="box series-report" role="region" aria-label={t("series.planned_label")}>
          <p>
            <strong>{t("series.planned", { count: report.lessons.length })}</strong>
            {clashes.length > 0 && <> {t("series.clash_count", { count: clashes.length })}</>}
          </p>
          <ul className="list">
            {report.lessons.map((row) => (
              <li key={row.day}>
                {timeRange(row.starts_at, row.ends_at)}
                {row.overlaps && (
                  <>
                    {" "}
                    <strong className="danger">{t("series.overlaps")}</strong>{" "}
                    <Link to={`/console/lessons/${row.overlaps}`}>{t("series.overlaps_link")}</Link>
                  </>
                )}
              </li>
            ))}
          </ul>
          {report.skipped.length > 0 && <p>{t("series.skipped", { dates: report.skipped.map(formatDay).join(", ") })}</p>}
        </div>
      )}
    </form>
  );
}
