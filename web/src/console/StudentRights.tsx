// A student's GDPR rights box: export everything held on them, or erase them behind a typed confirmation.

import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";
import { ApiError } from "../api/client";
import { api } from "../api/session";
import type { StudentPublic } from "../api/types";
import { t, type MessageKey } from "../i18n";
import { ConfirmDialog, ErrorNote, saveBlob, useAction } from "../ui/common";

/** GDPR: a copy of everything held on the student, and erasure. Both are audited by the server. */
export function RightsSection({ student }: { student: StudentPublic }) {
  const navigate = useNavigate();
  const [purpose, setPurpose] = useState(() => t("gdpr.purpose_default"));
  const [erasing, setErasing] = useState(false);
  const { run, error, setError } = useAction();
  const [done, setDone] = useState(false);
  const unavailable = (message: MessageKey) => (err: unknown) =>
    err instanceof ApiError && err.status === 404 && err.code === "not_found" ? new Error(t(message)) : err;

  const exportData = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    await run(async () => {
      const blob = await api<Blob>(`/v1/students/${student.id}/export`, { query: { purpose }, expect: "blob" });
      saveBlob(blob, `student-${student.student_number}-export.${blob.type.includes("zip") ? "zip" : "json"}`);
      setDone(true);
    }, unavailable("gdpr.export_unavailable"));
  };
  const erase = async () => {
    setErasing(false);
    setError(null);
    await run(async () => {
      const receipt = await api<{ receipt_id: string; state: string }>(`/v1/students/${student.id}/erase`, { method: "POST" });
      const notice = t("gdpr.erased", { name: student.display_name, state: receipt.state, receipt: receipt.receipt_id });
      navigate("/console/students", { replace: true, state: { notice } });
    }, unavailable("gdpr.erase_unavailable"));
  };
  return (
    <div className="box">
      <h2>{t("gdpr.title")}</h2>
      <form className="inline-form" onSubmit={(e) => void exportData(e)} aria-label={t("gdpr.export_form")}>
        <label>
          {t("gdpr.purpose")} <input value={purpose} onChange={(e) => setPurpose(e.target.value)} required minLength={3} />
        </label>
        <button type="submit">{t("gdpr.export")}</button>
      </form>
      <button type="button" className="danger" onClick={() => setErasing(true)}>
        {t("gdpr.erase")}
      </button>
      {done && (
        <p className="note ok" role="status">
          {t("gdpr.exported")}
        </p>
      )}
      <ErrorNote error={error} />
      {erasing && (
        <ConfirmDialog
          title={t("gdpr.erase_title", { name: student.display_name })}
          confirmLabel={t("gdpr.erase_confirm")}
          confirmText={student.student_number}
          danger
          onConfirm={() => void erase()}
          onCancel={() => setErasing(false)}
        >
          <p>{t("gdpr.erase_text")}</p>
        </ConfirmDialog>
      )}
    </div>
  );
}
