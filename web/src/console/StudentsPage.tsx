// Students: search, enrollment status and consent at a glance; admins add students here, one by one or as a
// CSV roster that the API takes whole or not at all (so a refused file lists every problem to fix at once).

import { useEffect, useState, type FormEvent } from "react";
import { Link, useLocation } from "react-router-dom";
import { ApiError } from "../api/client";
import { api } from "../api/session";
import type { EnrollmentState, ImportReport, ImportRowError, Page, StudentPublic } from "../api/types";
import { isMessageKey, t, wordFor } from "../i18n";
import { Badge, ErrorNote, LoadState, TableScroll, saveBlob, useAction, useApi } from "../ui/common";
import { StudentFields, type StudentField } from "./studentForm";

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
      {isAdmin && <ImportForm onImported={students.reload} />}
    </section>
  );
}

function consentWord(state: EnrollmentState | null | undefined): string {
  if (state === undefined) return "…";
  if (state === null) return "?";
  if (!state.consent) return t("consent.none_short");
  const who = wordFor("relation", state.consent.granted_by_relation);
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
  const empty: Record<StudentField, string> = { student_number: "", first_name: "", last_name: "", birth_date: "", guardian_email: "" };
  const [form, setForm] = useState(empty);
  const { run, error } = useAction();
  const field = (name: StudentField) => ({
    value: form[name],
    onChange: (e: { target: { value: string } }) => setForm({ ...form, [name]: e.target.value }),
  });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await run(async () => {
      await api("/v1/students", {
        json: { ...form, birth_date: form.birth_date || null, guardian_email: form.guardian_email || null },
      });
      setForm(empty);
      onCreated();
    });
  };
  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label={t("students.new")}>
      <h2>{t("students.new")}</h2>
      <StudentFields field={field} />
      <button type="submit" className="primary">
        {t("students.add")}
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

/** The import's columns (app/services/school/imports.py): the first three required. */
const REQUIRED_COLUMNS = ["student_number", "first_name", "last_name"];
const OPTIONAL_COLUMNS = ["display_name", "birth_date", "guardian_email", "class_codes"];

/** What the last check or import came to; any other failure is an ErrorNote. */
type ImportOutcome =
  | { kind: "checked" | "imported"; report: ImportReport }
  | { kind: "rejected"; report: ImportReport }
  | { kind: "header"; missing: string[]; unknown: string[] }
  | { kind: "refused"; text: string };

/** A refused file in words: the API sends the whole report (or the header's faults) in the error's details. */
function refusal(err: unknown): ImportOutcome | null {
  if (!(err instanceof ApiError)) return null;
  const details = err.details;
  if (err.code === "import_rejected" && Array.isArray(details.errors)) return { kind: "rejected", report: details as unknown as ImportReport };
  if (err.code === "too_many_rows") return { kind: "refused", text: t("import.too_many_rows", { max: String(details.max_rows ?? "") }) };
  if (err.code === "invalid_csv" && (Array.isArray(details.missing) || Array.isArray(details.unknown))) {
    const list = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);
    return { kind: "header", missing: list(details.missing), unknown: list(details.unknown) };
  }
  if (err.code === "invalid_csv" && typeof details.byte === "number") return { kind: "refused", text: t("import.not_utf8") };
  return null;
}

function problemText(problem: ImportRowError): string {
  const key = `import.problem_${problem.code}`;
  if (!isMessageKey(key)) return t("import.problem_other", { code: problem.code });
  return t(key, { value: problem.value ?? "", column: problem.field ?? "" });
}

function ImportForm({ onImported }: { onImported: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [outcome, setOutcome] = useState<ImportOutcome | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [sending, setSending] = useState(false);
  const send = async (dryRun: boolean) => {
    if (!file) return;
    setSending(true);
    setOutcome(null);
    setError(null);
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("dry_run", String(dryRun));
    try {
      const report = await api<ImportReport>("/v1/students/import", { form });
      setOutcome({ kind: dryRun ? "checked" : "imported", report });
      if (!dryRun) onImported();
    } catch (err) {
      const refused = refusal(err);
      if (refused) setOutcome(refused);
      else setError(err);
    } finally {
      setSending(false);
    }
  };
  const importFile = async (event: FormEvent) => {
    event.preventDefault();
    await send(false);
  };
  const template = () =>
    saveBlob(new Blob([`${[...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS].join(",")}\r\n`], { type: "text/csv" }), "students-template.csv");
  return (
    <div className="box">
      <h2>{t("students.import_title")}</h2>
      <p className="muted">
        {t("import.help", { required: REQUIRED_COLUMNS.join(", "), optional: OPTIONAL_COLUMNS.join(", ") })}{" "}
        <button type="button" className="link" onClick={template}>
          {t("import.template")}
        </button>
      </p>
      <form className="inline-form" aria-label={t("students.import_title")} onSubmit={(e) => void importFile(e)}>
        <label>
          {t("import.file")}
          <input
            type="file"
            accept=".csv,text/csv"
            onChange={(e) => (setFile(e.target.files?.[0] ?? null), setOutcome(null), setError(null))}
          />
        </label>
        <button type="button" disabled={!file || sending} onClick={() => void send(true)}>
          {t("import.check")}
        </button>
        <button type="submit" className="primary" disabled={!file || sending}>
          {t("import.run")}
        </button>
      </form>
      <ErrorNote error={error} />
      {outcome && <ImportOutcomeView outcome={outcome} />}
    </div>
  );
}

function ImportOutcomeView({ outcome }: { outcome: ImportOutcome }) {
  if (outcome.kind === "checked" || outcome.kind === "imported") {
    const { rows, imported, memberships } = outcome.report;
    return (
      <p className="note ok" role="status">
        {outcome.kind === "checked" ? t("import.checked", { rows }) : t("import.done", { rows, imported, memberships: memberships ?? 0 })}
      </p>
    );
  }
  return (
    <div className="note error" role="alert">
      <p>
        <strong>{t("import.nothing_imported")}</strong>{" "}
        {outcome.kind === "rejected" && t("import.rejected", { count: outcome.report.errors.length, rows: outcome.report.rows })}
        {outcome.kind === "header" && t("import.bad_header")}
        {outcome.kind === "refused" && outcome.text}
      </p>
      {outcome.kind === "header" && (
        <ul className="list">
          {outcome.missing.length > 0 && <li>{t("import.missing_columns", { columns: outcome.missing.join(", ") })}</li>}
          {outcome.unknown.length > 0 && <li>{t("import.unknown_columns", { columns: outcome.unknown.join(", ") })}</li>}
        </ul>
      )}
      {outcome.kind === "rejected" && (
        <TableScroll label={t("import.problems")}>
          <table aria-label={t("import.problems")}>
            <thead>
              <tr>
                <th scope="col">{t("import.line")}</th>
                <th scope="col">{t("import.column")}</th>
                <th scope="col">{t("import.problem")}</th>
              </tr>
            </thead>
            <tbody>
              {outcome.report.errors.map((problem, i) => (
                <tr key={`${problem.row}-${problem.field ?? ""}-${i}`}>
                  <td>{problem.row}</td>
                  <td>{problem.field ? <code>{problem.field}</code> : t("import.whole_row")}</td>
                  <td>{problemText(problem)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
    </div>
  );
}
