// The school's settings (admins): its name and time zone, and the liveness switches an admin may need at run
// time (a trial, kiosks whose camera cannot follow a head turn). Turning liveness off asks for confirmation:
// it is what stands between a printed photo and a recorded attendance, and the change is audited.

import { useState } from "react";
import { api, signedInUser } from "../api/session";
import type { SchoolPublic } from "../api/types";
import { t } from "../i18n";
import { ConfirmDialog, ErrorNote, LoadState, useAction, useApi } from "../ui/common";

export function SchoolPage() {
  const schoolId = signedInUser()?.school_id ?? null;
  const school = useApi<SchoolPublic>(schoolId ? `/v1/schools/${schoolId}` : null);
  return (
    <section>
      <h1>{t("school.title")}</h1>
      <LoadState state={school}>{(loaded) => <SchoolForm school={loaded} onSaved={school.reload} />}</LoadState>
    </section>
  );
}

type Changes = Partial<Pick<SchoolPublic, "name" | "timezone" | "liveness" | "colour_challenge">>;

function SchoolForm({ school, onSaved }: { school: SchoolPublic; onSaved: () => void }) {
  const [name, setName] = useState(school.name);
  const [timezone, setTimezone] = useState(school.timezone);
  const [confirmOff, setConfirmOff] = useState(false);
  const [saved, setSaved] = useState(false);
  const { run, error } = useAction();
  const save = async (changes: Changes) => {
    setSaved(false);
    await run(async () => {
      await api<SchoolPublic>(`/v1/schools/${school.id}`, { method: "PATCH", json: changes });
      setSaved(true);
      onSaved();
    });
  };
  return (
    <>
      <form
        className="inline-form"
        aria-label={t("school.details")}
        onSubmit={(event) => {
          event.preventDefault();
          void save({ name, timezone });
        }}
      >
        <label>
          {t("school.name")} <input value={name} onChange={(e) => setName(e.target.value)} required />
        </label>
        <label>
          {t("school.timezone")}{" "}
          <input value={timezone} onChange={(e) => setTimezone(e.target.value)} placeholder="Europe/Paris" required />
        </label>
        <button type="submit" className="primary">
          {t("common.save")}
        </button>
      </form>
      <fieldset className="box">
        <legend>{t("school.liveness_title")}</legend>
        <p>{school.liveness ? t("school.liveness_on") : t("school.liveness_off")}</p>
        <label>
          <input
            type="checkbox"
            checked={school.liveness}
            onChange={(e) => (e.target.checked ? void save({ liveness: true }) : setConfirmOff(true))}
          />{" "}
          {t("school.liveness_switch")}
        </label>
        <label>
          <input
            type="checkbox"
            checked={school.colour_challenge}
            disabled={!school.liveness}
            onChange={(e) => void save({ colour_challenge: e.target.checked })}
          />{" "}
          {t("school.colour_switch")}
        </label>
      </fieldset>
      {saved && <p role="status">{t("school.saved")}</p>}
      <ErrorNote error={error} />
      {confirmOff && (
        <ConfirmDialog
          title={t("school.liveness_off_title")}
          confirmLabel={t("school.liveness_off_confirm")}
          danger
          onConfirm={() => {
            setConfirmOff(false);
            void save({ liveness: false });
          }}
          onCancel={() => setConfirmOff(false)}
        >
          <p>{t("school.liveness_off_text")}</p>
        </ConfirmDialog>
      )}
    </>
  );
}
