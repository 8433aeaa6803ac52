// The one way this app talks to the API: JSON or multipart in, the API's {"error": {...}} turned into ApiError.

import type { ErrorBody, ErrorCode } from "./types";

/** Every failure a call can end in, network trouble included (status 0, code "network_error"). */
/** This app's own codes: a request that never reached the API, an answer without an error body, and a
 * sign-in that ended (session.ts). */
export type ClientErrorCode = "network_error" | "session_expired" | `http_${number}`;

export class ApiError extends Error {
  readonly status: number;
  /** One of the API's registered codes (app/core/error_codes.py), or this app's own for network failures. */
  readonly code: ErrorCode | ClientErrorCode;
  readonly details: Record<string, unknown>;
  readonly retryAfterS: number | null;

  constructor(status: number, code: ErrorCode | ClientErrorCode, message: string, details: Record<string, unknown> = {}, retryAfterS: number | null = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfterS = retryAfterS;
  }

  /** Worth trying again unchanged: the network, a store that is restarting, or a rate limit. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  method?: string;
  json?: unknown;
  form?: FormData;
  query?: Query;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** "blob" for file exports; "none" for 204 answers. Default "json". */
  expect?: "json" | "blob" | "none";
}

export function buildUrl(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** One HTTP call. Never resolves with an error body: non-2xx answers throw ApiError. */
export async function call<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  } else if (options.form) {
    body = options.form; // the browser sets the multipart boundary
  }
  let response: Response;
  try {
    response = await fetch(buildUrl(path, options.query), {
      method: options.method ?? (body === undefined ? "GET" : "POST"),
      headers,
      body,
      signal: options.signal,
      credentials: "same-origin",
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, "network_error", "The server could not be reached.");
  }
  if (!response.ok) throw await toError(response);
  if (options.expect === "none" || response.status === 204) return undefined as T;
  if (options.expect === "blob") return (await response.blob()) as T;
  return (await response.json()) as T;
}

async function toError(response: Response): Promise<ApiError> {
  const retryAfter = Number(response.headers.get("Retry-After"));
  const retryAfterS = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null;
  try {
    const body = (await response.json()) as ErrorBody;
    if (body && typeof body.error?.code === "string") {
      return new ApiError(response.status, body.error.code, body.error.message, body.error.details ?? {}, retryAfterS);
    }
  } catch {
    // not JSON: a proxy's page, an empty body
  }
  return new ApiError(response.status, `http_${response.status}`, `The server answered ${response.status} ${response.statusText}.`, {}, retryAfterS);
}

export interface RetryOptions {
  attempts?: number;
  /** Told before each wait, so the screen can say "retrying (2 of 3)". */
  onRetry?: (attempt: number, attempts: number, error: ApiError) => void;
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs fn again after retryable failures (Retry-After when the server gives one, else 1 s, 2 s, 4 s...). */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 3;
  const sleep = options.sleep ?? realSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ApiError) || !err.retryable || attempt >= attempts) throw err;
      options.onRetry?.(attempt + 1, attempts, err);
      await sleep(Math.min(err.retryAfterS !== null ? err.retryAfterS * 1000 : 1000 * 2 ** (attempt - 1), 8000));
    }
  }
}
