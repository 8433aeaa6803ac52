// The browser face model is exactly what web/models.json records: the pinned package, and each file the kiosk
// ships byte for byte (sha256), and the worker imports those files and no others.
import { describe, expect, it } from "vitest";
import lock from "../../package-lock.json";
import manifest from "../../models.json";
import pkg from "@vladmandic/face-api/package.json";
import detectorWeights from "@vladmandic/face-api/model/tiny_face_detector_model.bin?inline";
import detectorLayout from "@vladmandic/face-api/model/tiny_face_detector_model-weights_manifest.json?raw";
import landmarkWeights from "@vladmandic/face-api/model/face_landmark_68_tiny_model.bin?inline";
import landmarkLayout from "@vladmandic/face-api/model/face_landmark_68_tiny_model-weights_manifest.json?raw";
import worker from "./landmarks.worker.ts?raw";

/** The bytes of a file Vite inlined as a data: URL. */
function bytes(dataUrl: string): Uint8Array<ArrayBuffer> {
  const text = atob(dataUrl.slice(dataUrl.indexOf(",") + 1));
  const data = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) data[i] = text.charCodeAt(i);
  return data;
}

/** Weights as the build copies them; layouts (JSON, bundled into the worker) as text. */
const shipped: Record<string, Uint8Array<ArrayBuffer>> = {
  "model/tiny_face_detector_model.bin": bytes(detectorWeights),
  "model/tiny_face_detector_model-weights_manifest.json": new TextEncoder().encode(detectorLayout),
  "model/face_landmark_68_tiny_model.bin": bytes(landmarkWeights),
  "model/face_landmark_68_tiny_model-weights_manifest.json": new TextEncoder().encode(landmarkLayout),
};

async function sha256(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

describe("the browser face model", () => {
  it("is the pinned package, with the licences recorded", () => {
    expect(pkg.name).toBe(manifest.package);
    expect(pkg.version).toBe(manifest.version);
    expect(pkg.license).toBe(manifest.code_licence);
    const locked = (lock.packages as Record<string, { version?: string }>)[`node_modules/${manifest.package}`];
    expect(locked?.version).toBe(manifest.version);
    expect((lock.packages[""].dependencies as Record<string, string>)[manifest.package]).toBe(manifest.version); // exact
    expect(["MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause"]).toContain(manifest.weights_licence);
  });

  it("ships each file byte for byte as recorded", async () => {
    expect(Object.keys(shipped).sort()).toEqual(manifest.files.map((f) => f.file).sort());
    for (const entry of manifest.files) {
      const data = shipped[entry.file];
      expect(data.length, entry.file).toBe(entry.bytes);
      expect(await sha256(data), entry.file).toBe(entry.sha256);
    }
  });

  it("is loaded by the worker from those files alone", () => {
    const imported = [...worker.matchAll(/"@vladmandic\/face-api\/(model\/[^"?]+)/g)].map((m) => m[1]);
    expect(imported.sort()).toEqual(manifest.files.map((f) => f.file).sort());
  });
});
