// Students: search, enrollment status and consent at a glance; admins add students here.

import { useEffect, useState, type FormEvent } from "react";
import { Link, useLocation } from "react-router-dom";
import { api } from "../api/session";
import type { EnrollmentState, Page, StudentPublic } from "../api/types";
import { Badge, ErrorNote, LoadState, useApi } from "../ui/common";

const PAGE_SIZE = 25;

export function StudentsPage({ isAdmin }: { isAdmin: boolean }) {
  const [q, setQ] = useState("");
  const [offset, setOffset] = useState(0);
  const students = useApi<Page<StudentPublic>>("/v1/students", { q, limit: PAGE_SIZE, offset });
  const consents = useConsents(students.data?.items ?? []);
  const notice = (useLocation().state as { notice?: string } | null)?.notice;
  return (
    <section>
      <h1>Students</h1>
      {notice && (
        <p className="note ok" role="status">
          {notice}
        </p>
      )}
      <label className="search">
        Search <input type="search" value={q} onChange={(e) => (setQ(e.target.value), setOffset(0))} placeholder="name or number" />
      </label>
      <LoadState state={students}>
        {(page) => (
          <>
            <table aria-label="Students">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Number</th>
                  <th scope="col">Enrollment</th>
                  <th scope="col">Consent</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((s) => (
                  <tr key={s.id}>
                    <td>
                      <Link to={`/console/students/${s.id}`}>{s.display_name}</Link>
                      {!s.active && <span className="muted"> (inactive)</span>}
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
            <p className="pager">
              {page.total} student(s).{" "}
              <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}>
                Previous
              </button>{" "}
              <button type="button" disabled={offset + PAGE_SIZE >= page.total} onClick={() => setOffset(offset + PAGE_SIZE)}>
                Next
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
  if (!state.consent) return "none";
  return state.consent_current ? `given (${state.consent.granted_by_relation})` : "outdated text";
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
    <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label="New student">
      <h2>New student</h2>
      <label>
        Student number <input {...field("student_number")} required />
      </label>
      <label>
        First name <input {...field("first_name")} required />
      </label>
      <label>
        Last name <input {...field("last_name")} required />
      </label>
      <label>
        Birth date <input type="date" {...field("birth_date")} />
      </label>
      <label>
        Guardian email <input type="email" {...field("guardian_email")} />
      </label>
      <button type="submit" className="primary">
        Add student
      </button>
      <ErrorNote error={error} />
    </form>
  );
}
