// Decoded pixels of a frame: a small thumbnail first (JPEG shrink-on-load: a few ms even at 4K), the full
// picture only when a frame is new and has to be read. Everything else works on these buffers in plain code:
// a crop of a region costs no decode.
import sharp from 'sharp';
import type { Box } from './types.ts';

// libvips' operation cache keeps recent inputs and results for a repeat of the same operation on the same
// buffer; every frame is a new buffer, so it would only hold decoded frames in memory. (Process-wide.)
sharp.cache(false);

/** Pixels, 3 channels (RGB), row by row. */
export interface Raster { data: Buffer; width: number; height: number }

/** One channel (grey), row by row. */
export interface Grey { data: Uint8Array; width: number; height: number }

/** A thumbnail and how many frame pixels one of its pixels stands for. */
export interface Thumbnail extends Raster { step: number; frameWidth: number; frameHeight: number }

/** Thumbnail width: an eighth of the frame (JPEG decodes straight to it), at least 64 px. */
const THUMB_DIVISOR = 8;

function rgb(image: Buffer) {
  return sharp(image).flatten({ background: '#000000' }).removeAlpha().toColourspace('srgb');
}

/**
 * Width and height from a JPEG's frame header (SOFn), or null when it is not a JPEG or has none before its
 * data: reading them costs nothing next to asking the decoder.
 */
export function jpegSize(image: Buffer): { width: number; height: number } | null {
  if (image.length < 4 || image[0] !== 0xff || image[1] !== 0xd8) return null;
  let i = 2;
  while (i + 9 < image.length) {
    if (image[i] !== 0xff) return null;
    const marker = image[i + 1];
    if (marker === 0xff) { i++; continue; }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { i += 2; continue; }
    if (marker === 0xd9 || marker === 0xda) return null;
    const len = image.readUInt16BE(i + 2);
    // SOF0..SOF15 but DHT (C4), JPG (C8), DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const height = image.readUInt16BE(i + 5), width = image.readUInt16BE(i + 7);
      return width > 0 && height > 0 ? { width, height } : null;
    }
    i += 2 + len;
  }
  return null;
}

/** The frame's size and a thumbnail of about an eighth of it, decoded with JPEG shrink-on-load. */
export async function decodeThumbnail(image: Buffer): Promise<Thumbnail> {
  let size = jpegSize(image);
  if (!size) {
    const meta = await sharp(image).metadata();
    if (!meta.width || !meta.height) throw new Error('not an image (no size)');
    size = { width: meta.width, height: meta.height };
  }
  // EXIF rotation is not applied anywhere: grabbers do not rotate.
  const frameWidth = size.width, frameHeight = size.height;
  const width = Math.max(1, Math.min(frameWidth, Math.max(64, Math.round(frameWidth / THUMB_DIVISOR))));
  const height = Math.max(1, Math.round((frameHeight * width) / frameWidth));
  const data = await rgb(image).resize(width, height, { fit: 'fill', kernel: 'linear', fastShrinkOnLoad: true }).raw().toBuffer();
  return { data, width, height, step: frameWidth / width, frameWidth, frameHeight };
}

/** The whole frame as RGB. */
export async function decodeFull(image: Buffer): Promise<Raster> {
  const { data, info } = await rgb(image).raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded frame has ${info.channels} channels, expected 3`);
  return { data, width: info.width, height: info.height };
}

export const luma = (r: number, g: number, b: number): number => 0.2126 * r + 0.7152 * g + 0.0722 * b;

/** A box clipped to the raster and rounded to whole pixels (x1, y1 exclusive); null when nothing is left. */
export function clip(box: Box, width: number, height: number): Box | null {
  const x0 = Math.max(0, Math.floor(box.x0)), y0 = Math.max(0, Math.floor(box.y0));
  const x1 = Math.min(width, Math.ceil(box.x1)), y1 = Math.min(height, Math.ceil(box.y1));
  return x1 > x0 && y1 > y0 ? { x0, y0, x1, y1 } : null;
}

/** Brightness of a box of the raster (whole pixels, inside it), through a lookup table when given. */
export function greyOf(r: Raster, box: Box, table?: Uint8Array): Grey {
  const w = box.x1 - box.x0, h = box.y1 - box.y0;
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    let s = ((box.y0 + y) * r.width + box.x0) * 3;
    const o = y * w;
    if (table) {
      for (let x = 0; x < w; x++, s += 3) out[o + x] = table[(r.data[s] * 54 + r.data[s + 1] * 183 + r.data[s + 2] * 19) >> 8];
    } else {
      for (let x = 0; x < w; x++, s += 3) out[o + x] = (r.data[s] * 54 + r.data[s + 1] * 183 + r.data[s + 2] * 19) >> 8;
    }
  }
  return { data: out, width: w, height: h };
}

/** RGBA copy of a box (for the QR reader). */
export function rgbaOf(r: Raster, box: Box): { data: Uint8ClampedArray; width: number; height: number } {
  const w = box.x1 - box.x0, h = box.y1 - box.y0;
  const out = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    let s = ((box.y0 + y) * r.width + box.x0) * 3, d = y * w * 4;
    for (let x = 0; x < w; x++, s += 3, d += 4) {
      out[d] = r.data[s]; out[d + 1] = r.data[s + 1]; out[d + 2] = r.data[s + 2]; out[d + 3] = 255;
    }
  }
  return { data: out, width: w, height: h };
}

/**
 * A grey image shrunk by averaging cells of `cell` x `cell` pixels, as three equal channels: a cheap
 * overview of a region, for finding filled areas (buttons, the selected item).
 */
export function shrinkGrey(grey: Uint8Array, width: number, height: number, cell: number): Raster {
  const w = Math.max(1, Math.floor(width / cell)), h = Math.max(1, Math.floor(height / cell));
  const out = Buffer.alloc(w * h * 3);
  const n = cell * cell;
  for (let ty = 0; ty < h; ty++) {
    for (let tx = 0; tx < w; tx++) {
      let sum = 0;
      for (let dy = 0; dy < cell; dy++) {
        const row = (ty * cell + dy) * width + tx * cell;
        for (let dx = 0; dx < cell; dx++) sum += grey[row + dx];
      }
      const d = (ty * w + tx) * 3;
      out[d] = out[d + 1] = out[d + 2] = sum / n;
    }
  }
  return { data: out, width: w, height: h };
}

/** A box (whole pixels, inside) of a grey image of the given width, copied out. */
export function subGrey(grey: Uint8Array, width: number, box: Box): Uint8Array {
  const w = box.x1 - box.x0, h = box.y1 - box.y0;
  if (box.x0 === 0 && w === width && box.y0 === 0) return grey.subarray(0, w * h);
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) out.set(grey.subarray((box.y0 + y) * width + box.x0, (box.y0 + y) * width + box.x1), y * w);
  return out;
}

/** Mean colour of a box of the raster (frame pixels). */
export function meanRgb(r: Raster, box: Box): { r: number; g: number; b: number } {
  const c = clip(box, r.width, r.height);
  if (!c) return { r: 0, g: 0, b: 0 };
  let R = 0, G = 0, B = 0, n = 0;
  for (let y = c.y0; y < c.y1; y += 2) {
    for (let x = c.x0, i = (y * r.width + x) * 3; x < c.x1; x += 2, i += 6) { R += r.data[i]; G += r.data[i + 1]; B += r.data[i + 2]; n++; }
  }
  return n ? { r: R / n, g: G / n, b: B / n } : { r: 0, g: 0, b: 0 };
}
