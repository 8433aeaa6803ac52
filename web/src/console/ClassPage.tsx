// One class: its lessons (scheduled one at a time here, or as a weekly series), its members, and for admins
// the Edit class form (editing and deleting the class) and the Add member form.

import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { api, signedInUser } from "../api/session";
import type { ClassPublic, LessonPublic, Page, StudentPublic, UserPublic } from "../api/types";
import { t } from "../i18n";
import { Badge, ConfirmDialog, ErrorNote, LoadState, useAction, useApi, type Loaded } from "../ui/common";
import { ClassFields, classBody, classDraft, classError, useTeachers } from "./classForm";
import { localInput, timeRange } from "./classTime";
import { WeeklyLessonsForm } from "./LessonSeriesForm";

function isOpen(s: LessonPublic, now = Date.now()): boolean {
  return !s.closed_at && new Date(s.ends_at).getTime() > now && new Date(s.starts_at).getTime() - 15 * 60_000 <= now;
}

export function ClassPage({ isAdmin }: { isAdmin: boolean }) {
  const { classId } = useParams();
  const klass = useApi<ClassPublic>(`/v1/classes/${classId}`);
  const lessons = useApi<Page<LessonPublic>>(`/v1/classes/${classId}/lessons`, { limit: 50 });
  const members = useApi<Page<StudentPublic>>(`/v1/classes/${classId}/members`, { limit: 200 });
  const teachers = useTeachers(isAdmin);
  const [removing, setRemoving] = useState<StudentPublic | null>(null);
  const member = useAction();
  const canSchedule = isAdmin || (klass.data !== null && klass.data.teacher_id === signedInUser()?.id);
  const remove = async (student: StudentPublic) => {
    setRemoving(null);
    await member.run(async () => {
      await api(`/v1/classes/${classId}/members/${student.id}`, { method: "DELETE", expect: "none" });
      members.reload();
    });
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
      <ErrorNote error={member.error} />
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
  const [draft, setDraft] = useState(() => classDraft(klass));
  const [confirmDelete, setConfirmDelete] = useState(false);
  const { run, error } = useAction();
  const save = async (event: FormEvent) => {
    event.preventDefault();
    await run(async () => {
      await api(`/v1/classes/${klass.id}`, { method: "PATCH", json: classBody(draft) });
      onSaved();
    }, classError);
  };
  const erase = async () => {
    setConfirmDelete(false);
    await run(async () => {
      await api(`/v1/classes/${klass.id}`, { method: "DELETE", expect: "none" });
      navigate("/console/classes");
    });
  };
  return (
    <>
      <form className="inline-form" onSubmit={(e) => void save(e)} aria-label={t("classes.edit")}>
        <h2>{t("classes.edit")}</h2>
        <ClassFields draft={draft} teachers={teachers.data?.items ?? []} onChange={setDraft} />
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

function NewLessonForm({ classId, onCreated }: { classId: string; onCreated: () => void }) {
  const [start, setStart] = useState(() => localInput(new Date()));
  const [minutes, setMinutes] = useState(60);
  const [grace, setGrace] = useState(5);
  const { run, error } = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const startsAt = new Date(start);
    const endsAt = new Date(startsAt.getTime() + minutes * 60_000);
    await run(async () => {
      await api(`/v1/classes/${classId}/lessons`, {
        json: { starts_at: startsAt.toISOString(), ends_at: endsAt.toISOString(), grace_minutes: grace },
      });
      onCreated();
    });
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
  const { run, error } = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await run(async () => {
      await api(`/v1/classes/${classId}/members/${studentId}`, { method: "PUT", expect: "none" });
      onAdded();
    });
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
