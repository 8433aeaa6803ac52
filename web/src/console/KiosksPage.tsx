// Kiosk keys (admins): issue one per tablet and room (shown once), set this device up as a kiosk, revoke.

import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";
import { storeKioskKey } from "../api/kiosk";
import { api } from "../api/session";
import type { KioskKey, KioskKeyIssued } from "../api/types";
import { t } from "../i18n";
import { ConfirmDialog, ErrorNote, LoadState, TableScroll, formatTime, useAction, useApi } from "../ui/common";

export function KiosksPage() {
  const keys = useApi<KioskKey[]>("/v1/kiosks");
  const navigate = useNavigate();
  const [room, setRoom] = useState("");
  const [name, setName] = useState("");
  const [issued, setIssued] = useState<KioskKeyIssued | null>(null);
  const [revoking, setRevoking] = useState<KioskKey | null>(null);
  const { run, error } = useAction();
  const issue = async (event: FormEvent) => {
    event.preventDefault();
    await run(async () => {
      setIssued(await api<KioskKeyIssued>("/v1/kiosks", { json: { room, name } }));
      keys.reload();
    });
  };
  const revoke = async (key: KioskKey) => {
    setRevoking(null);
    await run(async () => {
      await api(`/v1/kiosks/${key.id}`, { method: "DELETE" });
      keys.reload();
    });
  };
  return (
    <section>
      <h1>{t("kiosks.title")}</h1>
      <LoadState state={keys}>
        {(list) => (
          <TableScroll label={t("kiosks.table")}>
          <table aria-label={t("kiosks.table")}>
            <thead>
              <tr>
                <th scope="col">{t("kiosks.name")}</th>
                <th scope="col">{t("kiosks.room")}</th>
                <th scope="col">{t("kiosks.prefix")}</th>
                <th scope="col">{t("kiosks.last_used")}</th>
                <th scope="col">
                  <span className="visually-hidden">{t("kiosks.actions")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td>{k.room}</td>
                  <td className="mono">{k.prefix}</td>
                  <td>{formatTime(k.last_used_at) || t("kiosks.never")}</td>
                  <td>
                    <button type="button" className="link danger" onClick={() => setRevoking(k)}>
                      {t("kiosks.revoke")}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          </TableScroll>
        )}
      </LoadState>
      <form className="inline-form" onSubmit={(e) => void issue(e)} aria-label={t("kiosks.issue_form")}>
        <h2>{t("kiosks.new")}</h2>
        <label>
          {t("kiosks.room")} <input value={room} onChange={(e) => setRoom(e.target.value)} required />
        </label>
        <label>
          {t("kiosks.name")} <input value={name} onChange={(e) => setName(e.target.value)} placeholder={t("kiosks.name_placeholder")} required />
        </label>
        <button type="submit" className="primary">
          {t("kiosks.issue")}
        </button>
      </form>
      <ErrorNote error={error} />
      {issued && (
        <div className="box" role="status">
          <p>{t("kiosks.issued", { name: issued.name, room: issued.room })}</p>
          <p>
            <code className="secret" data-testid="kiosk-key">
              {issued.api_key}
            </code>
          </p>
          <button
            type="button"
            className="primary"
            onClick={() => {
              storeKioskKey(issued.api_key);
              navigate("/kiosk");
            }}
          >
            {t("kiosks.use_here")}
          </button>
        </div>
      )}
      {revoking && (
        <ConfirmDialog
          title={t("kiosks.revoke_title", { name: revoking.name })}
          confirmLabel={t("kiosks.revoke")}
          danger
          onConfirm={() => void revoke(revoking)}
          onCancel={() => setRevoking(null)}
        >
          <p>{t("kiosks.revoke_text")}</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
