// The frames the recognition bench feeds: every sample screen of the virtual device (Windows 11 and 10) as a
// grabber sends it (1920x1080 JPEG, quality 90), what a reader should make of each, and near-identical copies
// (the same picture re-encoded, or with one level of noise) such as a real grabber sends of a still screen.
import sharp from 'sharp';
import { renderFrame } from '../../sim/render/paint.ts';
import { sampleViews } from '../../sim/render/samples.ts';
import type { ScreenView } from '../../sim/view.ts';

export const WIDTH = 1920;
export const HEIGHT = 1080;
export const QUALITY = 90;

/** Sim-only panels: real Windows has them, the catalog does not name them, so the agent reads them as unknown. */
const SIM_ONLY = new Set<string>(['entra-password', 'provisioning-package', 'provisioning-diagnostics', 'keyboard-layout-picker']);

export interface Expected { screen: string; os: string | null }

export interface SampleFrame {
  /** The sample's name (`win11-oobe-region`). */
  name: string;
  view: ScreenView;
  want: Expected;
  jpeg: Buffer;
}

/** Screen and OS a reader should give for a view: sim-only panels are unknown; no OS on a blank or spinner frame. */
export function expectedOf(view: ScreenView): Expected {
  const screen = SIM_ONLY.has(view.screen) ? 'unknown' : view.screen;
  const os = screen === 'unknown' || screen === 'no-signal' || view.style === 'spinner' ? null : view.os;
  return { screen, os };
}

export const isRight = (got: { screen: string; os: string | null }, want: Expected): boolean =>
  got.screen === want.screen && got.os === want.os;

/**
 * Samples in an order where neighbours are different screens of different OSes (Windows 11 and a rotated
 * Windows 10 list, interleaved): each frame read after its neighbour is a fresh frame, never a near-copy.
 */
export function coldOrder<T extends { name: string }>(samples: T[]): T[] {
  const w11 = samples.filter((s) => s.name.startsWith('win11-'));
  const w10 = samples.filter((s) => !s.name.startsWith('win11-'));
  const half = Math.floor(w10.length / 2);
  const rotated = [...w10.slice(half), ...w10.slice(0, half)];
  const out: T[] = [];
  for (let i = 0; i < Math.max(w11.length, rotated.length); i++) {
    if (i < w11.length) out.push(w11[i]);
    if (i < rotated.length) out.push(rotated[i]);
  }
  return out;
}

let frames: Promise<SampleFrame[]> | null = null;

/** Every sample rendered once per process, in cold order. */
export function sampleFrames(): Promise<SampleFrame[]> {
  frames ??= (async () => {
    const out: SampleFrame[] = [];
    for (const { name, view } of coldOrder(sampleViews())) {
      const { jpeg } = await renderFrame(view, { width: WIDTH, height: HEIGHT, quality: QUALITY });
      out.push({ name, view, want: expectedOf(view), jpeg });
    }
    return out;
  })();
  return frames;
}

const variants = new Map<string, Promise<Buffer>>();

function memo(key: string, make: () => Promise<Buffer>): Promise<Buffer> {
  let v = variants.get(key);
  if (!v) { v = make(); variants.set(key, v); }
  return v;
}

/** The same picture encoded again at another JPEG quality: other bytes, (almost) the same pixels. */
export function reencoded(sample: SampleFrame, quality = 85): Promise<Buffer> {
  return memo(`${sample.name}/q${quality}`, () => sharp(sample.jpeg).jpeg({ quality }).toBuffer());
}

/** The picture with every channel of every pixel moved by at most `level` (seeded), encoded at the same quality. */
export function withNoise(sample: SampleFrame, level = 1, seed = 1): Promise<Buffer> {
  return memo(`${sample.name}/noise${level}/${seed}`, async () => {
    const { data, info } = await sharp(sample.jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    let s = (seed * 0x9e3779b9) >>> 0 || 1;
    for (let i = 0; i < data.length; i++) {
      s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
      const d = ((s >>> 0) % (2 * level + 1)) - level;
      data[i] = Math.max(0, Math.min(255, data[i] + d));
    }
    return sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }).jpeg({ quality: QUALITY }).toBuffer();
  });
}
