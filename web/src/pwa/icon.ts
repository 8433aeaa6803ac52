// The app's icon, drawn in code so the build makes every size itself (no artwork downloaded or committed):
// a white check mark on the brand blue, as in pwa/favicon.svg. Pure arithmetic on RGBA pixels, so it is
// tested here and encoded as PNG by the build (pwa/plugin.ts).

export const BRAND = [0x12, 0x35, 0x5b] as const;

/** Check mark corners and stroke, in fractions of the icon's side: inside the maskable safe zone (the
 * centred circle of 40 % radius) whatever the launcher's mask. */
const MARK = [
  [0.3, 0.52],
  [0.44, 0.66],
  [0.71, 0.38],
] as const;
const STROKE = 0.085;
/** Corner radius of the "any" icon (the maskable one is full-bleed: the launcher cuts its own shape). */
const CORNER = 0.22;

function segmentDistance(px: number, py: number, [ax, ay]: readonly number[], [bx, by]: readonly number[]): number {
  const dx = bx - ax;
  const dy = by - ay;
  const along = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + along * dx), py - (ay + along * dy));
}

/** Signed distance to the rounded square's edge (negative inside), in fractions of the side. */
function squareDistance(px: number, py: number, radius: number): number {
  const qx = Math.abs(px - 0.5) - (0.5 - radius);
  const qy = Math.abs(py - 0.5) - (0.5 - radius);
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - radius;
}

/** Coverage of a pixel by a shape from its signed distance in pixels: a one-pixel soft edge. */
const coverage = (distancePx: number) => Math.max(0, Math.min(1, 0.5 - distancePx));

/** ``size``×``size`` RGBA pixels, row by row. */
export function drawIcon(size: number, maskable: boolean): Uint8Array {
  const pixels = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const px = (x + 0.5) / size;
      const py = (y + 0.5) / size;
      const background = maskable ? 1 : coverage(squareDistance(px, py, CORNER) * size);
      const mark = coverage((Math.min(segmentDistance(px, py, MARK[0], MARK[1]), segmentDistance(px, py, MARK[1], MARK[2])) - STROKE / 2) * size);
      const alpha = Math.max(background, mark);
      const i = (y * size + x) * 4;
      for (let c = 0; c < 3; c++) pixels[i + c] = Math.round(BRAND[c] * (1 - mark) + 255 * mark);
      pixels[i + 3] = Math.round(alpha * 255);
    }
  }
  return pixels;
}
