// Landmark samples for the kiosk's tests, as the browser model would give them.

import type { FaceSample } from "../kiosk/facecheck";

/** A face in a 640x480 picture: eyes ``iod`` apart around (cx, cy), the nose ``offset`` IODs to the right. */
export function face(offset = 0, { iod = 160, cx = 320, cy = 230, roll = 0 } = {}): FaceSample {
  const [c, s] = [Math.cos(roll), Math.sin(roll)];
  const at = (dx: number, dy: number) => ({ x: cx + dx * c - dy * s, y: cy + dx * s + dy * c });
  return {
    box: { x: cx - iod, y: cy - 0.8 * iod, width: 2 * iod, height: 2.2 * iod },
    leftEye: at(-iod / 2, 0),
    rightEye: at(iod / 2, 0),
    noseTip: at(offset * iod, 0.6 * iod),
  };
}
