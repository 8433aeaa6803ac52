// Students: search, enrollment status and consent at a glance; admins add students here.

import { useEffect, useState, type FormEvent } from "react";
import { Link, useLocation } from "react-router-dom";
import { api } from "../api/session";
import type { EnrollmentState, Page, StudentPublic } from "../api/types";
import { isMessageKey, t } from "../i18n";
import { Badge, ErrorNote, LoadState, TableScroll, useApi } from "../ui/common";

const PAGE_SIZE = 25;

export function StudentsPage({ isAdmin }: { isAdmin: boolean }) {
  const [q, setQ] = useState("");
  const [offset, setOffset] = useState(0);
  const students = useApi<Page<StudentPublic>>("/v1/students", { q, limit: PAGE_SIZE, offset });
  const consents = useConsents(students.data?.items ?? []);
  const notice = (useLocation().state as { notice?: string } | null)?.notice;
  return (
    <section>
      <h1>{t("students.title")}</h1>
      {notice && (
        <p className="note ok" role="status">
          {notice}
        </p>
      )}
      <label className="search">
        {t("students.search")}{" "}
        <input type="search" value={q} onChange={(e) => (setQ(e.target.value), setOffset(0))} placeholder={t("students.search_placeholder")} />
      </label>
      <LoadState state={students}>
        {(page) => (
          <>
            <TableScroll label={t("students.table")}>
            <table aria-label={t("students.table")}>
              <thead>
                <tr>
                  <th scope="col">{t("students.name")}</th>
                  <th scope="col">{t("students.number")}</th>
                  <th scope="col">{t("students.enrollment")}</th>
                  <th scope="col">{t("students.consent")}</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((s) => (
                  <tr key={s.id}>
                    <td>
                      <Link to={`/console/students/${s.id}`}>{s.display_name}</Link>
                      {!s.active && <span className="muted"> ({t("students.inactive")})</span>}
                    </td>
                    <td>{s.student_number}</td>
                    <td>
                      <Badge value={s.enrollment_status} />
                    </td>
                    <td>{consentWord(consents[s.id])}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            </TableScroll>
            <p className="pager">
              {t("students.total", { count: page.total })}{" "}
              <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}>
                {t("common.previous")}
              </button>{" "}
              <button type="button" disabled={offset + PAGE_SIZE >= page.total} onClick={() => setOffset(offset + PAGE_SIZE)}>
                {t("common.next")}
              </button>
            </p>
          </>
        )}
      </LoadState>
      {isAdmin && <NewStudentForm onCreated={students.reload} />}
    </section>
  );
}

function consentWord(state: EnrollmentState | null | undefined): string {
  if (state === undefined) return "…";
  if (state === null) return "?";
  if (!state.consent) return t("consent.none_short");
  const relation = `relation.${state.consent.granted_by_relation}`;
  const who = isMessageKey(relation) ? t(relation) : state.consent.granted_by_relation;
  return state.consent_current ? t("consent.given_short", { relation: who }) : t("consent.outdated_short");
}

/** Consent lives with each student's enrollment state: one small request per listed student. */
function useConsents(students: StudentPublic[]): Record<string, EnrollmentState | null> {
  const [states, setStates] = useState<Record<string, EnrollmentState | null>>({});
  const ids = students.map((s) => s.id).join(",");
  useEffect(() => {
    let live = true;
    for (const id of ids ? ids.split(",") : []) {
      api<EnrollmentState>(`/v1/students/${id}/enrollment`)
        .then((state) => live && setStates((all) => ({ ...all, [id]: state })))
        .catch(() => live && setStates((all) => ({ ...all, [id]: null })));
    }
    return () => {
      live = false;
    };
  }, [ids]);
  return states;
}

function NewStudentForm({ onCreated }: { onCreated: () => void }) {
  const empty = { student_number: "", first_name: "", last_name: "", birth_date: "", guardian_email: "" };
  const [form, setForm] = useState(empty);
  const [error, setError] = useState<unknown>(null);
  const field = (name: keyof typeof empty) => ({
    value: form[name],
    onChange: (e: { target: { value: string } }) => setForm({ ...form, [name]: e.target.value }),
  });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    try {
      await api("/v1/students", {
        json: { ...form, birth_date: form.birth_date || null, guardian_email: form.guardian_email || null },
      });
      setForm(empty);
      setError(null);
      onCreated();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label={t("students.new")}>
      <h2>{t("students.new")}</h2>
      <label>
        {t("students.number_long")} <input {...field("student_number")} required />
      </label>
      <label>
        {t("students.first_name")} <input {...field("first_name")} required />
      </label>
      <label>
        {t("students.last_name")} <input {...field("last_name")} required />
      </label>
      <label>
        {t("students.birth_date")} <input type="date" {...field("birth_date")} />
      </label>
      <label>
        {t("students.guardian_email")} <input type="email" {...field("guardian_email")} />
      </label>
      <button type="submit" className="primary">
        {t("students.add")}
      </button>
      <ErrorNote error={error} />
    </form>
  );
}
