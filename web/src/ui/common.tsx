// Small shared pieces of the console: loading with retries, errors, badges, confirmations, downloads.

import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from "react";
import { withRetry, type Query } from "../api/client";
import { getLocale, isMessageKey, t } from "../i18n";
import { explain } from "../i18n/errors";
import { api } from "../api/session";

export interface Loaded<T> {
  data: T | null;
  error: unknown;
  /** While a failed load is being retried: which attempt of how many. */
  retrying: { attempt: number; attempts: number } | null;
  loading: boolean;
  reload: () => void;
}

/** GET ``path`` as the signed-in user, retrying network and 503 failures with feedback; null path: nothing. */
export function useApi<T>(path: string | null, query?: Query): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [retrying, setRetrying] = useState<{ attempt: number; attempts: number } | null>(null);
  const [loading, setLoading] = useState(path !== null);
  const [tick, setTick] = useState(0);
  const queryKey = JSON.stringify(query ?? {});
  useEffect(() => {
    if (path === null) return;
    let live = true;
    setLoading(true);
    withRetry(() => api<T>(path, { query: JSON.parse(queryKey) as Query }), {
      onRetry: (attempt, attempts) => live && setRetrying({ attempt, attempts }),
    })
      .then((value) => {
        if (!live) return;
        setData(value);
        setError(null);
      })
      .catch((err: unknown) => live && setError(err))
      .finally(() => {
        if (!live) return;
        setRetrying(null);
        setLoading(false);
      });
    return () => {
      live = false;
    };
  }, [path, queryKey, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, retrying, loading, reload };
}

/** Calls ``fn`` every ``ms`` while the page is visible (live views without a socket). */
export function useInterval(fn: () => void, ms: number | null): void {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    if (ms === null) return;
    const id = setInterval(() => {
      if (document.visibilityState !== "hidden") saved.current();
    }, ms);
    return () => clearInterval(id);
  }, [ms]);
}

export interface Action {
  /** Runs ``fn``: a failure becomes the error (through ``mapError`` where the page words it itself), a success
   * clears it. Never throws. */
  run: (fn: () => Promise<unknown>, mapError?: (err: unknown) => unknown) => Promise<void>;
  error: unknown;
  setError: (error: unknown) => void;
}

/** The error of a form's or button's calls to the API, for an <ErrorNote>: the try/catch every form needs, once. */
export function useAction(): Action {
  const [error, setError] = useState<unknown>(null);
  const run = useCallback(async (fn: () => Promise<unknown>, mapError?: (err: unknown) => unknown) => {
    try {
      await fn();
      setError(null);
    } catch (err) {
      setError(mapError ? mapError(err) : err);
    }
  }, []);
  return { run, error, setError };
}

export function ErrorNote({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (!error) return null;
  return (
    <div className="note error" role="alert">
      <span>{explain(error)}</span>
      {onRetry && (
        <button type="button" className="link" onClick={onRetry}>
          {t("common.try_again")}
        </button>
      )}
    </div>
  );
}

/** Loading, retrying, error or the content: a load never leaves an empty screen. */
export function LoadState<T>({ state, children }: { state: Loaded<T>; children: (data: T) => ReactNode }) {
  if (state.retrying) return <p className="note" role="status">{t("common.retrying", state.retrying)}</p>;
  if (state.error && state.data === null) return <ErrorNote error={state.error} onRetry={state.reload} />;
  if (state.data === null) return <p className="muted" role="status">{t("common.loading")}</p>;
  return (
    <>
      {state.error ? <ErrorNote error={state.error} onRetry={state.reload} /> : null}
      {children(state.data)}
    </>
  );
}

const BADGE_TONE: Record<string, string> = {
  present: "ok",
  enrolled: "ok",
  late: "warn",
  pending: "muted",
  none: "muted",
  absent: "bad",
  needs_reenrollment: "warn",
  excused: "muted",
};

/** A status word (attendance, enrollment, a lesson's state) in the person's language; a value the catalogue
 * does not know yet is shown as it is. */
export function Badge({ value }: { value: string }) {
  const key = `badge.${value}`;
  return <span className={`badge ${BADGE_TONE[value] ?? "muted"}`}>{isMessageKey(key) ? t(key) : value.replace(/_/g, " ")}</span>;
}

/** A table that scrolls sideways inside its box on a narrow screen, not the whole page; focusable, so the
 * keyboard can scroll it too. */
export function TableScroll({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-scroll" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

/** A modal question; ``confirmText`` makes the person type something (a student number) before erasing. */
export function ConfirmDialog(props: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  confirmText?: string;
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const [typed, setTyped] = useState("");
  const titleId = useId();
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => cancel.current?.focus(), []);
  const ready = props.confirmText === undefined || typed.trim() === props.confirmText;
  return (
    <div className="backdrop">
      <div
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        onKeyDown={(event) => event.key === "Escape" && props.onCancel()}
      >
        <h2 id={titleId}>{props.title}</h2>
        {props.children}
        {props.confirmText !== undefined && (
          <label>
            {t("common.type_to_confirm", { text: props.confirmText })}
            <input value={typed} onChange={(event) => setTyped(event.target.value)} autoComplete="off" />
          </label>
        )}
        <div className="actions">
          <button type="button" ref={cancel} onClick={props.onCancel}>
            {t("common.cancel")}
          </button>
          <button type="button" className={props.danger ? "danger" : "primary"} disabled={!ready} onClick={props.onConfirm}>
            {props.confirmLabel}
          </button>
        </div>
      </div>
    </div>
  );
}

/** Saves a blob the API sent (an export) under the name its Content-Disposition would give. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** An SVG document the API rendered (a QR code) as an <img> source: a data: URI, which the page's policy
 * allows for images, never markup put into the page. */
export function svgImage(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

export function formatTime(iso: string | null): string {
  if (!iso) return "";
  return new Date(iso).toLocaleString(getLocale(), { dateStyle: "medium", timeStyle: "short" });
}

export function percent(rate: number | null): string {
  return rate === null ? "–" : `${Math.round(rate * 100)}%`;
}
