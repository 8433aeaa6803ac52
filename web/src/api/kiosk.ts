// Calls made by the kiosk: authenticated by the API key an admin set up on this device once.

import { call, type RequestOptions } from "./client";

const KEY = "rollcall.kioskKey";

export function storedKioskKey(): string | null {
  return localStorage.getItem(KEY);
}

export function storeKioskKey(key: string | null): void {
  if (key) localStorage.setItem(KEY, key);
  else localStorage.removeItem(KEY);
}

export function kioskCall<T>(key: string, path: string, options: RequestOptions = {}): Promise<T> {
  return call<T>(path, { ...options, headers: { ...options.headers, "X-API-Key": key } });
}

/** A fresh id per attempt, so a retried upload is answered once (Idempotency-Key). */
export function attemptId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}
