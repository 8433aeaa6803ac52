// Sign-in: email and password, then the TOTP code (admins always; others once they enabled MFA); an admin
// without MFA enrols it here (secret shown once, first code activates it).

import { useState, type FormEvent } from "react";
import { ApiError, call } from "../api/client";
import { startSession } from "../api/session";
import { svgImage } from "../ui/common";
import type { MfaSetup, MfaSetupRequired, TokenPair } from "../api/types";
import { t } from "../i18n";
import { explain } from "../i18n/errors";
import { LanguagePicker } from "../i18n/LanguagePicker";

type Step = { kind: "password" } | { kind: "code" } | { kind: "enrol"; setupToken: string; setup: MfaSetup | null };

export function LoginForm({ presetEmail, onDone }: { presetEmail?: string; onDone?: () => void }) {
  const [email, setEmail] = useState(presetEmail ?? "");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [step, setStep] = useState<Step>({ kind: "password" });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const finish = async (pair: TokenPair) => {
    await startSession(pair);
    onDone?.();
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (step.kind === "enrol") {
        const headers = { Authorization: `Bearer ${step.setupToken}` };
        await finish(await call<TokenPair>("/v1/auth/mfa/activate", { json: { code: code.trim() }, headers }));
        return;
      }
      const body = { email: email.trim(), password, totp_code: step.kind === "code" ? code.trim() : null };
      const answer = await call<TokenPair | MfaSetupRequired>("/v1/auth/login", { json: body });
      if ("mfa_setup_required" in answer) {
        const headers = { Authorization: `Bearer ${answer.setup_token}` };
        const setup = await call<MfaSetup>("/v1/auth/mfa/setup", { method: "POST", headers });
        setCode("");
        setStep({ kind: "enrol", setupToken: answer.setup_token, setup });
        return;
      }
      await finish(answer);
    } catch (err) {
      if (err instanceof ApiError && err.code === "mfa_required") {
        setStep({ kind: "code" });
        setError(null);
      } else {
        setError(err);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="login" onSubmit={(event) => void submit(event)} aria-label={t("login.form")}>
      {step.kind !== "enrol" && (
        <>
          <label>
            {t("login.email")}
            <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="username" required disabled={step.kind === "code"} />
          </label>
          <label>
            {t("login.password")}
            <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" required disabled={step.kind === "code"} />
          </label>
        </>
      )}
      {step.kind === "enrol" && step.setup && (
        <div className="mfa-setup">
          <p>{t("login.mfa_intro")}</p>
          <img className="qr" src={svgImage(step.setup.qr_svg)} alt={t("login.mfa_qr")} width={192} height={192} />
          <p>
            {t("login.mfa_key")} <code data-testid="totp-secret">{step.setup.secret}</code>
          </p>
          <p className="muted small">
            <a href={step.setup.otpauth_uri}>{t("login.mfa_open")}</a>
          </p>
        </div>
      )}
      {step.kind !== "password" && (
        <label>
          {t("login.code")}
          <input
            value={code}
            onChange={(e) => setCode(e.target.value)}
            inputMode="numeric"
            pattern="\d{6}"
            maxLength={6}
            autoComplete="one-time-code"
            required
            autoFocus
          />
        </label>
      )}
      {error ? (
        <p className="note error" role="alert">
          {explain(error)}
        </p>
      ) : null}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? t("login.busy") : step.kind === "enrol" ? t("login.enrol_submit") : t("login.submit")}
      </button>
    </form>
  );
}

export function LoginPage() {
  return (
    <main className="login-page">
      <div className="card">
        <LanguagePicker className="corner" />
        <h1>Rollcall</h1>
        <p className="muted">{t("login.intro")}</p>
        <LoginForm />
        <p className="muted small">
          {t("login.kiosk_question")} <a href="/kiosk">{t("login.kiosk_link")}</a>
        </p>
      </div>
    </main>
  );
}

/** Shown over the page when the session ends: signing in again keeps whatever was being typed underneath. */
export function SessionExpiredDialog({ email }: { email?: string }) {
  return (
    <div className="backdrop">
      <div className="dialog" role="dialog" aria-modal="true" aria-labelledby="expired-title">
        <h2 id="expired-title">{t("login.expired_title")}</h2>
        <p>{t("login.expired_intro")}</p>
        <LoginForm presetEmail={email} />
      </div>
    </div>
  );
}
