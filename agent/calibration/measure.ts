// Measures a station through its own parts: the board that types and points, the grabber that shows the
// screen. Each measurement reacts to the frames (it waits for the picture to change), never to a clock.
import type { Frame, FrameSource } from '../../drivers/capture/types.ts';
import type { HidDevice } from '../../drivers/hid/types.ts';
import { findActiveArea } from '../vision/active-area.ts';
import { nearlyEqual } from '../vision/frame-gate.ts';
import { decodeFull, decodeThumbnail, type Thumbnail } from '../vision/raster.ts';
import type { Box, ScreenId } from '../vision/types.ts';
import { changedPixels, findPointer, fitPointer, percentile, type LumaFrame, type PointerFit, type PointerSample } from './pointer-fit.ts';

export interface ScreenReader { read(image: Buffer): Promise<{ screen: ScreenId }> }

/** The picture's box in the frame, and the frame's size. */
export async function measureActiveArea(frame: Buffer): Promise<{ frame: { width: number; height: number }; activeArea: Box }> {
  const thumb = await decodeThumbnail(frame);
  const full = await decodeFull(frame);
  return { frame: { width: thumb.frameWidth, height: thumb.frameHeight }, activeArea: findActiveArea(thumb, full) };
}

// ---------------------------------------------------------------- key latency

/** Screens where a key shows and another key undoes it, with nothing else happening: a list's selection. */
const HARMLESS_KEYS: Partial<Record<ScreenId, [string, string]>> = {
  'oobe-region': ['ArrowDown', 'ArrowUp'],
  'oobe-keyboard': ['ArrowDown', 'ArrowUp'],
};

export interface KeyLatency { p50: number; p95: number; samples: number; all: number[] }
export type Skipped = { skipped: string };

/** The first frame after `after` that differs visibly from `before` (thumbnail), or null after `timeoutMs`. */
async function waitForVisibleChange(capture: FrameSource, before: { frame: Frame; thumb: Thumbnail }, timeoutMs: number): Promise<Frame | null> {
  const deadline = Date.now() + timeoutMs;
  let seq = before.frame.seq;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return null;
    let f: Frame;
    try {
      f = await capture.next(seq, left);
    } catch {
      return null;
    }
    seq = f.seq;
    if (f.data.equals(before.frame.data)) continue;
    if (!nearlyEqual(before.thumb, await decodeThumbnail(f.data))) return f;
  }
}

async function withThumb(frame: Frame): Promise<{ frame: Frame; thumb: Thumbnail }> {
  return { frame, thumb: await decodeThumbnail(frame.data) };
}

/**
 * Presses a key that shows and its opposite that undoes it (on a list: down, then up), `rounds` times, and
 * times each from the moment the key is sent to the first frame that shows a change. The screen is left as
 * it was found. On a screen with no such key, says so and measures nothing.
 */
export async function measureKeyLatency(hid: HidDevice, capture: FrameSource, reader: ScreenReader,
  opts: { rounds?: number; timeoutMs?: number } = {}): Promise<KeyLatency | Skipped> {
  const rounds = opts.rounds ?? 3;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const start = await capture.latest();
  const { screen } = await reader.read(start.data);
  const keys = HARMLESS_KEYS[screen];
  if (!keys) {
    return { skipped: `the screen is ${screen}, which has no key that shows harmlessly; bring the device to the region or keyboard list of setup and calibrate again` };
  }
  const original = await withThumb(start);
  let order: [string, string] = keys;
  const samples: number[] = [];
  const press = async (key: string): Promise<number | null> => {
    const before = await withThumb(await capture.latest());
    const t0 = Date.now();
    await hid.tap(key);
    const changed = await waitForVisibleChange(capture, before, timeoutMs);
    return changed ? changed.at - t0 : null;
  };
  for (let round = 0; round < rounds; round++) {
    let first = await press(order[0]);
    if (first === null && round === 0) {
      // The selection may be at the end of the list: the other direction first.
      order = [order[1], order[0]];
      first = await press(order[0]);
    }
    if (first === null) {
      return { skipped: `the picture did not change within ${timeoutMs / 1000} s of ${order[0]} on ${screen}: the device does not act on the board's keys (is the board's USB in the device?)` };
    }
    samples.push(first);
    const back = await press(order[1]);
    if (back === null) {
      return { skipped: `${order[1]} did not undo ${order[0]} on ${screen} within ${timeoutMs / 1000} s; check the screen by hand` };
    }
    samples.push(back);
  }
  // Back where it started? (A real list could have scrolled; say so rather than guess.)
  const end = await capture.latest();
  if (!nearlyEqual(original.thumb, await decodeThumbnail(end.data))) {
    return { skipped: `the screen did not come back to how it was after ${order.join('/')} (measured ${samples.join(', ')} ms): check the device` };
  }
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), samples: samples.length, all: samples };
}

// ---------------------------------------------------------------- pointer

/** Where the pointer is sent, in order: a lead-in, the measured points, and a parking spot at the right edge. */
export const POINTER_PATH: readonly { x: number; y: number }[] = [
  { x: 0.15, y: 0.12 },
  { x: 0.3, y: 0.3 }, { x: 0.7, y: 0.32 }, { x: 0.5, y: 0.52 }, { x: 0.3, y: 0.72 }, { x: 0.7, y: 0.7 },
  { x: 0.98, y: 0.5 },
];

async function lumaOf(frame: Buffer): Promise<LumaFrame> {
  const r = await decodeFull(frame);
  const data = new Uint8Array(r.width * r.height);
  for (let i = 0, j = 0; j < data.length; i += 3, j++) data[j] = (r.data[i] * 54 + r.data[i + 1] * 183 + r.data[i + 2] * 19) >> 8;
  return { data, width: r.width, height: r.height };
}

/** Pixels that differ for a pointer to have moved: a few, however small the arrow. */
const POINTER_CHANGE_MIN = 6;

/**
 * After a move, the frame once the picture changed and then held still for one frame (a grabber can deliver
 * a frame caught mid-change). Null when nothing changed within `timeoutMs`.
 */
async function settledAfterChange(capture: FrameSource, before: { frame: Frame; luma: LumaFrame }, timeoutMs: number): Promise<{ frame: Frame; luma: LumaFrame } | null> {
  const deadline = Date.now() + timeoutMs;
  let seq = before.frame.seq;
  let candidate: { frame: Frame; luma: LumaFrame } | null = null;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return candidate;
    let f: Frame;
    try {
      f = await capture.next(seq, left);
    } catch {
      return candidate;
    }
    seq = f.seq;
    if (candidate && f.data.equals(candidate.frame.data)) return candidate;
    if (!candidate && f.data.equals(before.frame.data)) continue;
    const luma = await lumaOf(f.data);
    if (candidate) {
      if (changedPixels(candidate.luma, luma) < POINTER_CHANGE_MIN) return candidate;
      candidate = { frame: f, luma };
    } else if (luma.width === before.luma.width && changedPixels(before.luma, luma) >= POINTER_CHANGE_MIN) {
      candidate = { frame: f, luma };
    }
  }
}

export type PointerResult = PointerFit & { samples: PointerSample[] };

/**
 * Sends the pointer along POINTER_PATH (moves only, no click), finds it in each frame, and fits where it
 * shows against where it was sent. With no visible pointer, says so.
 */
export async function measurePointer(hid: HidDevice, capture: FrameSource, opts: { timeoutMs?: number } = {}): Promise<PointerResult | Skipped> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const first = await capture.latest();
  let last = { frame: first, luma: await lumaOf(first.data) };
  const shots: { frame: Frame; luma: LumaFrame }[] = [];
  for (const [i, p] of POINTER_PATH.entries()) {
    await hid.move(p.x, p.y);
    const seen = await settledAfterChange(capture, last, timeoutMs);
    if (!seen) {
      if (i === 0 || i === POINTER_PATH.length - 1) {
        // The lead-in or the parking spot may be in the overscan (cut off): then the frame is the same.
        shots.push(last);
        continue;
      }
      return { skipped: `no pointer seen: the picture did not change within ${timeoutMs / 1000} s of moving the pointer (the device shows no pointer, or does not read the board's mouse)` };
    }
    shots.push(seen);
    last = seen;
  }
  const { width, height } = shots[0].luma;
  const samples: PointerSample[] = [];
  for (let i = 1; i < POINTER_PATH.length - 1; i++) {
    const blob = findPointer(shots[i - 1].luma, shots[i].luma, shots[i + 1].luma);
    if (blob) samples.push({ aim: POINTER_PATH[i], seen: { x: blob.x0, y: blob.y0 } });
  }
  if (samples.length < 3) {
    return { skipped: `the pointer was found at only ${samples.length} of ${POINTER_PATH.length - 2} points (the picture changed in other ways too: hover effects, an animation)` };
  }
  return { ...fitPointer(samples, width, height), samples };
}

/** Overscan the mapping shows: how much of the device's screen (0..1) falls outside the active picture, per edge. */
export function overscanOf(fit: { scaleX: number; scaleY: number }, active: Box, frame: { width: number; height: number }): { x: number; y: number } {
  const ax = (active.x1 - active.x0) / frame.width, ay = (active.y1 - active.y0) / frame.height;
  // Under half a percent is the measurement's own slack (a pixel or two), not overscan.
  const round = (v: number) => (v < 0.005 ? 0 : Math.round(v * 1000) / 1000);
  return { x: round(Math.max(0, (fit.scaleX - ax) / (2 * fit.scaleX))), y: round(Math.max(0, (fit.scaleY - ay) / (2 * fit.scaleY))) };
}
