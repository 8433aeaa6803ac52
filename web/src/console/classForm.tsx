// What the class pages share: the school's teachers, and the fields, request body and code-taken error of
// both class forms.

import { ApiError } from "../api/client";
import type { ClassCreate, ClassPublic, Page, UserPublic } from "../api/types";
import { t } from "../i18n";
import { useApi, type Loaded } from "../ui/common";

/** The school's teachers, inactive ones included (a class may still name one); only admins may list users. */
export function useTeachers(isAdmin: boolean): Loaded<Page<UserPublic>> {
  return useApi<Page<UserPublic>>(isAdmin ? "/v1/users" : null, { limit: 200, role: "teacher" });
}

/** A class code taken already: the API's "duplicate" is generic ("the same email, number or code is in use"),
 * so the class forms say the more precise "Another class has this code already". */
export function classError(err: unknown): unknown {
  return err instanceof ApiError && err.code === "duplicate" ? new Error(t("classes.code_taken")) : err;
}

/** A class form's inputs as typed: empty strings where nothing is chosen. */
export type ClassDraft = { code: string; name: string; room: string; teacherId: string };

/** A new class's empty draft, or the draft of ``klass`` as it now is. */
export function classDraft(klass?: ClassPublic): ClassDraft {
  return { code: klass?.code ?? "", name: klass?.name ?? "", room: klass?.room ?? "", teacherId: klass?.teacher_id ?? "" };
}

/** The body both forms send (a full ClassCreate is a valid ClassUpdate): explicit nulls, so an emptied room
 * or "no teacher" clears them on an edit. */
export function classBody(draft: ClassDraft): ClassCreate {
  return { code: draft.code, name: draft.name, room: draft.room || null, teacher_id: draft.teacherId || null };
}

/** The class's code, name, room and teacher, as the New class and Edit class forms both hold them. */
export function ClassFields({ draft, teachers, onChange }: { draft: ClassDraft; teachers: UserPublic[]; onChange: (draft: ClassDraft) => void }) {
  const text = (name: "code" | "name" | "room") => ({
    value: draft[name],
    onChange: (e: { target: { value: string } }) => onChange({ ...draft, [name]: e.target.value }),
  });
  return (
    <>
      <label>
        {t("classes.code")} <input {...text("code")} required />
      </label>
      <label>
        {t("classes.name")} <input {...text("name")} required />
      </label>
      <label>
        {t("classes.room")} <input {...text("room")} />
      </label>
      <TeacherSelect teachers={teachers} value={draft.teacherId} onChange={(teacherId) => onChange({ ...draft, teacherId })} />
    </>
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
