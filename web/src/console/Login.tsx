// Sign-in: email and password, then the TOTP code (admins always; others once they enabled MFA); an admin
// without MFA enrols it here (secret shown once, first code activates it).

import { useState, type FormEvent } from "react";
import { ApiError, call, explain } from "../api/client";
import { startSession } from "../api/session";
import type { MfaSetup, MfaSetupRequired, TokenPair } from "../api/types";

type Step = { kind: "password" } | { kind: "code" } | { kind: "enrol"; setupToken: string; setup: MfaSetup | null };

export function LoginForm({ presetEmail, onDone }: { presetEmail?: string; onDone?: () => void }) {
  const [email, setEmail] = useState(presetEmail ?? "");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [step, setStep] = useState<Step>({ kind: "password" });
  const [error, setError] = useState<string | null>(null);
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
        setError(explain(err));
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="login" onSubmit={(event) => void submit(event)} aria-label="Sign in">
      {step.kind !== "enrol" && (
        <>
          <label>
            Email
            <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="username" required disabled={step.kind === "code"} />
          </label>
          <label>
            Password
            <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" required disabled={step.kind === "code"} />
          </label>
        </>
      )}
      {step.kind === "enrol" && step.setup && (
        <div className="mfa-setup">
          <p>
            Administrators sign in with a second factor. Add this key to an authenticator app (TOTP, 6 digits, 30 s),
            then enter the code it shows. The key is shown only now.
          </p>
          <p>
            Key: <code data-testid="totp-secret">{step.setup.secret}</code>
          </p>
          <p className="muted small">
            <a href={step.setup.otpauth_uri}>Open in an authenticator app</a>
          </p>
        </div>
      )}
      {step.kind !== "password" && (
        <label>
          Code from your authenticator app
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
      {error && (
        <p className="note error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? "Signing in…" : step.kind === "enrol" ? "Turn on two-factor and sign in" : "Sign in"}
      </button>
    </form>
  );
}

export function LoginPage() {
  return (
    <main className="login-page">
      <div className="card">
        <h1>Rollcall</h1>
        <p className="muted">Sign in to the attendance console.</p>
        <LoginForm />
        <p className="muted small">
          Setting up a tablet at the door? <a href="/kiosk">Open the kiosk</a>.
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
        <h2 id="expired-title">Your session has ended</h2>
        <p>Sign in again to continue; what you were working on is kept.</p>
        <LoginForm presetEmail={email} />
      </div>
    </div>
  );
}
