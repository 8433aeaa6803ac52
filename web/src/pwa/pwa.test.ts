import { describe, expect, it } from "vitest";
import { BRAND, drawIcon } from "./icon";
import { strategyFor } from "./policy";

const origin = "http://kiosk.example";
const precached = new Set(["/index.html", "/assets/index-abc.js", "/manifest.webmanifest"]);
const get = (path: string, mode = "cors") => ({ method: "GET", mode, url: origin + path });

describe("the service worker's policy", () => {
  it("answers the build's own files from the cache", () => {
    expect(strategyFor(get("/assets/index-abc.js"), origin, precached)).toBe("precached");
    expect(strategyFor(get("/manifest.webmanifest"), origin, precached)).toBe("precached");
  });

  it("serves the app's pages (and only them) from the shell when the network fails", () => {
    for (const path of ["/", "/kiosk", "/console", "/console/students/3f1c"]) {
      expect(strategyFor(get(path, "navigate"), origin, precached), path).toBe("page");
    }
    expect(strategyFor(get("/docs", "navigate"), origin, precached)).toBe("network");
    expect(strategyFor(get("/v1/kiosks/me", "navigate"), origin, precached)).toBe("network");
  });

  it("never touches the API, camera uploads, other files or other origins", () => {
    expect(strategyFor(get("/v1/kiosks/me"), origin, precached)).toBe("network");
    expect(strategyFor({ method: "POST", mode: "cors", url: `${origin}/v1/checkins` }, origin, precached)).toBe("network");
    expect(strategyFor(get("/assets/index-abc.js?x=1"), origin, precached)).toBe("network");
    expect(strategyFor(get("/assets/index-old.js"), origin, precached)).toBe("network");
    expect(strategyFor({ method: "GET", mode: "cors", url: "https://cdn.example/assets/index-abc.js" }, origin, precached)).toBe("network");
  });
});

describe("the icon", () => {
  const pixel = (pixels: Uint8Array, size: number, x: number, y: number) => Array.from(pixels.slice((y * size + x) * 4, (y * size + x) * 4 + 4));

  it("is the brand blue with a white mark, transparent corners, and full-bleed when maskable", () => {
    const size = 64;
    const any = drawIcon(size, false);
    expect(pixel(any, size, 0, 0)[3]).toBe(0);
    expect(pixel(any, size, 6, size / 2)).toEqual([...BRAND, 255]);
    expect(pixel(any, size, Math.round(0.44 * size), Math.round(0.66 * size))).toEqual([255, 255, 255, 255]);
    expect(pixel(drawIcon(size, true), size, 0, 0)).toEqual([...BRAND, 255]);
  });

  it("is the same every time (a build makes the same files)", () => {
    expect(drawIcon(48, true)).toEqual(drawIcon(48, true));
  });
});
