// QR codes for the virtual device's pages, made with zxing-wasm's writer. The machine may be offline, so the
// writer gets its .wasm from node_modules, never from a CDN.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { prepareZXingModule, writeBarcode } from 'zxing-wasm/writer';

const require = createRequire(import.meta.url);
let ready: Promise<unknown> | undefined;

function loadWriter(): Promise<unknown> {
  if (!ready) {
    let path: string;
    try {
      path = require.resolve('zxing-wasm/writer/zxing_writer.wasm');
    } catch (err) {
      throw new Error(`zxing-wasm writer .wasm not found in node_modules: ${(err as Error).message}`);
    }
    const bytes = readFileSync(path);
    const wasmBinary = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    ready = prepareZXingModule({ overrides: { wasmBinary }, fireImmediately: true });
  }
  return ready;
}

/** Quiet zone on each side, in modules (the QR standard asks for 4). */
const QUIET_MODULES = 4;

const cache = new Map<string, Promise<Buffer>>();
const CACHE_MAX = 16;

/**
 * A QR code of `text` as a PNG of exactly sizePx x sizePx (1-channel greyscale): black modules on white,
 * every module the same whole number of pixels (nearest-neighbour, no blur), centred with a white quiet zone of
 * at least 4 modules. Throws when sizePx is too small for one pixel per module.
 */
export function renderQr(text: string, sizePx: number): Promise<Buffer> {
  const key = `${sizePx}\u0000${text}`;
  let png = cache.get(key);
  if (!png) {
    png = makeQr(text, sizePx);
    png.catch(() => cache.delete(key));
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(key, png);
  }
  return png;
}

async function makeQr(text: string, sizePx: number): Promise<Buffer> {
  if (!Number.isInteger(sizePx) || sizePx <= 0) throw new Error(`renderQr: size must be a positive whole number of pixels, got ${sizePx}`);
  await loadWriter();
  // Medium error correction: what Windows' pages use and robust to a grabber's JPEG.
  const result = await writeBarcode(text, { format: 'QRCode', scale: 1, addQuietZones: false, options: 'ecLevel=M' });
  if (result.error) throw new Error(`renderQr: zxing could not encode ${text.length} characters as QR: ${result.error}`);
  const { data, width: modules } = result.symbol; // one byte per module: 0 black, 255 white
  const scale = Math.floor(sizePx / (modules + 2 * QUIET_MODULES));
  if (scale < 1) {
    throw new Error(`renderQr: ${sizePx} px is too small for a QR of ${modules} modules plus quiet zone (needs ${modules + 2 * QUIET_MODULES} px)`);
  }
  const side = modules * scale;
  const margin = sizePx - side;
  const left = Math.floor(margin / 2);
  return sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width: modules, height: modules, channels: 1 } })
    .resize(side, side, { kernel: 'nearest' })
    .extend({ top: left, left, bottom: margin - left, right: margin - left, background: { r: 255, g: 255, b: 255 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
}
