// The landmark model's worker: loads the two nets from the build's own files (never from a CDN), then answers
// each picture with the detector's most confident face: its box, eyes and nose tip. See landmarks.ts.

import * as faceapi from "@vladmandic/face-api";
import detectorSpec from "@vladmandic/face-api/model/tiny_face_detector_model-weights_manifest.json";
import detectorUrl from "@vladmandic/face-api/model/tiny_face_detector_model.bin?url";
import landmarkSpec from "@vladmandic/face-api/model/face_landmark_68_tiny_model-weights_manifest.json";
import landmarkUrl from "@vladmandic/face-api/model/face_landmark_68_tiny_model.bin?url";
import { sampleFrom68, type FaceSample, type Point } from "./facecheck";
import type { FromWorker, ToWorker } from "./landmarks";

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
};

/** tfjs as bundled by face-api: its typings leave out the backend calls. */
const tf = faceapi.tf as unknown as typeof faceapi.tf & {
  setBackend(name: string): Promise<boolean>;
  getBackend(): string;
  browser: { fromPixels(pixels: ImageData): faceapi.tf.Tensor3D };
};

// face-api only knows a window's DOM; in a worker every input is a tensor, so its media classes are stand-ins
// that nothing is an instance of.
class NotHere {}
const unavailable = () => {
  throw new Error("not available in a worker");
};
faceapi.env.setEnv({
  Canvas: OffscreenCanvas,
  CanvasRenderingContext2D: OffscreenCanvasRenderingContext2D,
  Image: NotHere,
  ImageData,
  Video: NotHere,
  createCanvasElement: () => new OffscreenCanvas(1, 1),
  createImageElement: unavailable,
  createVideoElement: unavailable,
  fetch: (url: string, init?: RequestInit) => fetch(url, init),
  readFile: unavailable,
} as unknown as faceapi.Environment);

/** 128 px in: the face fills much of a kiosk picture, and a small input keeps the CPU backend quick. */
const DETECTOR = new faceapi.TinyFaceDetectorOptions({ inputSize: 128, scoreThreshold: 0.4 });

type Spec = { weights: faceapi.tf.io.WeightsManifestEntry[] }[];
type Box = FaceSample["box"];

async function weights(spec: Spec, url: string): Promise<faceapi.tf.NamedTensorMap> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return faceapi.tf.io.decodeWeights(await response.arrayBuffer(), spec[0].weights);
}

/** Where the face was in the previous picture: the landmark net follows it from there, which spares the
 * detector (more than half the work of a picture) until the face is lost or a fresh look is asked for. */
let tracked: Box | null = null;

/** The box the landmark net expects (what the detector draws): the landmarks' extent and a margin. */
function boxAround(points: Point[], width: number, height: number): Box {
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const margin = 0.12 * Math.max(x1 - x0, y1 - y0);
  const x = Math.max(0, x0 - margin);
  const y = Math.max(0, y0 - margin);
  return { x, y, width: Math.min(width, x1 + margin) - x, height: Math.min(height, y1 + margin) - y };
}

/** Landmarks that are a face: eyes a plausible part of the box apart, the nose tip below them. */
function plausible(face: FaceSample): boolean {
  const iod = Math.hypot(face.rightEye.x - face.leftEye.x, face.rightEye.y - face.leftEye.y) / face.box.width;
  return iod > 0.2 && iod < 0.7 && face.noseTip.y > Math.min(face.leftEye.y, face.rightEye.y);
}

/** The landmarks of the face in ``box`` (clipped to the picture), or null when they do not look like one. */
async function landmarksIn(input: faceapi.tf.Tensor3D, box: Box): Promise<{ face: FaceSample; points: Point[] } | null> {
  const [height, width] = input.shape;
  const x = Math.max(0, Math.round(box.x));
  const y = Math.max(0, Math.round(box.y));
  const w = Math.min(width, Math.round(box.x + box.width)) - x;
  const h = Math.min(height, Math.round(box.y + box.height)) - y;
  if (w < 8 || h < 8) return null;
  const crop = faceapi.tf.slice(input, [y, x, 0], [h, w, 3]);
  try {
    const marks = (await faceapi.nets.faceLandmark68TinyNet.detectLandmarks(crop)) as faceapi.FaceLandmarks68;
    const points = marks.positions.map((p) => ({ x: p.x + x, y: p.y + y }));
    const face = sampleFrom68(points, box);
    return plausible(face) ? { face, points } : null;
  } finally {
    crop.dispose();
  }
}

async function detect(image: ImageData, find: boolean): Promise<FaceSample | null> {
  const input = tf.browser.fromPixels(image);
  try {
    if (!tracked || find) {
      const detected = await faceapi.detectSingleFace(input, DETECTOR);
      // The net's points shift with how the face is framed, so every picture it measures is framed the same
      // way, by the landmarks: a box from the detector only finds them first.
      const first = detected && (await landmarksIn(input, detected.box));
      tracked = first ? boxAround(first.points, image.width, image.height) : null;
    }
    const found = tracked && (await landmarksIn(input, tracked));
    tracked = found ? boxAround(found.points, image.width, image.height) : null;
    return found ? found.face : null;
  } finally {
    input.dispose();
  }
}

/** One picture's work in ms (the detector, then the landmarks in a face-sized box of a blank picture), once
 * the backend is warm: WebGL compiles its shaders on the first run, the CPU backend's kernels speed up over
 * the first few. */
async function timeBackend(): Promise<number> {
  const run = async () => {
    const blank = tf.browser.fromPixels(new ImageData(320, 240));
    try {
      await faceapi.detectSingleFace(blank, DETECTOR);
      await landmarksIn(blank, { x: 100, y: 40, width: 120, height: 140 });
    } finally {
      blank.dispose();
    }
  };
  await run();
  await run();
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/** WebGL drawn by the CPU (SwiftShader, llvmpipe: a machine without a GPU) is slower than the CPU backend. */
function softwareWebGl(): boolean {
  const gl = new OffscreenCanvas(1, 1).getContext("webgl2") ?? new OffscreenCanvas(1, 1).getContext("webgl");
  if (!gl) return true;
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  return /swiftshader|llvmpipe|software/i.test(renderer);
}

async function load(): Promise<FromWorker> {
  const [detector, landmarks] = await Promise.all([
    weights(detectorSpec as Spec, detectorUrl),
    weights(landmarkSpec as Spec, landmarkUrl),
  ]);
  faceapi.nets.tinyFaceDetector.loadFromWeightMap(detector);
  faceapi.nets.faceLandmark68TinyNet.loadFromWeightMap(landmarks);
  // WebGL on a real GPU (tablets), the plain CPU backend otherwise. Not wasm: the page's policy does not allow
  // compiling WebAssembly.
  for (const backend of softwareWebGl() ? ["cpu"] : ["webgl", "cpu"]) {
    try {
      if (await tf.setBackend(backend)) return { kind: "ready", backend, inferenceMs: await timeBackend() };
    } catch {
      // not on this device: try the next one
    }
  }
  throw new Error("no tfjs backend works here");
}

// One picture at a time, in order: the tracked box carries from each picture to the next.
let queue: Promise<unknown> = load()
  .catch((err: unknown): FromWorker => ({ kind: "failed", message: String(err) }))
  .then((answer) => scope.postMessage(answer));

scope.onmessage = (event) => {
  const { id, image, find } = event.data;
  queue = queue.then(() =>
    detect(image, find).then(
      (face) => scope.postMessage({ kind: "face", id, face }),
      (err: unknown) => scope.postMessage({ kind: "error", id, message: String(err) }),
    ),
  );
};
