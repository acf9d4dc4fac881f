// A run uses a station's calibration: the engine aims the pointer in fractions of the active picture (the
// frame without the grabber's bars: engine/actions.ts pointFor), taking that picture for the device's whole
// screen. Overscan (the grabber cutting the screen's edges) and a pointer that is not where the device says
// break that; the profile's fitted mapping turns the aim into the position that shows there. The time an
// action may take to show is stretched for a slow station.
import type { HidDevice } from '../../drivers/hid/types.ts';
import type { Calibration } from './profile.ts';

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/**
 * The position to send (0..1 of the device's screen) so that the pointer shows at (x, y) of the active
 * picture (fractions of it), by the profile's fitted mapping. Without a mapping: (x, y) as they are.
 */
export function aimFor(cal: Calibration, x: number, y: number): { x: number; y: number } {
  const p = cal.pointer;
  if (!p) return { x, y };
  const a = cal.activeArea, f = cal.frame;
  const frameX = (a.x0 + x * (a.x1 - a.x0)) / f.width, frameY = (a.y0 + y * (a.y1 - a.y0)) / f.height;
  return { x: clamp01((frameX - p.offsetX) / p.scaleX), y: clamp01((frameY - p.offsetY) / p.scaleY) };
}

/** Where the pointer shows, in frame pixels, for a position sent to the board. */
export function seenFor(cal: Calibration, x: number, y: number): { x: number; y: number } | null {
  const p = cal.pointer;
  return p ? { x: (p.scaleX * x + p.offsetX) * cal.frame.width, y: (p.scaleY * y + p.offsetY) * cal.frame.height } : null;
}

/**
 * The board with move(x, y) corrected: x and y are fractions of the active picture (as the engine computes
 * them from where OCR saw a button), sent as the device position that shows there. Everything else (keys,
 * status, a serial board's counters and events) goes straight through. Without a pointer mapping in the
 * profile, the board is returned as it is.
 */
export function applyCalibration<T extends HidDevice>(hid: T, cal: Calibration): T {
  if (!cal.pointer) return hid;
  const move = (x: number, y: number) => { const a = aimFor(cal, x, y); return hid.move(a.x, a.y); };
  return new Proxy(hid, {
    get(target, key) {
      if (key === 'move') return move;
      if (key === 'description') return `${target.description} (pointer calibrated for ${cal.station})`;
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * How long (ms) an action may take to show on this station before it counts as without effect: the flow's
 * own time, or more on a station whose keys take long to show (three times its p95, plus a second).
 */
export function confirmTimeoutFor(cal: Calibration | null | undefined, flowMs: number): number {
  const p95 = cal?.keyLatencyMs?.p95;
  if (p95 === undefined) return flowMs;
  return Math.max(flowMs, Math.round(3 * p95 + 1000));
}

/** The frame size the profile was measured at differs from this frame's: its pixel figures no longer fit. */
export function frameSizeMismatch(cal: Calibration, width: number, height: number): string | null {
  if (cal.frame.width === width && cal.frame.height === height) return null;
  return `calibration ${cal.station} was measured on ${cal.frame.width}x${cal.frame.height} frames, the grabber now sends ${width}x${height}: calibrate again`;
}
