// Classes (admins create them), one class's lessons (scheduled here) and its members.

import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router-dom";
import { api } from "../api/session";
import type { ClassPublic, Page, LessonPublic, StudentPublic } from "../api/types";
import { getLocale, t } from "../i18n";
import { Badge, ErrorNote, LoadState, TableScroll, formatTime, useApi } from "../ui/common";

export function ClassesPage({ isAdmin }: { isAdmin: boolean }) {
  const classes = useApi<Page<ClassPublic>>("/v1/classes", { limit: 200 });
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
                  </tr>
                ))}
              </tbody>
            </table>
            </TableScroll>
          )
        }
      </LoadState>
      {isAdmin && <NewClassForm onCreated={classes.reload} />}
    </section>
  );
}

function NewClassForm({ onCreated }: { onCreated: () => void }) {
  const [code, setCode] = useState("");
  const [name, setName] = useState("");
  const [room, setRoom] = useState("");
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    try {
      await api("/v1/classes", { json: { code, name, room: room || null } });
      setCode("");
      setName("");
      setRoom("");
      setError(null);
      onCreated();
    } catch (err) {
      setError(err);
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
      <button type="submit" className="primary">
        {t("classes.create")}
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

function isOpen(s: LessonPublic, now = Date.now()): boolean {
  return !s.closed_at && new Date(s.ends_at).getTime() > now && new Date(s.starts_at).getTime() - 15 * 60_000 <= now;
}

export function ClassPage({ isAdmin }: { isAdmin: boolean }) {
  const { classId } = useParams();
  const klass = useApi<ClassPublic>(`/v1/classes/${classId}`);
  const lessons = useApi<Page<LessonPublic>>(`/v1/classes/${classId}/lessons`, { limit: 50 });
  const members = useApi<Page<StudentPublic>>(`/v1/classes/${classId}/members`, { limit: 200 });
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
                  <Link to={`/console/lessons/${s.id}`}>
                    {formatTime(s.starts_at)} – {new Date(s.ends_at).toLocaleTimeString(getLocale(), { timeStyle: "short" })}
                  </Link>{" "}
                  {s.room && <span className="muted">{t("classes.in_room", { room: s.room })}</span>} {isOpen(s) && <Badge value="open" />}
                  {s.closed_at && <Badge value="closed" />}
                </li>
              ))}
            </ul>
          )
        }
      </LoadState>
      {classId && <NewLessonForm classId={classId} onCreated={lessons.reload} />}
      <h2>{t("classes.members")}</h2>
      <LoadState state={members}>
        {(page) => (
          <ul className="list">
            {page.items.map((s) => (
              <li key={s.id}>
                <Link to={`/console/students/${s.id}`}>{s.display_name}</Link> <Badge value={s.enrollment_status} />
              </li>
            ))}
            {page.items.length === 0 && <li className="muted">{t("classes.no_members")}</li>}
          </ul>
        )}
      </LoadState>
      {isAdmin && classId && <AddMemberForm classId={classId} onAdded={members.reload} />}
    </section>
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
