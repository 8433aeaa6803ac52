// useAction: the error of a form's calls, kept on a failure (mapped where asked) and cleared by a success.

import { act, renderHook } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { useAction } from "./common";

describe("useAction", () => {
  it("keeps a failure's error, never throwing it, and clears it when a call succeeds", async () => {
    const { result } = renderHook(() => useAction());
    expect(result.current.error).toBeNull();
    const refused = new ApiError(409, "duplicate", "already there");
    await act(() => result.current.run(() => Promise.reject(refused)));
    expect(result.current.error).toBe(refused);
    let done = false;
    await act(() =>
      result.current.run(async () => {
        done = true;
      }),
    );
    expect(done).toBe(true);
    expect(result.current.error).toBeNull();
  });

  it("words a failure through mapError, and leaves the error to setError otherwise", async () => {
    const { result } = renderHook(() => useAction());
    const worded = new Error("in the page's words");
    await act(() => result.current.run(() => Promise.reject(new ApiError(404, "not_found", "no")), () => worded));
    expect(result.current.error).toBe(worded);
    act(() => result.current.setError(null));
    expect(result.current.error).toBeNull();
  });
});
