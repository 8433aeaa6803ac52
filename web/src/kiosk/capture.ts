// Taking the burst with the landmark model watching: frames every interval into a rolling buffer, the model on
// the latest frame only (skipped while it is busy, so it never stretches the interval), and the latest frames
// sent as soon as the asked turn is seen. Camera and model are passed in, so this is tested with fakes.

import type { Challenge } from "../api/types";
import type { MessageKey } from "../i18n";
import type { CapturePlan, Frame } from "./burst";
import { assessPosition, noseOffset, turnSeen, type FaceSample } from "./facecheck";

/** A grabbed picture: what the model looks at, and its JPEG (encoding runs meanwhile). */
export interface Grabbed<S> {
  source: S;
  width: number;
  height: number;
  blob: Promise<Blob>;
}

export type Detect<S> = (source: S) => Promise<FaceSample | null>;

export interface TurnWatch<S> {
  plan: CapturePlan;
  action: Challenge["action"];
  /** performance.now() at the start of the capture: frame times count from here. */
  t0: number;
  grab: () => Grabbed<S>;
  /** null: no model, a timed burst of ``plan.count`` frames. */
  detect: Detect<S> | null;
  now?: () => number;
}

export interface Burst {
  frames: Frame[];
  /** The model saw the asked turn (false: sent at the deadline, or without a model). */
  turnSeen: boolean;
}

export async function captureTurn<S>(watch: TurnWatch<S>): Promise<Burst> {
  const { plan, action, t0, grab } = watch;
  const now = watch.now ?? (() => performance.now());
  let detect = watch.detect;
  const buffer: { index: number; timeMs: number; blob: Promise<Blob> }[] = [];
  const samples: { index: number; offset: number }[] = [];
  let busy = false;
  let seen = false;
  let wake = () => {};
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const done = () =>
    buffer.length >= plan.min &&
    (seen || (detect === null && buffer.length >= plan.count) || now() - t0 >= plan.waitMs);

  for (let index = 0; !done(); index++) {
    const wait = t0 + index * plan.intervalMs - now();
    if (wait > 0) await sleep(wait);
    if (done()) break;
    const timeMs = now() - t0;
    const grabbed = grab();
    buffer.push({ index, timeMs, blob: grabbed.blob });
    if (buffer.length > plan.max) buffer.shift();
    if (detect && !busy) {
      busy = true;
      const model = detect;
      model(grabbed.source)
        .then((face) => {
          if (face) samples.push({ index, offset: noseOffset(face) });
          // Only a turn within the frames that would be sent counts: the server judges those alone.
          const first = buffer[Math.max(0, buffer.length - plan.count)].index;
          seen ||= turnSeen(samples.filter((s) => s.index >= first).map((s) => s.offset), action);
        })
        .catch(() => {
          detect = null; // the model failed: finish as a timed burst
        })
        .finally(() => {
          busy = false;
          if (done()) wake();
        });
    }
  }
  const window = buffer.slice(-plan.count);
  const blobs = await Promise.all(window.map((frame) => frame.blob));
  return { frames: window.map((frame, i) => ({ blob: blobs[i], timeMs: frame.timeMs })), turnSeen: seen };
}

/** Between two looks while the face is not ready: the prompt needs no more, and the CPU is shared. */
const LOOK_GAP_MS = 100;

/** Until the face is in the guide, big enough and frontal (true), or ``waitMs`` passed or the model failed
 * (false: the burst goes ahead and the server decides). ``onPrompt`` gets what to tell the student. */
export async function awaitPosition<S>(
  look: () => { source: S; width: number; height: number },
  detect: Detect<S>,
  onPrompt: (prompt: MessageKey | null) => void,
  waitMs: number,
  now: () => number = () => performance.now(),
): Promise<boolean> {
  const until = now() + waitMs;
  while (now() < until) {
    const picture = look();
    let face: FaceSample | null;
    try {
      face = await detect(picture.source);
    } catch {
      return false;
    }
    const position = assessPosition(face, picture.width, picture.height);
    if (position.ready) {
      onPrompt(null);
      return true;
    }
    onPrompt(position.prompt);
    await new Promise((resolve) => setTimeout(resolve, LOOK_GAP_MS));
  }
  return false;
}
