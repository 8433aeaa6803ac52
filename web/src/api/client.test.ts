import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, buildUrl, call, withRetry } from "./client";

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

afterEach(() => vi.unstubAllGlobals());

describe("call", () => {
  it("turns the API's error body into an ApiError", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => json(409, { error: { code: "no_open_lesson", message: "nothing open", details: { room: "A" } } })));
    const err = await call("/v1/checkins").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 409, code: "no_open_lesson", details: { room: "A" } });
  });

  it("reports an unreachable server as a retryable network error", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    const err = (await call("/v1/x").catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe("network_error");
    expect(err.retryable).toBe(true);
  });

  it("copes with a body that is not the API's (a proxy's page)", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" })));
    const err = (await call("/v1/x").catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe("http_502");
    expect(err.retryable).toBe(true);
  });

  it("sends JSON and query parameters", async () => {
    const fetch = vi.fn(async () => json(200, { ok: true }));
    vi.stubGlobal("fetch", fetch);
    await call("/v1/reports", { json: { a: 1 }, query: { from: "2026-01-01", to: undefined, q: "" } });
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("/v1/reports?from=2026-01-01");
    expect(init.method).toBe("POST");
    expect(init.body).toBe('{"a":1}');
  });
});

describe("withRetry", () => {
  it("retries retryable failures with feedback, then succeeds", async () => {
    const fn = vi
      .fn()
      .mockRejectedValueOnce(new ApiError(503, "database_unavailable", "down", {}, 2))
      .mockResolvedValueOnce("ok");
    const notes: string[] = [];
    const waits: number[] = [];
    const value = await withRetry(fn, {
      onRetry: (attempt, attempts) => notes.push(`${attempt}/${attempts}`),
      sleep: async (ms) => void waits.push(ms),
    });
    expect(value).toBe("ok");
    expect(notes).toEqual(["2/3"]);
    expect(waits).toEqual([2000]); // Retry-After
  });

  it("does not retry a refusal", async () => {
    const fn = vi.fn().mockRejectedValue(new ApiError(422, "liveness_failed", "no"));
    await expect(withRetry(fn, { sleep: async () => undefined })).rejects.toMatchObject({ code: "liveness_failed" });
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it("gives up after the last attempt", async () => {
    const fn = vi.fn().mockRejectedValue(new ApiError(0, "network_error", "down"));
    await expect(withRetry(fn, { attempts: 3, sleep: async () => undefined })).rejects.toMatchObject({ code: "network_error" });
    expect(fn).toHaveBeenCalledTimes(3);
  });
});

describe("buildUrl", () => {
  it("builds URLs without empty parameters", () => {
    expect(buildUrl("/v1/a", { x: null, y: 0, z: false })).toBe("/v1/a?y=0&z=false");
  });
});
