// The console's sign-in: tokens kept for this browser tab (sessionStorage), refreshed once when an access
// token expires; when that fails the session is "expired" and the console asks to sign in again on top of
// the page, so a form in progress stays as it was.

import { ApiError, call, type RequestOptions } from "./client";
import type { TokenPair, UserPublic } from "./types";

export type SessionState =
  | { status: "signed_out" }
  | { status: "signed_in"; user: UserPublic }
  | { status: "expired"; user: UserPublic | null };

const ACCESS = "rollcall.access";
const REFRESH = "rollcall.refresh";

let state: SessionState = { status: "signed_out" };
const listeners = new Set<(state: SessionState) => void>();
let refreshing: Promise<boolean> | null = null;

function setState(next: SessionState): void {
  state = next;
  listeners.forEach((listener) => listener(state));
}

export function sessionState(): SessionState {
  return state;
}

/** Who is signed in; an expired session still knows (the page stays up under the sign-in dialog). */
export function signedInUser(): UserPublic | null {
  return state.status === "signed_out" ? null : state.user;
}

export function subscribe(listener: (state: SessionState) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function storeTokens(pair: TokenPair): void {
  sessionStorage.setItem(ACCESS, pair.access_token);
  sessionStorage.setItem(REFRESH, pair.refresh_token);
}

function clearTokens(): void {
  sessionStorage.removeItem(ACCESS);
  sessionStorage.removeItem(REFRESH);
}

function bearer(): Record<string, string> {
  const token = sessionStorage.getItem(ACCESS);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** After login or MFA activation: keep the tokens and load who signed in. */
export async function startSession(pair: TokenPair): Promise<UserPublic> {
  storeTokens(pair);
  const user = await call<UserPublic>("/v1/auth/me", { headers: bearer() });
  setState({ status: "signed_in", user });
  return user;
}

/** On page load: resume the tab's session if its tokens still work. */
export async function resumeSession(): Promise<void> {
  if (!sessionStorage.getItem(REFRESH)) {
    setState({ status: "signed_out" });
    return;
  }
  try {
    const user = await api<UserPublic>("/v1/auth/me");
    setState({ status: "signed_in", user });
  } catch {
    clearTokens();
    setState({ status: "signed_out" });
  }
}

export async function signOut(): Promise<void> {
  try {
    await call("/v1/auth/logout", { method: "POST", headers: bearer(), expect: "none" });
  } catch {
    // the tokens are dropped here whatever the server says
  }
  clearTokens();
  setState({ status: "signed_out" });
}

async function refresh(): Promise<boolean> {
  const token = sessionStorage.getItem(REFRESH);
  if (!token) return false;
  try {
    storeTokens(await call<TokenPair>("/v1/auth/refresh", { json: { refresh_token: token } }));
    return true;
  } catch {
    return false;
  }
}

/** A call as the signed-in user: one silent refresh on 401, then the session counts as expired. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const attempt = () => call<T>(path, { ...options, headers: { ...options.headers, ...bearer() } });
  try {
    return await attempt();
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    refreshing ??= refresh().finally(() => {
      refreshing = null;
    });
    if (await refreshing) return attempt();
    clearTokens();
    setState({ status: "expired", user: signedInUser() });
    throw new ApiError(401, "session_expired", "Your session has ended. Sign in again to continue.");
  }
}
