// What an HDMI grabber does to a picture, applied to the virtual device's frames so that the agent's screen
// recognition meets the same trouble as at a real bench: a mouse pointer over the text, overscan (the edges
// cut off and the rest blown up), scaling into another frame size, letterbox/pillarbox bars, slight blur,
// brightness, contrast and colour shifts, noise, and JPEG compression. Deterministic: the noise comes from a
// seeded generator, so the same frame, impairments and seed give the same bytes on every run.
//
// Order, as the signal travels: the pointer is part of the device's screen; the grabber's scaler crops the
// overscan and resizes the rest into the active area; the optics/ADC blur and shift colours; the bars are
// the scaler's own (pure black); noise lands on the whole frame; then the JPEG encoder.

import sharp, { type Sharp } from 'sharp';

/** Black bars on each side, each a fraction (0..0.45) of the output frame's height (top, bottom) or width (left, right). */
export interface Borders { top: number; bottom: number; left: number; right: number }

export interface Impairments {
  /** JPEG quality of the output, 1..100 (default 90). */
  quality?: number;
  /** The output frame size (e.g. 1280x720, 1024x768); the picture is resized into it. Default: the input's size. */
  scale?: { width: number; height: number };
  /** Letterbox/pillarbox bars: one fraction for every side, or each side's. The picture fills what is left. */
  border?: number | Borders;
  /** Fraction of the picture cut from each edge, the rest scaled back to full size (TVs and grabbers do it). */
  overscan?: number;
  /** Standard deviation of the added noise, in 0..255 levels. */
  noise?: number;
  /** Gaussian blur sigma in pixels of the output (0: none; else at least 0.3). */
  blur?: number;
  /** Multiplier of every level (1: none). */
  brightness?: number;
  /** Contrast around mid-grey (1: none; below 1 flatter). */
  contrast?: number;
  /** Per-channel multipliers [r, g, b] (a colour cast). */
  tint?: [number, number, number];
  /** A standard white arrow pointer with a black outline, its tip at (x, y) in 0..1 of the input picture. */
  cursor?: { x: number; y: number };
  /** Seed of the noise (an integer 0..2^32-1, default 0). */
  seed?: number;
}

/** A bad impairment: `option` names it as the caller spelled it (`--noise`, `impair.noise`). */
export class ImpairmentError extends Error {
  constructor(readonly option: string, message: string) {
    super(`${option}: ${message}`);
    this.name = 'ImpairmentError';
  }
}

/** The command line's spelling of each impairment, as commander hands it over (camelCase keys, string values). */
export interface ImpairmentArgs {
  jpegQuality?: string;
  outSize?: string;
  border?: string;
  overscan?: string;
  noise?: string;
  blur?: string;
  brightness?: string;
  contrast?: string;
  tint?: string;
  /** "x,y" in 0..1. */
  cursor?: string;
  seed?: string;
}

const DEFAULT_QUALITY = 90;

// ---------------------------------------------------------------- checks and parsing

type Label = (field: keyof Impairments) => string;
const FIELD_LABEL: Label = (f) => `impair.${f}`;
const CLI_LABEL: Label = (f) => ({
  quality: '--jpeg-quality', scale: '--out-size', border: '--border', overscan: '--overscan', noise: '--noise', blur: '--blur',
  brightness: '--brightness', contrast: '--contrast', tint: '--tint', cursor: '--cursor', seed: '--seed',
} as const)[f];

function inRange(label: string, v: unknown, min: number, max: number, what = `a number from ${min} to ${max}`): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new ImpairmentError(label, `must be ${what}, got ${show(v)}`);
  return v;
}

function positive(label: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > max) throw new ImpairmentError(label, `must be a number above 0 and up to ${max}, got ${show(v)}`);
  return v;
}

function integer(label: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ImpairmentError(label, `must be a whole number from ${min} to ${max}, got ${show(v)}`);
  return v;
}

function show(v: unknown): string {
  return typeof v === 'string' ? `"${v}"` : JSON.stringify(v) ?? String(v);
}

/** Checks every field (names the first bad one) and returns the impairments unchanged. */
export function validateImpairments(imp: Impairments, label: Label = FIELD_LABEL): Impairments {
  if (imp.quality !== undefined) integer(label('quality'), imp.quality, 1, 100);
  if (imp.scale !== undefined) {
    integer(`${label('scale')} width`, imp.scale?.width, 64, 7680);
    integer(`${label('scale')} height`, imp.scale?.height, 64, 4320);
  }
  if (imp.border !== undefined) {
    if (typeof imp.border === 'number') inRange(label('border'), imp.border, 0, 0.45);
    const b = typeof imp.border === 'number' ? { top: imp.border, bottom: imp.border, left: imp.border, right: imp.border } : imp.border;
    if (typeof b !== 'object' || b === null) throw new ImpairmentError(label('border'), `must be a fraction or {top,bottom,left,right}, got ${show(imp.border)}`);
    for (const side of ['top', 'bottom', 'left', 'right'] as const) inRange(`${label('border')} ${side}`, b[side], 0, 0.45);
    if (b.top + b.bottom > 0.9 || b.left + b.right > 0.9) throw new ImpairmentError(label('border'), `leaves less than a tenth of the frame for the picture (${show(imp.border)})`);
  }
  if (imp.overscan !== undefined) inRange(label('overscan'), imp.overscan, 0, 0.2);
  if (imp.noise !== undefined) inRange(label('noise'), imp.noise, 0, 64);
  if (imp.blur !== undefined && imp.blur !== 0) inRange(label('blur'), imp.blur, 0.3, 20, '0 (none) or a sigma from 0.3 to 20');
  if (imp.brightness !== undefined) positive(label('brightness'), imp.brightness, 4);
  if (imp.contrast !== undefined) positive(label('contrast'), imp.contrast, 4);
  if (imp.tint !== undefined) {
    if (!Array.isArray(imp.tint) || imp.tint.length !== 3) throw new ImpairmentError(label('tint'), `must be three multipliers r,g,b, got ${show(imp.tint)}`);
    imp.tint.forEach((t, i) => positive(`${label('tint')} ${'rgb'[i]}`, t, 4));
  }
  if (imp.cursor !== undefined) {
    inRange(`${label('cursor')} x`, imp.cursor?.x, 0, 1);
    inRange(`${label('cursor')} y`, imp.cursor?.y, 0, 1);
  }
  if (imp.seed !== undefined) integer(label('seed'), imp.seed, 0, 0xffffffff);
  return imp;
}

/** Impairments from command-line strings; an ImpairmentError names the option and the value. */
export function parseImpairments(args: ImpairmentArgs): Impairments {
  const imp: Impairments = {};
  const num = (field: keyof Impairments, value: string): number => {
    const n = value.trim() === '' ? NaN : Number(value);
    if (!Number.isFinite(n)) throw new ImpairmentError(CLI_LABEL(field), `expected a number, got "${value}"`);
    return n;
  };
  const list = (field: keyof Impairments, value: string, count: number[], example: string): number[] => {
    const parts = value.split(',');
    if (!count.includes(parts.length)) throw new ImpairmentError(CLI_LABEL(field), `expected ${example}, got "${value}"`);
    return parts.map((p) => num(field, p));
  };
  if (args.jpegQuality !== undefined) imp.quality = num('quality', args.jpegQuality);
  if (args.outSize !== undefined) {
    const m = /^\s*(\d+)x(\d+)\s*$/i.exec(args.outSize);
    if (!m) throw new ImpairmentError('--out-size', `expected WIDTHxHEIGHT such as 1280x720, got "${args.outSize}"`);
    imp.scale = { width: Number(m[1]), height: Number(m[2]) };
  }
  if (args.border !== undefined) {
    const b = list('border', args.border, [1, 4], 'one fraction such as 0.05, or top,bottom,left,right such as 0,0,0.125,0.125');
    imp.border = b.length === 1 ? b[0] : { top: b[0], bottom: b[1], left: b[2], right: b[3] };
  }
  if (args.overscan !== undefined) imp.overscan = num('overscan', args.overscan);
  if (args.noise !== undefined) imp.noise = num('noise', args.noise);
  if (args.blur !== undefined) imp.blur = num('blur', args.blur);
  if (args.brightness !== undefined) imp.brightness = num('brightness', args.brightness);
  if (args.contrast !== undefined) imp.contrast = num('contrast', args.contrast);
  if (args.tint !== undefined) imp.tint = list('tint', args.tint, [3], 'r,g,b multipliers such as 1.1,1,0.9') as [number, number, number];
  if (args.cursor !== undefined) {
    const [x, y] = list('cursor', args.cursor, [2], 'x,y in 0..1 such as 0.5,0.2');
    imp.cursor = { x, y };
  }
  if (args.seed !== undefined) imp.seed = num('seed', args.seed);
  return validateImpairments(imp, CLI_LABEL);
}

/** True when the impairments change the picture itself (not just the JPEG quality or the seed). */
export function impairsPicture(imp: Impairments): boolean {
  const geometry = geometryOf(imp, 1000, 1000);
  return imp.cursor !== undefined || geometry.active.width !== 1000 || geometry.active.height !== 1000
    || geometry.active.x !== 0 || geometry.active.y !== 0 || !!imp.overscan || !!imp.noise || !!imp.blur || colourLuts(imp) !== null;
}

// ---------------------------------------------------------------- geometry

export interface Rect { x: number; y: number; width: number; height: number }

export interface ImpairedGeometry {
  /** Output frame size. */
  width: number;
  height: number;
  /** The part of the input picture that is shown (overscan cuts the rest). */
  crop: Rect;
  /** Where that part lands in the output frame; black bars around it. */
  active: Rect;
}

/** Where the picture of an input frame of inWidth x inHeight ends up in the impaired output; throws when nothing would be left of it. */
export function geometryOf(imp: Impairments, inWidth: number, inHeight: number): ImpairedGeometry {
  const width = imp.scale?.width ?? inWidth, height = imp.scale?.height ?? inHeight;
  const b = imp.border === undefined ? { top: 0, bottom: 0, left: 0, right: 0 }
    : typeof imp.border === 'number' ? { top: imp.border, bottom: imp.border, left: imp.border, right: imp.border } : imp.border;
  const top = Math.round(b.top * height), bottom = Math.round(b.bottom * height);
  const left = Math.round(b.left * width), right = Math.round(b.right * width);
  const ox = Math.round((imp.overscan ?? 0) * inWidth), oy = Math.round((imp.overscan ?? 0) * inHeight);
  const g = {
    width,
    height,
    crop: { x: ox, y: oy, width: inWidth - 2 * ox, height: inHeight - 2 * oy },
    active: { x: left, y: top, width: width - left - right, height: height - top - bottom },
  };
  if (g.crop.width < 16 || g.crop.height < 16 || g.active.width < 16 || g.active.height < 16) {
    throw new ImpairmentError('impair', `a ${inWidth}x${inHeight} picture would be shown ${g.active.width}x${g.active.height} from ${g.crop.width}x${g.crop.height}: too small (${JSON.stringify(imp)})`);
  }
  return g;
}

/** Where a point of the device's screen (0..1 on each axis) appears in the output frame, in output pixels. */
export function deviceToOutput(imp: Impairments, inWidth: number, inHeight: number, x: number, y: number): { x: number; y: number } {
  const { crop, active } = geometryOf(imp, inWidth, inHeight);
  return {
    x: active.x + ((x * inWidth - crop.x) / crop.width) * active.width,
    y: active.y + ((y * inHeight - crop.y) / crop.height) * active.height,
  };
}

// ---------------------------------------------------------------- the frame

/** The frame (JPEG or PNG) as a grabber would deliver it: a JPEG of the output size. */
export async function impairFrame(frame: Buffer, imp: Impairments): Promise<Buffer> {
  validateImpairments(imp);
  const quality = imp.quality ?? DEFAULT_QUALITY;

  // Three channels from here on: an alpha channel would be inverted by negate and misread by raw code.
  let picture: Sharp;
  let inWidth: number, inHeight: number;
  if (imp.cursor) {
    const { data, info } = await rgb(sharp(frame)).raw().toBuffer({ resolveWithObject: true });
    inWidth = info.width;
    inHeight = info.height;
    await drawCursor(data, inWidth, inHeight, imp.cursor);
    picture = sharp(data, { raw: { width: inWidth, height: inHeight, channels: 3 } });
  } else {
    const meta = await sharp(frame).metadata();
    if (!meta.width || !meta.height) throw new Error('impairFrame: the frame is not an image sharp can read');
    inWidth = meta.width;
    inHeight = meta.height;
    picture = rgb(sharp(frame));
  }

  const g = geometryOf(imp, inWidth, inHeight);
  // sharp runs a pipeline in its own fixed order: extract before resize is honoured, blur comes after both.
  if (g.crop.x > 0 || g.crop.y > 0) picture = picture.extract({ left: g.crop.x, top: g.crop.y, width: g.crop.width, height: g.crop.height });
  if (g.active.width !== g.crop.width || g.active.height !== g.crop.height) {
    // A grabber's scaler is closer to bilinear than to Lanczos (no ringing around text).
    picture = picture.resize(g.active.width, g.active.height, { fit: 'fill', kernel: 'linear' });
  }
  if (imp.blur) picture = picture.blur(imp.blur);

  const colour = colourLuts(imp);
  const bars = g.active.width !== g.width || g.active.height !== g.height;
  if (!bars && !imp.noise && !colour) return picture.jpeg({ quality }).toBuffer();

  // Colour, bars and noise in plain code, in one or two passes: sharp's linear works in floats (slower than a
  // lookup table), and its extend would run before the blur.
  const { data, info } = await picture.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`impairFrame: expected 3 channels after flattening, got ${info.channels}`);
  const out = bars || colour ? placePicture(data, g, colour) : data;
  if (imp.noise) addNoise(out, imp.noise, imp.seed ?? 0);
  return sharp(out, { raw: { width: g.width, height: g.height, channels: 3 } }).jpeg({ quality }).toBuffer();
}

/** Opaque sRGB with three channels, whatever came in (greyscale, alpha). */
function rgb(img: Sharp): Sharp {
  return img.flatten({ background: '#000000' }).toColourspace('srgb');
}

/** out = a * in + b per channel (brightness, then contrast around mid-grey, then the tint) as lookup tables; null when the identity. */
function colourLuts(imp: Impairments): [Uint8Array, Uint8Array, Uint8Array] | null {
  const br = imp.brightness ?? 1, c = imp.contrast ?? 1, tint = imp.tint ?? [1, 1, 1];
  if (br === 1 && c === 1 && tint.every((t) => t === 1)) return null;
  return tint.map((t) => {
    const lut = new Uint8Array(256);
    for (let v = 0; v < 256; v++) lut[v] = Math.max(0, Math.min(255, Math.round(t * (c * (br * v - 128) + 128))));
    return lut;
  }) as [Uint8Array, Uint8Array, Uint8Array];
}

/** The active picture (raw RGB) in a black frame of the output size, through the colour tables if any. */
function placePicture(pic: Buffer, g: ImpairedGeometry, luts: [Uint8Array, Uint8Array, Uint8Array] | null): Buffer {
  const bars = g.active.width !== g.width || g.active.height !== g.height;
  const out = bars ? Buffer.alloc(g.width * g.height * 3) : pic;
  const row = g.active.width * 3;
  for (let y = 0; y < g.active.height; y++) {
    const src = y * row, dst = ((g.active.y + y) * g.width + g.active.x) * 3;
    if (!luts) {
      pic.copy(out, dst, src, src + row);
      continue;
    }
    const [r, gr, b] = luts;
    for (let i = 0; i < row; i += 3) {
      out[dst + i] = r[pic[src + i]];
      out[dst + i + 1] = gr[pic[src + i + 1]];
      out[dst + i + 2] = b[pic[src + i + 2]];
    }
  }
  return out;
}

// ---------------------------------------------------------------- noise

/** 2^16 normally distributed levels of one sigma, rounded; indexed by 16 random bits per sample. */
const noiseTables = new Map<number, Int16Array>();

function noiseTable(sigma: number): Int16Array {
  let table = noiseTables.get(sigma);
  if (table) return table;
  table = new Int16Array(65536);
  // Box-Muller over a fixed generator: the table is the same on every run, for every seed.
  const next = xorshift32(0x2545f491);
  for (let i = 0; i < table.length; i += 2) {
    const u1 = ((next() >>> 0) + 1) / 4294967297, u2 = (next() >>> 0) / 4294967296;
    const r = Math.sqrt(-2 * Math.log(u1));
    table[i] = Math.round(sigma * r * Math.cos(2 * Math.PI * u2));
    table[i + 1] = Math.round(sigma * r * Math.sin(2 * Math.PI * u2));
  }
  if (noiseTables.size > 16) noiseTables.clear();
  noiseTables.set(sigma, table);
  return table;
}

/** Marsaglia's xorshift32 from a mixed seed (never zero). */
function xorshift32(seed: number): () => number {
  let s = mixSeed(seed);
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s;
  };
}

function mixSeed(seed: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return h === 0 ? 0x6d2b79f5 : h;
}

/** Adds gaussian-like noise to every byte, in place; clamped to 0..255. */
function addNoise(buf: Buffer, sigma: number, seed: number): void {
  const table = noiseTable(sigma);
  const px = new Uint8ClampedArray(buf.buffer, buf.byteOffset, buf.length);
  let s = mixSeed(seed);
  const n = px.length;
  // One generator step feeds two samples (16 bits each); inlined because this loop sees every byte.
  const even = n - (n % 2);
  for (let i = 0; i < even; i += 2) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    px[i] += table[s & 0xffff];
    px[i + 1] += table[s >>> 16];
  }
  if (even < n) px[even] += table[(s >>> 8) & 0xffff];
}

// ---------------------------------------------------------------- the pointer

/** The classic arrow, tip at (0,0), in pixels at 100% display scale (about 12 x 19). */
const ARROW_PATH = 'M0 0 L0 16.5 L3.9 12.7 L6.7 19 L9.3 17.9 L6.6 11.8 L11.7 11.8 Z';
const ARROW_MARGIN = 2;

interface Sprite { data: Buffer; width: number; height: number; scale: number }
const sprites = new Map<number, Promise<Sprite>>();

/** The arrow as RGBA, for a screen of the given height (Windows at 1080p usually runs at 125%). */
function cursorSprite(screenHeight: number): Promise<Sprite> {
  const scale = Math.max(1, Math.round((screenHeight / 1080) * 1.25 * 4) / 4);
  let hit = sprites.get(scale);
  if (!hit) {
    const w = Math.ceil(12 * scale) + 2 * ARROW_MARGIN + 1, h = Math.ceil(19 * scale) + 2 * ARROW_MARGIN + 1;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">`
      + `<path transform="translate(${ARROW_MARGIN} ${ARROW_MARGIN}) scale(${scale})" d="${ARROW_PATH}" fill="#ffffff" stroke="#000000" stroke-width="1" stroke-linejoin="miter"/></svg>`;
    hit = sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true })
      .then(({ data, info }) => ({ data, width: info.width, height: info.height, scale }));
    hit.catch(() => sprites.delete(scale));
    sprites.set(scale, hit);
  }
  return hit;
}

/** Blends the arrow into raw RGB, its tip at (x, y) in 0..1 of the frame; clipped at the edges as a screen does. */
async function drawCursor(rgbData: Buffer, width: number, height: number, at: { x: number; y: number }): Promise<void> {
  const sprite = await cursorSprite(height);
  // The pixel the device's hit test uses for the same point.
  const tipX = Math.min(width - 1, Math.floor(at.x * width)), tipY = Math.min(height - 1, Math.floor(at.y * height));
  const left = tipX - ARROW_MARGIN, top = tipY - ARROW_MARGIN;
  for (let sy = 0; sy < sprite.height; sy++) {
    const y = top + sy;
    if (y < 0 || y >= height) continue;
    for (let sx = 0; sx < sprite.width; sx++) {
      const x = left + sx;
      if (x < 0 || x >= width) continue;
      const s = (sy * sprite.width + sx) * 4;
      const a = sprite.data[s + 3];
      if (a === 0) continue;
      const d = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) rgbData[d + c] = Math.round((sprite.data[s + c] * a + rgbData[d + c] * (255 - a)) / 255);
    }
  }
}
