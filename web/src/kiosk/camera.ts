// The kiosk camera: open it, and take frames from the live preview as JPEG (unmirrored, as the camera sees).

import type { Grabbed } from "./capture";

export async function openCamera(video: HTMLVideoElement): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new DOMException("getUserMedia is not available", "Unsupported");
  }
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: false,
    video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } },
  });
  video.srcObject = stream;
  await video.play();
  return stream;
}

export function stopCamera(stream: MediaStream | null): void {
  stream?.getTracks().forEach((track) => track.stop());
}

/** The current picture, scaled so its longer side is at most maxSide (enough for detection; small uploads). */
export function drawFrame(video: HTMLVideoElement, maxSide = 640): HTMLCanvasElement {
  const scale = Math.min(1, maxSide / Math.max(video.videoWidth, video.videoHeight));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  const context = canvas.getContext("2d");
  if (!context || canvas.width === 0) throw new DOMException("no video frame yet", "NotReadableError");
  context.drawImage(video, 0, 0, canvas.width, canvas.height);
  return canvas;
}

export function encodeFrame(canvas: HTMLCanvasElement, quality = 0.9): Promise<Blob> {
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("could not encode a frame"))), "image/jpeg", quality),
  );
}

/** One frame as JPEG. */
export async function grabFrame(video: HTMLVideoElement, maxSide = 640, quality = 0.9): Promise<Blob> {
  return encodeFrame(drawFrame(video, maxSide), quality);
}

/** The current picture for the landmark model alone. */
export function look(video: HTMLVideoElement): { source: HTMLCanvasElement; width: number; height: number } {
  const canvas = drawFrame(video);
  return { source: canvas, width: canvas.width, height: canvas.height };
}

/** A frame for the burst: the picture for the landmark model, its JPEG encoding meanwhile. */
export function grab(video: HTMLVideoElement): Grabbed<HTMLCanvasElement> {
  const canvas = drawFrame(video);
  return { source: canvas, width: canvas.width, height: canvas.height, blob: encodeFrame(canvas) };
}
