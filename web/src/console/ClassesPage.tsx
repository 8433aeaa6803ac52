// Classes (admins create, edit and delete them, and name their teacher), one class's lessons (scheduled
// one at a time or as a weekly series) and its members.

import { useRef, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { ApiError } from "../api/client";
import { api, sessionState } from "../api/session";
import type {
  ClassCreate,
  ClassPublic,
  ClassUpdate,
  LessonPublic,
  LessonSeriesCreate,
  LessonSeriesReport,
  Page,
  SchoolPublic,
  StudentPublic,
  UserPublic,
  Weekday,
} from "../api/types";
import { getLocale, t } from "../i18n";
import { Badge, ConfirmDialog, ErrorNote, LoadState, TableScroll, formatTime, useApi, type Loaded } from "../ui/common";

/** Who is signed in; an expired session still knows (the page stays up under the sign-in dialog). */
function signedInUser(): UserPublic | null {
  const state = sessionState();
  return state.status === "signed_out" ? null : state.user;
}

/** The school's teachers, inactive ones included (a class may still name one); only admins may list users. */
function useTeachers(isAdmin: boolean): Loaded<Page<UserPublic>> {
  return useApi<Page<UserPublic>>(isAdmin ? "/v1/users" : null, { limit: 200, role: "teacher" });
}

/** A teacher can't list users, so they see their own name only: on their own classes. */
function teacherName(teacherId: string | null, teachers: UserPublic[]): string {
  if (!teacherId) return "";
  const me = signedInUser();
  if (me?.id === teacherId) return me.full_name;
  return teachers.find((u) => u.id === teacherId)?.full_name ?? "";
}

/** A class code taken already: the API's generic "duplicate" speaks of user emails. */
function classError(err: unknown): unknown {
  return err instanceof ApiError && err.code === "duplicate" ? new Error(t("classes.code_taken")) : err;
}

export function ClassesPage({ isAdmin }: { isAdmin: boolean }) {
  const classes = useApi<Page<ClassPublic>>("/v1/classes", { limit: 200 });
  const teachers = useTeachers(isAdmin);
  const teacherList = teachers.data?.items ?? [];
  return (
    <section>
      <h1>{t("classes.title")}</h1>
      <LoadState state={classes}>
        {(page) =>
          page.items.length === 0 ? (
            <p className="muted">{t("classes.none")}</p>
          ) : (
            <TableScroll label={t("classes.table")}>
              <table aria-label={t("classes.table")}>
                <thead>
                  <tr>
                    <th scope="col">{t("classes.code")}</th>
                    <th scope="col">{t("classes.name")}</th>
                    <th scope="col">{t("classes.room")}</th>
                    <th scope="col">{t("classes.teacher")}</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((c) => (
                    <tr key={c.id}>
                      <td>
                        <Link to={`/console/classes/${c.id}`}>{c.code}</Link>
                      </td>
                      <td>{c.name}</td>
                      <td>{c.room ?? ""}</td>
                      <td>{teacherName(c.teacher_id, teacherList)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
          )
        }
      </LoadState>
      {isAdmin && <NewClassForm teachers={teachers} onCreated={classes.reload} />}
    </section>
  );
}

/** The school's active teachers, plus the one ``value`` names even when deactivated (kept unless changed). */
function TeacherSelect({ teachers, value, onChange }: { teachers: UserPublic[]; value: string; onChange: (id: string) => void }) {
  return (
    <label>
      {t("classes.teacher")}
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">{t("classes.no_teacher")}</option>
        {teachers
          .filter((u) => u.is_active || u.id === value)
          .map((u) => (
            <option key={u.id} value={u.id}>
              {u.full_name}
            </option>
          ))}
      </select>
    </label>
  );
}

function NewClassForm({ teachers, onCreated }: { teachers: Loaded<Page<UserPublic>>; onCreated: () => void }) {
  const [code, setCode] = useState("");
  const [name, setName] = useState("");
  const [room, setRoom] = useState("");
  const [teacherId, setTeacherId] = useState("");
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    try {
      const body: ClassCreate = { code, name, room: room || null, teacher_id: teacherId || null };
      await api("/v1/classes", { json: body });
      setCode("");
      setName("");
      setRoom("");
      setTeacherId("");
      setError(null);
      onCreated();
    } catch (err) {
      setError(classError(err));
    }
  };
  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label={t("classes.new")}>
      <h2>{t("classes.new")}</h2>
      <label>
        {t("classes.code")} <input value={code} onChange={(e) => setCode(e.target.value)} required />
      </label>
      <label>
        {t("classes.name")} <input value={name} onChange={(e) => setName(e.target.value)} required />
      </label>
      <label>
        {t("classes.room")} <input value={room} onChange={(e) => setRoom(e.target.value)} />
      </label>
      <TeacherSelect teachers={teachers.data?.items ?? []} value={teacherId} onChange={setTeacherId} />
      <button type="submit" className="primary">
        {t("classes.create")}
      </button>
      <ErrorNote error={teachers.error} onRetry={teachers.reload} />
      <ErrorNote error={error} />
    </form>
  );
}

function isOpen(s: LessonPublic, now = Date.now()): boolean {
  return !s.closed_at && new Date(s.ends_at).getTime() > now && new Date(s.starts_at).getTime() - 15 * 60_000 <= now;
}

/** A lesson's times in this browser's locale and zone: "3 Sept 2026, 08:00 – 09:00". */
function timeRange(startsAt: string, endsAt: string): string {
  return `${formatTime(startsAt)} – ${new Date(endsAt).toLocaleTimeString(getLocale(), { timeStyle: "short" })}`;
}

/** A calendar date of the school ("2026-09-07") as written in the locale, never shifted by a time zone. */
function formatDay(day: string): string {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString(getLocale(), { dateStyle: "medium", timeZone: "UTC" });
}

export function ClassPage({ isAdmin }: { isAdmin: boolean }) {
  const { classId } = useParams();
  const klass = useApi<ClassPublic>(`/v1/classes/${classId}`);
  const lessons = useApi<Page<LessonPublic>>(`/v1/classes/${classId}/lessons`, { limit: 50 });
  const members = useApi<Page<StudentPublic>>(`/v1/classes/${classId}/members`, { limit: 200 });
  const teachers = useTeachers(isAdmin);
  const [removing, setRemoving] = useState<StudentPublic | null>(null);
  const [memberError, setMemberError] = useState<unknown>(null);
  const canSchedule = isAdmin || (klass.data !== null && klass.data.teacher_id === signedInUser()?.id);
  const remove = async (student: StudentPublic) => {
    setRemoving(null);
    try {
      await api(`/v1/classes/${classId}/members/${student.id}`, { method: "DELETE", expect: "none" });
      setMemberError(null);
      members.reload();
    } catch (err) {
      setMemberError(err);
    }
  };
  return (
    <section>
      <LoadState state={klass}>
        {(c) => (
          <h1>
            {c.code} · {c.name} {c.room && <span className="muted">{t("classes.in_room", { room: c.room })}</span>}
          </h1>
        )}
      </LoadState>
      <h2>{t("classes.lessons")}</h2>
      <LoadState state={lessons}>
        {(page) =>
          page.items.length === 0 ? (
            <p className="muted">{t("classes.no_lessons")}</p>
          ) : (
            <ul className="list">
              {page.items.map((s) => (
                <li key={s.id}>
                  <Link to={`/console/lessons/${s.id}`}>{timeRange(s.starts_at, s.ends_at)}</Link>{" "}
                  {s.room && <span className="muted">{t("classes.in_room", { room: s.room })}</span>} {isOpen(s) && <Badge value="open" />}
                  {s.closed_at && <Badge value="closed" />}
                </li>
              ))}
            </ul>
          )
        }
      </LoadState>
      {classId && <NewLessonForm classId={classId} onCreated={lessons.reload} />}
      {classId && canSchedule && <WeeklyLessonsForm classId={classId} onCreated={lessons.reload} />}
      <h2>{t("classes.members")}</h2>
      <LoadState state={members}>
        {(page) => (
          <ul className="list">
            {page.items.map((s) => (
              <li key={s.id}>
                <Link to={`/console/students/${s.id}`}>{s.display_name}</Link> <Badge value={s.enrollment_status} />
                {isAdmin && (
                  <>
                    {" "}
                    <button
                      type="button"
                      className="link danger"
                      aria-label={t("members.remove_named", { name: s.display_name })}
                      onClick={() => setRemoving(s)}
                    >
                      {t("members.remove")}
                    </button>
                  </>
                )}
              </li>
            ))}
            {page.items.length === 0 && <li className="muted">{t("classes.no_members")}</li>}
          </ul>
        )}
      </LoadState>
      <ErrorNote error={memberError} />
      {isAdmin && classId && <AddMemberForm classId={classId} onAdded={members.reload} />}
      {isAdmin && klass.data && (
        // keyed by what was saved: after a reload the form starts again from the class as it now is
        <EditClass key={JSON.stringify(klass.data)} klass={klass.data} teachers={teachers} onSaved={klass.reload} />
      )}
      {removing && (
        <ConfirmDialog
          title={t("members.remove_title", { name: removing.display_name })}
          confirmLabel={t("members.remove")}
          danger
          onConfirm={() => void remove(removing)}
          onCancel={() => setRemoving(null)}
        >
          <p>{t("members.remove_text")}</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function EditClass({ klass, teachers, onSaved }: { klass: ClassPublic; teachers: Loaded<Page<UserPublic>>; onSaved: () => void }) {
  const navigate = useNavigate();
  const [code, setCode] = useState(klass.code);
  const [name, setName] = useState(klass.name);
  const [room, setRoom] = useState(klass.room ?? "");
  const [teacherId, setTeacherId] = useState(klass.teacher_id ?? "");
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const save = async (event: FormEvent) => {
    event.preventDefault();
    try {
      // explicit nulls: an emptied room or "no teacher" clears them
      const body: ClassUpdate = { code, name, room: room || null, teacher_id: teacherId || null };
      await api(`/v1/classes/${klass.id}`, { method: "PATCH", json: body });
      setError(null);
      onSaved();
    } catch (err) {
      setError(classError(err));
    }
  };
  const erase = async () => {
    setConfirmDelete(false);
    try {
      await api(`/v1/classes/${klass.id}`, { method: "DELETE", expect: "none" });
      navigate("/console/classes");
    } catch (err) {
      setError(err);
    }
  };
  return (
    <>
      <form className="inline-form" onSubmit={(e) => void save(e)} aria-label={t("classes.edit")}>
        <h2>{t("classes.edit")}</h2>
        <label>
          {t("classes.code")} <input value={code} onChange={(e) => setCode(e.target.value)} required />
        </label>
        <label>
          {t("classes.name")} <input value={name} onChange={(e) => setName(e.target.value)} required />
        </label>
        <label>
          {t("classes.room")} <input value={room} onChange={(e) => setRoom(e.target.value)} />
        </label>
        <TeacherSelect teachers={teachers.data?.items ?? []} value={teacherId} onChange={setTeacherId} />
        <button type="submit" className="primary">
          {t("common.save")}
        </button>
        <button type="button" className="danger" onClick={() => setConfirmDelete(true)}>
          {t("classes.delete")}
        </button>
        <ErrorNote error={teachers.error} onRetry={teachers.reload} />
        <ErrorNote error={error} />
      </form>
      {confirmDelete && (
        <ConfirmDialog
          title={t("classes.delete_title", { code: klass.code })}
          confirmLabel={t("classes.delete")}
          danger
          onConfirm={() => void erase()}
          onCancel={() => setConfirmDelete(false)}
        >
          <p>{t("classes.delete_text")}</p>
        </ConfirmDialog>
      )}
    </>
  );
}

function localInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function NewLessonForm({ classId, onCreated }: { classId: string; onCreated: () => void }) {
  const [start, setStart] = useState(() => localInput(new Date()));
  const [minutes, setMinutes] = useState(60);
  const [grace, setGrace] = useState(5);
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const startsAt = new Date(start);
    const endsAt = new Date(startsAt.getTime() + minutes * 60_000);
    try {
      await api(`/v1/classes/${classId}/lessons`, {
        json: { starts_at: startsAt.toISOString(), ends_at: endsAt.toISOString(), grace_minutes: grace },
      });
      setError(null);
      onCreated();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label={t("lessons.form")}>
      <h3>{t("lessons.heading")}</h3>
      <label>
        {t("lessons.starts")} <input type="datetime-local" value={start} onChange={(e) => setStart(e.target.value)} required />
      </label>
      <label>
        {t("lessons.minutes")} <input type="number" min={5} max={720} value={minutes} onChange={(e) => setMinutes(Number(e.target.value))} />
      </label>
      <label>
        {t("lessons.grace")} <input type="number" min={0} max={120} value={grace} onChange={(e) => setGrace(Number(e.target.value))} />
      </label>
      <button type="submit" className="primary">
        {t("lessons.schedule")}
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

/** In the API's order, Monday first (its Weekday type). */
const WEEKDAYS: Weekday[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/** The weekday's name in the person's language: 1 January 2024 was a Monday. */
function weekdayName(index: number): string {
  return new Intl.DateTimeFormat(getLocale(), { weekday: "long", timeZone: "UTC" }).format(new Date(Date.UTC(2024, 0, 1 + index)));
}

/** A timetable slot as lessons: planned first (a dry run), then created all at once, or none on a clash. */
function WeeklyLessonsForm({ classId, onCreated }: { classId: string; onCreated: () => void }) {
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

function AddMemberForm({ classId, onAdded }: { classId: string; onAdded: () => void }) {
  const students = useApi<Page<StudentPublic>>("/v1/students", { limit: 200 });
  const [studentId, setStudentId] = useState("");
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    try {
      await api(`/v1/classes/${classId}/members/${studentId}`, { method: "PUT", expect: "none" });
      setError(null);
      onAdded();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label={t("members.form")}>
      <label>
        {t("members.add_label")}
        <select value={studentId} onChange={(e) => setStudentId(e.target.value)} required>
          <option value="">{t("common.choose")}</option>
          {students.data?.items.map((s) => (
            <option key={s.id} value={s.id}>
              {s.display_name} ({s.student_number})
            </option>
          ))}
        </select>
      </label>
      <button type="submit">{t("members.add")}</button>
      <ErrorNote error={error} />
    </form>
  );
}
