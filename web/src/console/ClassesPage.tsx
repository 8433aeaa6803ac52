// Classes: the list with each class's teacher, and the New class form (admins create them and name the teacher).

import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import { api, signedInUser } from "../api/session";
import type { ClassPublic, Page, UserPublic } from "../api/types";
import { t } from "../i18n";
import { ErrorNote, LoadState, TableScroll, useAction, useApi, type Loaded } from "../ui/common";
import { ClassFields, classBody, classDraft, classError, useTeachers } from "./classForm";

/** A teacher can't list users, so they see their own name only: on their own classes. */
function teacherName(teacherId: string | null, teachers: UserPublic[]): string {
  if (!teacherId) return "";
  const me = signedInUser();
  if (me?.id === teacherId) return me.full_name;
  return teachers.find((u) => u.id === teacherId)?.full_name ?? "";
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

function NewClassForm({ teachers, onCreated }: { teachers: Loaded<Page<UserPublic>>; onCreated: () => void }) {
  const [draft, setDraft] = useState(() => classDraft());
  const { run, error } = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await run(async () => {
      await api("/v1/classes", { json: classBody(draft) });
      setDraft(classDraft());
      onCreated();
    }, classError);
  };
  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label={t("classes.new")}>
      <h2>{t("classes.new")}</h2>
      <ClassFields draft={draft} teachers={teachers.data?.items ?? []} onChange={setDraft} />
      <button type="submit" className="primary">
        {t("classes.create")}
      </button>
      <ErrorNote error={teachers.error} onRetry={teachers.reload} />
      <ErrorNote error={error} />
    </form>
  );
}
