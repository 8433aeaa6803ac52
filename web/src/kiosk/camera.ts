// The kiosk camera: open it, and take frames from the live preview as JPEG (unmirrored, as the camera sees).

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

/** One frame, scaled so its longer side is at most maxSide (enough for detection; small uploads). */
export function grabFrame(video: HTMLVideoElement, maxSide = 640, quality = 0.9): Promise<Blob> {
  const scale = Math.min(1, maxSide / Math.max(video.videoWidth, video.videoHeight));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  const context = canvas.getContext("2d");
  if (!context || canvas.width === 0) return Promise.reject(new DOMException("no video frame yet", "NotReadableError"));
  context.drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("could not encode a frame"))), "image/jpeg", quality),
  );
}

/** ``count`` frames ``intervalMs`` apart, timed from the first so encoding time does not stretch the burst. */
export async function captureBurst(
  video: HTMLVideoElement,
  count: number,
  intervalMs: number,
  onFrame?: (taken: number) => void,
): Promise<Blob[]> {
  const frames: Blob[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const due = started + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    frames.push(await grabFrame(video));
    onFrame?.(i + 1);
  }
  return frames;
}
