// A student's record as admins edit it: the form, sending only the fields the person changed.

import { useState, type FormEvent } from "react";
import { api } from "../api/session";
import type { StudentPublic, StudentUpdate } from "../api/types";
import { t } from "../i18n";
import { ErrorNote } from "../ui/common";
import { StudentFields } from "./studentForm";

const TEXT_FIELDS = ["student_number", "first_name", "last_name", "display_name", "birth_date", "guardian_email"] as const;
type TextField = (typeof TEXT_FIELDS)[number];
type StudentForm = Record<TextField, string> & { active: boolean };

function formOf(student: StudentPublic): StudentForm {
  return {
    student_number: student.student_number,
    first_name: student.first_name,
    last_name: student.last_name,
    display_name: student.display_name,
    birth_date: student.birth_date ?? "",
    guardian_email: student.guardian_email ?? "",
    active: student.active,
  };
}

/** Only what the person changed, so a save never rewrites a field someone else changed meanwhile; a cleared
 * field is sent as null (the API refuses that for the required ones, which the form requires anyway). */
function changedFields(base: StudentForm, form: StudentForm): StudentUpdate {
  const patch: StudentUpdate = {};
  for (const name of TEXT_FIELDS) {
    const value = form[name].trim();
    if (value !== base[name]) patch[name] = value === "" ? null : value;
  }
  if (form.active !== base.active) patch.active = form.active;
  return patch;
}

export function EditSection({ student, onSaved }: { student: StudentPublic; onSaved: () => void }) {
  const [base, setBase] = useState(() => formOf(student));
  const [form, setForm] = useState(base);
  const [saved, setSaved] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const field = (name: TextField) => ({
    value: form[name],
    onChange: (e: { target: { value: string } }) => (setForm({ ...form, [name]: e.target.value }), setSaved(null)),
  });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const patch = changedFields(base, form);
    if (Object.keys(patch).length === 0) {
      setSaved(t("student.no_changes"));
      return;
    }
    try {
      const next = formOf(await api<StudentPublic>(`/v1/students/${student.id}`, { method: "PATCH", json: patch }));
      setBase(next);
      setForm(next);
      setSaved(t("student.saved"));
      onSaved();
    } catch (err) {
      setSaved(null);
      setError(err);
    }
  };
  return (
    <div className="box">
      <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label={t("student.edit")}>
        <h2>{t("student.edit")}</h2>
        <StudentFields field={field} displayName={field("display_name")} />
        <label>
          <input
            type="checkbox"
            checked={form.active}
            onChange={(e) => (setForm({ ...form, active: e.target.checked }), setSaved(null))}
          />{" "}
          {t("student.active")}
        </label>
        <button type="submit" className="primary">
          {t("student.save")}
        </button>
      </form>
      {saved && (
        <p className="note ok" role="status">
          {saved}
        </p>
      )}
      <ErrorNote error={error} />
    </div>
  );
}
