// The school's staff accounts (admins): add a teacher or an admin, hand out a new password, reset a lost
// authenticator, lift a sign-in slow-down, deactivate. Each of these ends the person's sign-ins on the
// server; a new password is shown once, here, and nowhere else.

import { useState, type FormEvent } from "react";
import { api } from "../api/session";
import type { Page, Role, TemporaryPassword, UserPublic } from "../api/types";
import { t } from "../i18n";
import { Badge, ConfirmDialog, ErrorNote, LoadState, TableScroll, useAction, useApi } from "../ui/common";

type Action = "password" | "mfa" | "unlock" | "deactivate";

export function UsersPage() {
  const users = useApi<Page<UserPublic>>("/v1/users", { limit: 200 });
  const [pending, setPending] = useState<{ user: UserPublic; action: Action } | null>(null);
  const [temporary, setTemporary] = useState<{ user: UserPublic; password: string } | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const { run, error } = useAction();
  const act = async (user: UserPublic, action: Action) => {
    setPending(null);
    setDone(null);
    setTemporary(null);
    await run(async () => {
      if (action === "password") {
        const reset = await api<TemporaryPassword>(`/v1/users/${user.id}/password-reset`, { json: {} });
        setTemporary({ user, password: reset.password });
      } else if (action === "deactivate") {
        await api(`/v1/users/${user.id}`, { method: "DELETE" });
      } else {
        const change = action === "mfa" ? { reset_mfa: true } : { unlock: true };
        await api(`/v1/users/${user.id}`, { method: "PATCH", json: change });
      }
      if (action !== "password") setDone(t(`users.done_${action}`, { name: user.full_name }));
      users.reload();
    });
  };
  return (
    <section>
      <h1>{t("users.title")}</h1>
      <LoadState state={users}>
        {(page) => (
          <TableScroll label={t("users.table")}>
            <table aria-label={t("users.table")}>
              <thead>
                <tr>
                  <th scope="col">{t("users.name")}</th>
                  <th scope="col">{t("users.email")}</th>
                  <th scope="col">{t("users.role")}</th>
                  <th scope="col">{t("users.state")}</th>
                  <th scope="col">
                    <span className="visually-hidden">{t("users.actions")}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((user) => (
                  <tr key={user.id}>
                    <td>{user.full_name}</td>
                    <td>{user.email}</td>
                    <td>{t(`role.${user.role}`)}</td>
                    <td>
                      <Badge value={user.is_active ? (user.mfa_enabled ? "mfa_on" : "active") : "inactive"} />
                    </td>
                    <td className="actions">
                      {user.is_active &&
                        (["password", "mfa", "unlock", "deactivate"] as const).map((action) => (
                          <button
                            key={action}
                            type="button"
                            className={action === "deactivate" ? "link danger" : "link"}
                            onClick={() => setPending({ user, action })}
                          >
                            {t(`users.action_${action}`)}
                          </button>
                        ))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </LoadState>
      <NewUserForm onCreated={users.reload} />
      <ErrorNote error={error} />
      {done && <p role="status">{done}</p>}
      {temporary && (
        <div className="box" role="status">
          <p>{t("users.temporary", { name: temporary.user.full_name })}</p>
          <p>
            <code className="secret" data-testid="temporary-password">
              {temporary.password}
            </code>
          </p>
        </div>
      )}
      {pending && (
        <ConfirmDialog
          title={t(`users.confirm_${pending.action}`, { name: pending.user.full_name })}
          confirmLabel={t(`users.action_${pending.action}`)}
          danger={pending.action === "deactivate"}
          onConfirm={() => void act(pending.user, pending.action)}
          onCancel={() => setPending(null)}
        >
          <p>{t("users.ends_sign_ins")}</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function NewUserForm({ onCreated }: { onCreated: () => void }) {
  const [email, setEmail] = useState("");
  const [fullName, setFullName] = useState("");
  const [role, setRole] = useState<Role>("teacher");
  const [password, setPassword] = useState("");
  const { run, error } = useAction();
  const [created, setCreated] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await run(async () => {
      const user = await api<UserPublic>("/v1/users", { json: { email, full_name: fullName, role, password } });
      setCreated(t("users.created", { name: user.full_name }));
      setEmail("");
      setFullName("");
      setPassword("");
      onCreated();
    });
  };
  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label={t("users.new_form")}>
      <h2>{t("users.new")}</h2>
      <label>
        {t("users.name")} <input value={fullName} onChange={(e) => setFullName(e.target.value)} required />
      </label>
      <label>
        {t("users.email")} <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} required />
      </label>
      <label>
        {t("users.role")}{" "}
        <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
          <option value="teacher">{t("role.teacher")}</option>
          <option value="admin">{t("role.admin")}</option>
        </select>
      </label>
      <label>
        {t("users.password")}{" "}
        <input
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
      </label>
      <button type="submit" className="primary">
        {t("users.create")}
      </button>
      <ErrorNote error={error} />
      {created && <p role="status">{created}</p>}
    </form>
  );
}
