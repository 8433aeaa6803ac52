// The audit trail (admins): newest first, filtered by action or actor, older pages on demand; chain check.

import { useState } from "react";
import { api } from "../api/session";
import type { AuditEvent, AuditPage as Page, ChainStatus } from "../api/types";
import { t } from "../i18n";
import { ErrorNote, LoadState, TableScroll, formatTime, useAction, useApi } from "../ui/common";

export function AuditPage() {
  const [action, setAction] = useState("");
  const [actor, setActor] = useState("");
  const [before, setBefore] = useState<number | null>(null);
  const page = useApi<Page>("/v1/audit", { action, actor, before_seq: before, limit: 50 });
  const [chain, setChain] = useState<ChainStatus | null>(null);
  const { run, error } = useAction();
  const verify = () => run(async () => setChain(await api<ChainStatus>("/v1/audit/verify")));
  return (
    <section>
      <h1>{t("audit.title")}</h1>
      <div className="inline-form">
        <label>
          {t("audit.action")}{" "}
          <input value={action} onChange={(e) => (setAction(e.target.value), setBefore(null))} placeholder={t("audit.action_placeholder")} />
        </label>
        <label>
          {t("audit.actor")}{" "}
          <input value={actor} onChange={(e) => (setActor(e.target.value), setBefore(null))} placeholder="user:…, kiosk:…" />
        </label>
        <button type="button" onClick={() => void verify()}>
          {t("audit.verify")}
        </button>
        {chain && (
          <span className={`note ${chain.ok ? "ok" : "error"}`} role="status">
            {chain.ok ? t("audit.intact", { count: chain.events }) : t("audit.broken", { seq: chain.first_broken_seq ?? "?", problem: chain.problem ?? "" })}
          </span>
        )}
      </div>
      <ErrorNote error={error} />
      <LoadState state={page}>
        {(p) => (
          <>
            <TableScroll label={t("audit.table")}>
            <table aria-label={t("audit.table")}>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">{t("audit.when")}</th>
                  <th scope="col">{t("audit.actor")}</th>
                  <th scope="col">{t("audit.action")}</th>
                  <th scope="col">{t("audit.target")}</th>
                  <th scope="col">{t("audit.result")}</th>
                  <th scope="col">{t("audit.details")}</th>
                </tr>
              </thead>
              <tbody>
                {p.items.map((e: AuditEvent) => (
                  <tr key={e.seq}>
                    <td>{e.seq}</td>
                    <td>{formatTime(e.at)}</td>
                    <td title={e.actor}>{e.actor_name ?? e.actor}</td>
                    <td>{e.action}</td>
                    <td className={e.target_name ? undefined : "mono"} title={e.target ?? undefined}>
                      {e.target_name ?? e.target ?? ""}
                    </td>
                    <td>{e.result}</td>
                    <td className="mono small">{Object.keys(e.details).length ? JSON.stringify(e.details) : ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            </TableScroll>
            <p className="pager">
              {before !== null && (
                <button type="button" onClick={() => setBefore(null)}>
                  {t("audit.newest")}
                </button>
              )}{" "}
              {p.next_before_seq !== null && (
                <button type="button" onClick={() => setBefore(p.next_before_seq)}>
                  {t("audit.older")}
                </button>
              )}
            </p>
          </>
        )}
      </LoadState>
    </section>
  );
}
