// The audit trail (admins): newest first, filtered by action or actor, older pages on demand; chain check.

import { useState } from "react";
import { api } from "../api/session";
import type { AuditEvent, AuditPage as Page, ChainStatus } from "../api/types";
import { ErrorNote, LoadState, formatTime, useApi } from "../ui/common";

export function AuditPage() {
  const [action, setAction] = useState("");
  const [actor, setActor] = useState("");
  const [before, setBefore] = useState<number | null>(null);
  const page = useApi<Page>("/v1/audit", { action, actor, before_seq: before, limit: 50 });
  const [chain, setChain] = useState<ChainStatus | null>(null);
  const [error, setError] = useState<unknown>(null);
  const verify = async () => {
    try {
      setChain(await api<ChainStatus>("/v1/audit/verify"));
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section>
      <h1>Audit log</h1>
      <div className="inline-form">
        <label>
          Action <input value={action} onChange={(e) => (setAction(e.target.value), setBefore(null))} placeholder="e.g. checkin" />
        </label>
        <label>
          Actor <input value={actor} onChange={(e) => (setActor(e.target.value), setBefore(null))} placeholder="user:…, kiosk:…" />
        </label>
        <button type="button" onClick={() => void verify()}>
          Verify the chain
        </button>
        {chain && (
          <span className={`note ${chain.ok ? "ok" : "error"}`} role="status">
            {chain.ok ? `Intact: ${chain.events} events` : `Broken at #${chain.first_broken_seq}: ${chain.problem}`}
          </span>
        )}
      </div>
      <ErrorNote error={error} />
      <LoadState state={page}>
        {(p) => (
          <>
            <table aria-label="Audit events">
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">When</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">Result</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {p.items.map((e: AuditEvent) => (
                  <tr key={e.seq}>
                    <td>{e.seq}</td>
                    <td>{formatTime(e.at)}</td>
                    <td>{e.actor}</td>
                    <td>{e.action}</td>
                    <td className="mono">{e.target ?? ""}</td>
                    <td>{e.result}</td>
                    <td className="mono small">{Object.keys(e.details).length ? JSON.stringify(e.details) : ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p className="pager">
              {before !== null && (
                <button type="button" onClick={() => setBefore(null)}>
                  Newest
                </button>
              )}{" "}
              {p.next_before_seq !== null && (
                <button type="button" onClick={() => setBefore(p.next_before_seq)}>
                  Older
                </button>
              )}
            </p>
          </>
        )}
      </LoadState>
    </section>
  );
}
