// Kiosk keys (admins): issue one per tablet and room (shown once), set this device up as a kiosk, revoke.

import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";
import { storeKioskKey } from "../api/kiosk";
import { api } from "../api/session";
import type { KioskKey, KioskKeyIssued } from "../api/types";
import { ConfirmDialog, ErrorNote, LoadState, formatTime, useApi } from "../ui/common";

export function KiosksPage() {
  const keys = useApi<KioskKey[]>("/v1/kiosks");
  const navigate = useNavigate();
  const [room, setRoom] = useState("");
  const [name, setName] = useState("");
  const [issued, setIssued] = useState<KioskKeyIssued | null>(null);
  const [revoking, setRevoking] = useState<KioskKey | null>(null);
  const [error, setError] = useState<unknown>(null);
  const issue = async (event: FormEvent) => {
    event.preventDefault();
    try {
      setIssued(await api<KioskKeyIssued>("/v1/kiosks", { json: { room, name } }));
      setError(null);
      keys.reload();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (key: KioskKey) => {
    setRevoking(null);
    try {
      await api(`/v1/kiosks/${key.id}`, { method: "DELETE" });
      keys.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section>
      <h1>Kiosks</h1>
      <LoadState state={keys}>
        {(list) => (
          <table aria-label="Kiosk keys">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Room</th>
                <th scope="col">Key starts</th>
                <th scope="col">Last used</th>
                <th scope="col" />
              </tr>
            </thead>
            <tbody>
              {list.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td>{k.room}</td>
                  <td className="mono">{k.prefix}</td>
                  <td>{formatTime(k.last_used_at) || "never"}</td>
                  <td>
                    <button type="button" className="link danger" onClick={() => setRevoking(k)}>
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </LoadState>
      <form className="inline-form" onSubmit={(e) => void issue(e)} aria-label="Issue a kiosk key">
        <h2>New kiosk</h2>
        <label>
          Room <input value={room} onChange={(e) => setRoom(e.target.value)} required />
        </label>
        <label>
          Name <input value={name} onChange={(e) => setName(e.target.value)} placeholder="Tablet at the door" required />
        </label>
        <button type="submit" className="primary">
          Issue key
        </button>
      </form>
      <ErrorNote error={error} />
      {issued && (
        <div className="box" role="status">
          <p>
            Key for <strong>{issued.name}</strong> (room {issued.room}). It is shown only now:
          </p>
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
            Use this device as the kiosk
          </button>
        </div>
      )}
      {revoking && (
        <ConfirmDialog title={`Revoke ${revoking.name}?`} confirmLabel="Revoke" danger onConfirm={() => void revoke(revoking)} onCancel={() => setRevoking(null)}>
          <p>The kiosk stops working at once; issue a new key to set it up again.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
