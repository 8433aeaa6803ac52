// The student fields both student forms hold: New student on the Students page, and the edit form, which adds
// the display name among them (the API derives a new student's from the names) and the active box after them.

import { t } from "../i18n";

/** What one text input is bound to: the form's value for it and how to change it. */
export type BoundInput = { value: string; onChange: (e: { target: { value: string } }) => void };

/** The text fields both forms have. */
export type StudentField = "student_number" | "first_name" | "last_name" | "birth_date" | "guardian_email";

/** The fields in the order both forms show them; ``displayName``, where given, goes after the names. */
export function StudentFields({ field, displayName }: { field: (name: StudentField) => BoundInput; displayName?: BoundInput }) {
  return (
    <>
      <label>
        {t("students.number_long")} <input {...field("student_number")} required />
      </label>
      <label>
        {t("students.first_name")} <input {...field("first_name")} required />
      </label>
      <label>
        {t("students.last_name")} <input {...field("last_name")} required />
      </label>
      {displayName && (
        <label>
          {t("student.display_name")} <input {...displayName} required />
        </label>
      )}
      <label>
        {t("students.birth_date")} <input type="date" {...field("birth_date")} />
      </label>
      <label>
        {t("students.guardian_email")} <input type="email" {...field("guardian_email")} />
      </label>
    </>
  );
}
