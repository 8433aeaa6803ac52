// The kiosk: camera preview with a face guide, the liveness challenge, the burst, and a large, spoken result.
// Set up once with a kiosk API key; without a camera (or consent) students check in with a teacher's code.

import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { ApiError, explain, withRetry } from "../api/client";
import { attemptId, kioskCall, storeKioskKey, storedKioskKey } from "../api/kiosk";
import type { Challenge, CheckinAnswer, KioskIdentity } from "../api/types";
import { captureBurst, grabFrame, openCamera, stopCamera } from "./camera";
import { describeAnswer, describeCameraError, describeError, planBurst, type Outcome } from "./outcome";

export type Phase = "starting" | "ready" | "challenge" | "instruct" | "capturing" | "sending" | "result" | "no_camera";

const RESULT_SHOWN_MS = 7000;
const READ_INSTRUCTION_MS = 900;

export function KioskPage() {
  const [apiKey, setApiKey] = useState<string | null>(() => storedKioskKey());
  const [identity, setIdentity] = useState<KioskIdentity | null>(null);
  const [setupError, setSetupError] = useState<string | null>(null);

  useEffect(() => {
    if (!apiKey) return;
    let live = true;
    withRetry(() => kioskCall<KioskIdentity>(apiKey, "/v1/kiosks/me"), { attempts: 5 })
      .then((me) => live && setIdentity(me))
      .catch((err: unknown) => {
        if (!live) return;
        if (err instanceof ApiError && err.status === 401) {
          storeKioskKey(null);
          setApiKey(null);
          setSetupError("This kiosk key was refused (revoked or mistyped). Enter a new one.");
        } else {
          setSetupError(explain(err));
        }
      });
    return () => {
      live = false;
    };
  }, [apiKey]);

  if (!apiKey) {
    return (
      <KioskSetup
        error={setupError}
        onKey={(key) => {
          storeKioskKey(key);
          setSetupError(null);
          setApiKey(key);
        }}
      />
    );
  }
  if (!identity) {
    return (
      <main className="kiosk centered">
        <p role="status" aria-live="polite" className="kiosk-big">
          {setupError ?? "Starting the kiosk…"}
        </p>
      </main>
    );
  }
  return <KioskScreen apiKey={apiKey} identity={identity} />;
}

function KioskSetup({ error, onKey }: { error: string | null; onKey: (key: string) => void }) {
  const [key, setKey] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (key.trim()) onKey(key.trim());
  };
  return (
    <main className="kiosk centered">
      <form className="kiosk-card" onSubmit={submit} aria-labelledby="setup-title">
        <h1 id="setup-title">Set up this kiosk</h1>
        <p>An administrator issues a kiosk key in the console (Kiosks) and enters it here once.</p>
        {error && (
          <p className="note error" role="alert">
            {error}
          </p>
        )}
        <label>
          Kiosk key
          <input value={key} onChange={(event) => setKey(event.target.value)} autoComplete="off" spellCheck={false} required />
        </label>
        <button type="submit" className="primary big">
          Save and start
        </button>
      </form>
    </main>
  );
}

function KioskScreen({ apiKey, identity }: { apiKey: string; identity: KioskIdentity }) {
  const video = useRef<HTMLVideoElement>(null);
  const stream = useRef<MediaStream | null>(null);
  const startButton = useRef<HTMLButtonElement>(null);
  const [phase, setPhase] = useState<Phase>("starting");
  const [cameraError, setCameraError] = useState<string | null>(null);
  const [instruction, setInstruction] = useState<string>("");
  const [taken, setTaken] = useState<{ done: number; of: number } | null>(null);
  const [retryNote, setRetryNote] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [showCode, setShowCode] = useState(false);

  useEffect(() => {
    let live = true;
    if (!video.current) return;
    openCamera(video.current)
      .then((opened) => {
        if (!live) return stopCamera(opened);
        stream.current = opened;
        setPhase("ready");
      })
      .catch((err: unknown) => {
        if (!live) return;
        setCameraError(describeCameraError(err));
        setPhase("no_camera");
      });
    return () => {
      live = false;
      stopCamera(stream.current);
      stream.current = null;
    };
  }, []);

  const show = useCallback((result: Outcome) => {
    setOutcome(result);
    setRetryNote(null);
    setTaken(null);
    setPhase("result");
  }, []);

  // The result stays up long enough to read, then the kiosk is ready for the next student.
  useEffect(() => {
    if (phase !== "result") return;
    const timer = setTimeout(() => {
      setPhase(stream.current ? "ready" : "no_camera");
      setOutcome(null);
    }, RESULT_SHOWN_MS);
    return () => clearTimeout(timer);
  }, [phase]);

  useEffect(() => {
    if (phase === "ready") startButton.current?.focus();
  }, [phase]);

  const onRetry = (attempt: number, attempts: number) =>
    setRetryNote(`Connection problem, retrying (${attempt} of ${attempts})…`);

  const checkIn = async () => {
    const camera = video.current;
    if (!camera || !stream.current) return;
    setOutcome(null);
    setPhase("challenge");
    try {
      const challenge = await fetchChallenge(apiKey, onRetry);
      setRetryNote(null);
      const form = new FormData();
      if (challenge) {
        setInstruction(challenge.instruction);
        setPhase("instruct");
        await new Promise((resolve) => setTimeout(resolve, READ_INSTRUCTION_MS));
        const plan = planBurst(challenge.frames);
        setTaken({ done: 0, of: plan.count });
        setPhase("capturing");
        const frames = await captureBurst(camera, plan.count, plan.intervalMs, (done) => setTaken({ done, of: plan.count }));
        form.append("nonce", challenge.nonce);
        frames.forEach((frame, i) => form.append("frames", frame, `frame-${i}.jpg`));
      } else {
        setPhase("capturing");
        form.append("frame", await grabFrame(camera), "frame.jpg");
      }
      setPhase("sending");
      const attempt = attemptId();
      const answer = await withRetry(
        () => kioskCall<CheckinAnswer>(apiKey, "/v1/checkins", { form, headers: { "Idempotency-Key": attempt } }),
        { onRetry },
      );
      show(describeAnswer(answer));
    } catch (err) {
      show(describeError(err));
    }
  };

  const busy = phase === "challenge" || phase === "instruct" || phase === "capturing" || phase === "sending";
  return (
    <main className="kiosk" data-phase={phase} aria-busy={busy}>
      <header className="kiosk-bar">
        <span>Rollcall · room {identity.room ?? "?"}</span>
        <span className="kiosk-bar-actions">
          <button type="button" className="ghost" onClick={() => setShowCode((v) => !v)} aria-expanded={showCode}>
            Use a code
          </button>
          <button type="button" className="ghost" onClick={() => void document.documentElement.requestFullscreen?.()}>
            Full screen
          </button>
        </span>
      </header>
      <section className="stage" aria-label="Camera">
        <video ref={video} className="preview" muted playsInline autoPlay aria-label="Camera preview" hidden={phase === "no_camera"} />
        {phase !== "no_camera" && (
          <svg className="guide" viewBox="0 0 100 100" preserveAspectRatio="xMidYMid meet" aria-hidden="true">
            <ellipse cx="50" cy="48" rx="22" ry="30" className={busy ? "guide-busy" : ""} />
          </svg>
        )}
        {phase === "instruct" || phase === "capturing" ? (
          <p className="instruction" aria-live="assertive">
            {instruction || "Look at the camera"}
            {taken && <span className="progress"> {Math.round((100 * taken.done) / taken.of)}%</span>}
          </p>
        ) : null}
      </section>
      <section className="panel">
        <div role="status" aria-live="assertive" aria-atomic="true" className="result-region">
          {phase === "result" && outcome && <ResultCard outcome={outcome} onCode={() => setShowCode(true)} />}
          {phase === "no_camera" && cameraError && (
            <div className="result error">
              <p className="result-title">Camera unavailable</p>
              <p>{cameraError}</p>
            </div>
          )}
          {phase === "no_camera" && outcome && <ResultCard outcome={outcome} />}
          {phase === "challenge" && <p className="kiosk-big">Getting ready…</p>}
          {phase === "sending" && <p className="kiosk-big">Checking…</p>}
          {retryNote && busy && <p className="note">{retryNote}</p>}
        </div>
        {phase === "starting" && <p className="kiosk-big">Starting the camera…</p>}
        {(phase === "ready" || phase === "result") && (
          <button
            type="button"
            ref={startButton}
            className="primary huge"
            onClick={() => void checkIn()}
          >
            {phase === "result" && outcome?.tone === "error" ? "Try again" : "Check in"}
          </button>
        )}
        {(showCode || phase === "no_camera") && (
          <CodeForm apiKey={apiKey} onResult={(result) => (stream.current ? show(result) : setOutcome(result))} />
        )}
      </section>
    </main>
  );
}

async function fetchChallenge(apiKey: string, onRetry: (attempt: number, attempts: number) => void): Promise<Challenge | null> {
  try {
    return await withRetry(() => kioskCall<Challenge>(apiKey, "/v1/checkins/challenge", { json: {} }), { onRetry });
  } catch (err) {
    // Liveness switched off by the operator (or a server without the challenge): one frame is the check-in.
    if (err instanceof ApiError && (err.code === "liveness_off" || err.code === "not_found")) return null;
    throw err;
  }
}

function ResultCard({ outcome, onCode }: { outcome: Outcome; onCode?: () => void }) {
  return (
    <div className={`result ${outcome.tone}`} data-tone={outcome.tone}>
      <p className="result-title">{outcome.title}</p>
      <p>{outcome.detail}</p>
      {outcome.hint && <p className="hint">{outcome.hint}</p>}
      {outcome.offerCode && onCode && (
        <button type="button" className="link light" onClick={onCode}>
          Check in with a code instead
        </button>
      )}
    </div>
  );
}

/** The non-biometric way in: a one-time code from the teacher (students without consent, or no camera). */
export function CodeForm({ apiKey, onResult }: { apiKey: string; onResult: (outcome: Outcome) => void }) {
  const [code, setCode] = useState("");
  const [sending, setSending] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!code.trim()) return;
    setSending(true);
    try {
      const answer = await withRetry(() =>
        kioskCall<CheckinAnswer>(apiKey, "/v1/checkins/code", { json: { code: code.trim() } }),
      );
      onResult(describeAnswer(answer));
      setCode("");
    } catch (err) {
      onResult(describeError(err));
    } finally {
      setSending(false);
    }
  };
  return (
    <form className="code-form" onSubmit={(event) => void submit(event)} aria-label="Check in with a code">
      <label>
        Code from your teacher
        <input
          value={code}
          onChange={(event) => setCode(event.target.value)}
          autoComplete="one-time-code"
          autoCapitalize="characters"
          spellCheck={false}
          minLength={4}
          maxLength={64}
          required
        />
      </label>
      <button type="submit" className="primary big" disabled={sending}>
        {sending ? "Checking…" : "Check in with code"}
      </button>
    </form>
  );
}
