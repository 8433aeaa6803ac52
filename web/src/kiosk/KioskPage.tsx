// The kiosk: camera preview with a face guide, the liveness challenge, the burst, and a large, spoken result.
// Set up once with a kiosk API key; without a camera (or consent) students check in with a teacher's code.

import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { flushSync } from "react-dom";
import { ApiError, withRetry } from "../api/client";
import { attemptId, kioskCall, storeKioskKey, storedKioskKey } from "../api/kiosk";
import type { Challenge, CheckinAnswer, ColourChallenge, KioskIdentity } from "../api/types";
import { checkinForm, colourAt, planCapture, type Frame } from "./burst";
import { grab, grabFrame, look, openCamera, stopCamera } from "./camera";
import { awaitPosition, captureTurn } from "./capture";
import { assessPosition, guideEllipse } from "./facecheck";
import { loadLandmarker, type Landmarker } from "./landmarks";
import { describeAnswer, describeCameraError, describeError, type Outcome } from "./outcome";
import { isMessageKey, t, useLocale, type MessageKey } from "../i18n";
import { explain } from "../i18n/errors";
import { LanguagePicker } from "../i18n/LanguagePicker";
import { useOnline } from "../ui/online";

export type Phase =
  | "starting"
  | "ready"
  | "challenge"
  | "position"
  | "instruct"
  | "capturing"
  | "sending"
  | "result"
  | "no_camera";

const RESULT_SHOWN_MS = 7000;
/** Without the landmark model the burst is timed, so the student first gets time to read the instruction. */
const READ_INSTRUCTION_MS = 900;
/** Prompts ("Move closer") for at most this long; then the burst goes ahead and the server decides. */
const POSITION_WAIT_MS = 5000;
/** While it waits for a student the kiosk looks at the face every IDLE_LOOK_MS, afresh (the detector, not
 * the face followed from before) every FRESH_LOOK_EVERY looks; a face found ready counts for READY_FRESH_MS. */
const IDLE_LOOK_MS = 1000;
const FRESH_LOOK_EVERY = 3;
const READY_FRESH_MS = 3000;
/** Before the camera reports its size. */
const DEFAULT_FRAME = { width: 640, height: 480 };

/** While the kiosk cannot reach the server at start-up it says so, and tries again this often (and at once
 * when the browser reports a network again). */
const OFFLINE_RETRY_MS = 5000;

export function KioskPage() {
  useLocale(); // the whole kiosk follows a change of language
  const online = useOnline();
  const [apiKey, setApiKey] = useState<string | null>(() => storedKioskKey());
  const [identity, setIdentity] = useState<KioskIdentity | null>(null);
  const [setupError, setSetupError] = useState<unknown>(null);
  const [tries, setTries] = useState(0);

  useEffect(() => {
    if (!apiKey || identity) return;
    let live = true;
    let timer = 0;
    // Each failed attempt is shown at once (no server: "offline"; a 503: its reason), not only after the
    // last of them: a browser that still says it is online would otherwise show "starting" for 15 s.
    withRetry(() => kioskCall<KioskIdentity>(apiKey, "/v1/kiosks/me"), {
      attempts: 5,
      onRetry: (_attempt, _attempts, err) => live && setSetupError(err),
    })
      .then((me) => live && (setIdentity(me), setSetupError(null)))
      .catch((err: unknown) => {
        if (!live) return;
        if (err instanceof ApiError && err.status === 401) {
          storeKioskKey(null);
          setApiKey(null);
        } else {
          timer = window.setTimeout(() => setTries((n) => n + 1), OFFLINE_RETRY_MS);
        }
        setSetupError(err);
      });
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [apiKey, identity, tries, online]);

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
    const unreachable = !online || (setupError instanceof ApiError && setupError.status === 0);
    return (
      <main className="kiosk centered" data-phase={unreachable ? "offline" : "starting"}>
        <div className="kiosk-start">
          <LanguagePicker className="light" />
          {unreachable ? (
            <OfflineNotice />
          ) : (
            <p role="status" aria-live="polite" className="kiosk-big">
              {setupError ? explain(setupError) : t("kiosk.starting")}
            </p>
          )}
        </div>
      </main>
    );
  }
  return <KioskScreen apiKey={apiKey} identity={identity} online={online} />;
}

/** No network, or no server: nobody can check in here, and the screen says so rather than pretend. */
function OfflineNotice() {
  return (
    <div className="result error offline" role="status" aria-live="assertive" data-testid="kiosk-offline">
      <p className="result-title">{t("kiosk.offline.title")}</p>
      <p>{t("kiosk.offline.detail")}</p>
      <p className="hint">{t("kiosk.offline.hint")}</p>
    </div>
  );
}

function KioskSetup({ error, onKey }: { error: unknown; onKey: (key: string) => void }) {
  const [key, setKey] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (key.trim()) onKey(key.trim());
  };
  const refused = error instanceof ApiError && error.status === 401;
  return (
    <main className="kiosk centered">
      <form className="kiosk-card" onSubmit={submit} aria-labelledby="setup-title">
        <LanguagePicker />
        <h1 id="setup-title">{t("kiosk.setup.title")}</h1>
        <p>{t("kiosk.setup.intro")}</p>
        {error ? (
          <p className="note error" role="alert">
            {refused ? t("kiosk.setup.refused") : explain(error)}
          </p>
        ) : null}
        <label>
          {t("kiosk.setup.key")}
          <input value={key} onChange={(event) => setKey(event.target.value)} autoComplete="off" spellCheck={false} required />
        </label>
        <button type="submit" className="primary big">
          {t("kiosk.setup.save")}
        </button>
      </form>
    </main>
  );
}

function KioskScreen({ apiKey, identity, online }: { apiKey: string; identity: KioskIdentity; online: boolean }) {
  const video = useRef<HTMLVideoElement>(null);
  const stream = useRef<MediaStream | null>(null);
  const startButton = useRef<HTMLButtonElement>(null);
  const colourLayer = useRef<HTMLDivElement>(null);
  const [model, setModel] = useState<Landmarker | null>(null);
  const [modelFailed, setModelFailed] = useState(false);
  /** When a look while waiting last found the face ready for the burst. */
  const readyAt = useRef(-Infinity);
  const [phase, setPhase] = useState<Phase>("starting");
  const [cameraError, setCameraError] = useState<unknown>(null);
  const [action, setAction] = useState<Challenge["action"] | null>(null);
  const [prompt, setPrompt] = useState<MessageKey | null>(null);
  /** What a look while waiting found: null before any, "" when the face is ready, else what to do. */
  const [idlePrompt, setIdlePrompt] = useState<MessageKey | "" | null>(null);
  const [lit, setLit] = useState(false);
  const [frame, setFrame] = useState(DEFAULT_FRAME);
  /** "Retrying (2 of 3)" while a call is tried again. */
  const [retryNote, setRetryNote] = useState<{ attempt: number; attempts: number } | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [showCode, setShowCode] = useState(false);
  /** The school's liveness switch as last seen: from the kiosk's identity, then from each check-in. */
  const [livenessOff, setLivenessOff] = useState(!identity.liveness);

  useEffect(() => {
    let live = true;
    if (!video.current) return;
    openCamera(video.current)
      .then((opened) => {
        if (!live) return stopCamera(opened);
        stream.current = opened;
        setPhase("ready");
        // The model loads while the kiosk waits for a student; until it is there (or if it never is) the
        // burst is timed, as without it.
        loadLandmarker()
          .then((loaded) => (live ? setModel(loaded) : loaded.close()))
          .catch((err: unknown) => {
            console.warn("Rollcall kiosk: no face landmark model, timed bursts", err);
            if (live) setModelFailed(true);
          });
      })
      .catch((err: unknown) => {
        if (!live) return;
        setCameraError(err ?? new Error("camera"));
        setPhase("no_camera");
      });
    return () => {
      live = false;
      stopCamera(stream.current);
      stream.current = null;
    };
  }, []);

  useEffect(() => () => model?.close(), [model]);

  // While the kiosk waits, a look now and then: the student sees "Move closer" before pressing, and a face
  // found ready spares the press its own look.
  useEffect(() => {
    const camera = video.current;
    if (phase !== "ready" || !model || !camera) return;
    let live = true;
    let timer = 0;
    let looks = 0;
    const next = async () => {
      try {
        const picture = look(camera);
        // Not every look afresh: the detector is most of a look's work, and a press waits for a look in progress.
        const find = looks++ % FRESH_LOOK_EVERY === 0;
        const position = assessPosition(await model.detect(picture.source, find), picture.width, picture.height);
        if (!live) return;
        if (position.ready) readyAt.current = performance.now();
        setIdlePrompt(position.ready ? "" : position.prompt);
      } catch {
        if (live) setIdlePrompt(null);
      }
      if (live) timer = window.setTimeout(() => void next(), IDLE_LOOK_MS);
    };
    void next();
    return () => {
      live = false;
      clearTimeout(timer);
      setIdlePrompt(null);
    };
  }, [phase, model]);

  const show = useCallback((result: Outcome) => {
    setOutcome(result);
    setRetryNote(null);
    setPhase("result");
  }, []);

  // The result stays up long enough to read, then the kiosk is ready for the next student (without a camera,
  // the code form is ready again).
  useEffect(() => {
    if (!outcome) return;
    const timer = setTimeout(() => {
      setPhase(stream.current ? "ready" : "no_camera");
      setOutcome(null);
    }, RESULT_SHOWN_MS);
    return () => clearTimeout(timer);
  }, [outcome]);

  useEffect(() => {
    if (phase === "ready") startButton.current?.focus();
  }, [phase]);

  const onRetry = (attempt: number, attempts: number) => setRetryNote({ attempt, attempts });

  /** The burst for ``challenge``: the face placed first, then frames until the model sees the asked turn
   * (or a timed burst without the model), the screen lit with the challenge's colours meanwhile. */
  const takeBurst = async (camera: HTMLVideoElement, challenge: Challenge): Promise<Frame[]> => {
    const detect = model && ((canvas: HTMLCanvasElement) => model.detect(canvas));
    if (detect) {
      if (performance.now() - readyAt.current > READY_FRESH_MS) {
        setPhase("position");
        await awaitPosition(() => look(camera), detect, setPrompt, POSITION_WAIT_MS);
        setPrompt(null);
      }
      setAction(challenge.action);
    } else {
      setAction(challenge.action);
      setPhase("instruct");
      await new Promise((resolve) => setTimeout(resolve, READ_INSTRUCTION_MS));
    }
    setPhase("capturing");
    const layer = colourLayer.current;
    const lighting = challenge.colours && layer ? await lightUp(layer, challenge.colours, setLit) : null;
    try {
      const t0 = lighting?.t0 ?? performance.now();
      const burst = await captureTurn({ plan: planCapture(challenge), action: challenge.action, t0, grab: () => grab(camera), detect });
      return burst.frames;
    } finally {
      lighting?.stop();
    }
  };

  const checkIn = async () => {
    const camera = video.current;
    if (!camera || !stream.current) return;
    setOutcome(null);
    setPhase("challenge");
    try {
      const challenge = await fetchChallenge(apiKey, onRetry);
      setRetryNote(null);
      setLivenessOff(challenge === null);
      let form: FormData;
      if (challenge) {
        form = checkinForm(challenge.nonce, await takeBurst(camera, challenge));
      } else {
        setPhase("capturing");
        form = new FormData();
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

  const busy = ["challenge", "position", "instruct", "capturing", "sending"].includes(phase);
  const guide = guideEllipse(frame.width, frame.height);
  const instruction = action ? challengeInstruction(action) : t("prompt.look");
  return (
    <main
      className={lit ? "kiosk lit" : "kiosk"}
      data-phase={phase}
      data-face-model={model?.backend ?? (modelFailed ? "none" : "loading")}
      data-online={online}
      aria-busy={busy}
    >
      {/* Opaque and at full brightness, on purpose: the screen's light reflected by the face is what the server
          checks, and a dim or see-through layer barely reaches the face. */}
      <div ref={colourLayer} className="colour-layer" aria-hidden="true" />
      <header className="kiosk-bar">
        <span>{t("kiosk.bar.room", { room: identity.room ?? "?" })}</span>
        <span className="kiosk-bar-actions">
          <LanguagePicker className="light" />
          <button type="button" className="ghost" onClick={() => setShowCode((v) => !v)} aria-expanded={showCode}>
            {t("kiosk.bar.code")}
          </button>
          <button type="button" className="ghost" onClick={() => void document.documentElement.requestFullscreen?.()}>
            {t("kiosk.bar.fullscreen")}
          </button>
        </span>
      </header>
      {/* Said, not hidden: with liveness off a photo can check someone in, and everyone at the door should know. */}
      {livenessOff && (
        <p className="kiosk-notice" role="status" data-testid="liveness-off">
          {t("kiosk.liveness_off")}
        </p>
      )}
      <div className="kiosk-body">
        <section className="stage" aria-label={t("kiosk.camera")}>
          <div className="preview-frame" hidden={phase === "no_camera"}>
            <video
              ref={video}
              className="preview"
              muted
              playsInline
              autoPlay
              aria-label={t("kiosk.preview")}
              onLoadedMetadata={(event) => {
                const { videoWidth: width, videoHeight: height } = event.currentTarget;
                if (width && height) setFrame({ width, height });
              }}
            />
            {/* In the picture's own pixels, over the whole preview: what the face check measures against. */}
            <svg className="guide" viewBox={`0 0 ${frame.width} ${frame.height}`} preserveAspectRatio="none" aria-hidden="true">
              <ellipse
                cx={guide.cx}
                cy={guide.cy}
                rx={guide.rx}
                ry={guide.ry}
                className={busy ? "guide-busy" : phase === "ready" && idlePrompt === "" ? "guide-ready" : ""}
              />
            </svg>
          </div>
          {/* Without a camera the stage says why, and the panel keeps the code form and its result in view. */}
          {phase === "no_camera" && cameraError ? (
            <div className="camera-missing" role="alert">
              <p className="result-title">{t("kiosk.camera_unavailable")}</p>
              <p>{describeCameraError(cameraError)}</p>
            </div>
          ) : null}
          {phase === "position" || phase === "instruct" || phase === "capturing" ? (
            <p className="instruction" aria-live="assertive">
              {phase === "position" ? t(prompt ?? "prompt.look") : instruction}
            </p>
          ) : (
            phase === "ready" && idlePrompt && <p className="instruction quiet">{t(idlePrompt)}</p>
          )}
        </section>
        <section className="panel" aria-label={t("kiosk.checkin")}>
          {!online && <OfflineNotice />}
          {online && (phase === "ready" || phase === "result") && (
            <button type="button" ref={startButton} className="primary huge" onClick={() => void checkIn()}>
              {phase === "result" && outcome?.tone === "error" ? t("kiosk.try_again") : t("kiosk.check_in")}
            </button>
          )}
          <div role="status" aria-live="assertive" aria-atomic="true" className="result-region">
            {outcome && (phase === "result" || phase === "no_camera") && (
              <ResultCard outcome={outcome} onCode={stream.current ? () => setShowCode(true) : undefined} />
            )}
            {phase === "challenge" && <p className="kiosk-big">{t("kiosk.getting_ready")}</p>}
            {phase === "sending" && <p className="kiosk-big">{t("kiosk.checking")}</p>}
            {retryNote && busy && <p className="note">{t("kiosk.retrying", retryNote)}</p>}
          </div>
          {phase === "starting" && <p className="kiosk-big">{t("kiosk.starting_camera")}</p>}
          {online && (showCode || phase === "no_camera") && (
            <CodeForm apiKey={apiKey} onResult={(result) => (stream.current ? show(result) : setOutcome(result))} />
          )}
        </section>
      </div>
    </main>
  );
}

/** The challenge's action in the person's language (the server's ``instruction`` is English). */
function challengeInstruction(action: Challenge["action"]): string {
  const key = `challenge.${action}`;
  return isMessageKey(key) ? t(key) : t("hint.turn_as_shown");
}

/** Lights the screen with ``colours`` from t0, the moment slot 0 is on the screen (the frame after the one that
 * painted it), to the end of the sequence or ``stop``. Repainted per animation frame, outside React. */
function lightUp(
  layer: HTMLElement,
  colours: ColourChallenge,
  setLit: (lit: boolean) => void,
): Promise<{ t0: number; stop: () => void }> {
  let request = 0;
  const stop = () => {
    cancelAnimationFrame(request);
    layer.style.backgroundColor = "";
    setLit(false);
  };
  layer.style.backgroundColor = colours.sequence[0];
  flushSync(() => setLit(true)); // on the screen by the next frame, not whenever React gets to it
  return new Promise((resolve) => {
    request = requestAnimationFrame(() => {
      request = requestAnimationFrame(() => {
        const t0 = performance.now();
        const paint = () => {
          const colour = colourAt(colours, performance.now() - t0);
          if (colour === null) return stop();
          layer.style.backgroundColor = colour;
          request = requestAnimationFrame(paint);
        };
        paint();
        resolve({ t0, stop });
      });
    });
  });
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
          {t("kiosk.code_instead")}
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
    <form className="code-form" onSubmit={(event) => void submit(event)} aria-label={t("kiosk.code.form")}>
      <label>
        {t("kiosk.code.label")}
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
        {sending ? t("kiosk.checking") : t("kiosk.code.submit")}
      </button>
    </form>
  );
}
