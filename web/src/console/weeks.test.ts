import { describe, expect, it } from "vitest";
import { weeksBetween } from "./weeks";

describe("weeksBetween", () => {
  it("cuts a range into Monday-Sunday weeks, clipped to the range", () => {
    // 2026-11-04 is a Wednesday
    expect(weeksBetween("2026-11-04", "2026-11-17")).toEqual([
      { from: "2026-11-04", to: "2026-11-08" },
      { from: "2026-11-09", to: "2026-11-15" },
      { from: "2026-11-16", to: "2026-11-17" },
    ]);
  });

  it("keeps the most recent weeks and refuses a reversed range", () => {
    expect(weeksBetween("2026-01-05", "2026-12-27", 4)).toHaveLength(4);
    expect(weeksBetween("2026-02-01", "2026-01-01")).toEqual([]);
  });
});
