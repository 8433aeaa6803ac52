// The browser face landmark model (face-api's tiny face detector and 68-point landmarks; files and licences in
// web/models.json), run in a worker so neither the frame timer nor the colour layer waits on it. Only the kiosk
// starts it; its code and weights are separate files of the build that the console never loads.

import type { FaceSample, Point } from "./facecheck";

export type ToWorker = { id: number; image: ImageData; find: boolean };
export type FromWorker =
  | { kind: "ready"; backend: string; inferenceMs: number }
  | { kind: "failed"; message: string }
  | { kind: "face"; id: number; face: FaceSample | null }
  | { kind: "error"; id: number; message: string };

export interface Landmarker {
  /** The face in the picture, or null: followed from the previous picture, or (``find``, and whenever it
   * was lost) looked for afresh, the detector's most confident. */
  detect(canvas: HTMLCanvasElement, find?: boolean): Promise<FaceSample | null>;
  readonly backend: string;
  close(): void;
}

/** Slower than this per picture (detector and landmarks) and the model would see the turn too rarely to beat
 * the timed burst (~2.5 s with its reading pause): the kiosk uses that instead. */
const MAX_INFERENCE_MS = 800;
const LOAD_TIMEOUT_MS = 30_000;

/** The model sees pictures at most this large: its nets take 128 and 112 px inputs, so more is wasted copying. */
const MODEL_SIDE = 320;

function scaleSample(face: FaceSample, k: number): FaceSample {
  const point = (p: Point) => ({ x: p.x * k, y: p.y * k });
  const { x, y, width, height } = face.box;
  return {
    box: { x: x * k, y: y * k, width: width * k, height: height * k },
    leftEye: point(face.leftEye),
    rightEye: point(face.rightEye),
    noseTip: point(face.noseTip),
  };
}

export function loadLandmarker(): Promise<Landmarker> {
  if (typeof Worker === "undefined") return Promise.reject(new Error("this browser has no Web Workers"));
  const worker = new Worker(new URL("./landmarks.worker.ts", import.meta.url), { type: "module" });
  const pending = new Map<number, { resolve: (face: FaceSample | null) => void; reject: (err: Error) => void }>();
  let next = 0;
  let failed: Error | null = null;
  const small = document.createElement("canvas");
  return new Promise((resolve, reject) => {
    const fail = (message: string) => {
      failed = new Error(message); // every later picture is refused at once, never left waiting
      worker.terminate();
      pending.forEach((call) => call.reject(new Error(message)));
      pending.clear();
      reject(new Error(message));
    };
    const timer = setTimeout(() => fail("the landmark model did not load in time"), LOAD_TIMEOUT_MS);
    worker.onerror = (event) => {
      clearTimeout(timer);
      fail(`the landmark model failed: ${event.message}`);
    };
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const answer = event.data;
      if (answer.kind === "ready" || answer.kind === "failed") {
        clearTimeout(timer);
        if (answer.kind === "failed") return fail(answer.message);
        if (answer.inferenceMs > MAX_INFERENCE_MS) return fail(`the landmark model is too slow (${Math.round(answer.inferenceMs)} ms)`);
        resolve({
          backend: answer.backend,
          detect(canvas, find = false) {
            if (failed) return Promise.reject(failed);
            const scale = Math.min(1, MODEL_SIDE / Math.max(canvas.width, canvas.height));
            small.width = Math.round(canvas.width * scale);
            small.height = Math.round(canvas.height * scale);
            const context = small.getContext("2d", { willReadFrequently: true });
            if (!context) return Promise.reject(new Error("no 2D context"));
            context.drawImage(canvas, 0, 0, small.width, small.height);
            const image = context.getImageData(0, 0, small.width, small.height);
            const id = next++;
            return new Promise<FaceSample | null>((resolveFace, rejectFace) => {
              pending.set(id, { resolve: resolveFace, reject: rejectFace });
              worker.postMessage({ id, image, find } satisfies ToWorker, [image.data.buffer]);
            }).then((face) => face && scaleSample(face, 1 / scale));
          },
          close: () => fail("closed"),
        });
        return;
      }
      const call = pending.get(answer.id);
      pending.delete(answer.id);
      if (answer.kind === "face") call?.resolve(answer.face);
      else call?.reject(new Error(answer.message));
    };
  });
}
