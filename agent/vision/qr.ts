// QR codes on the provisioning pages: decoded with zxing-wasm's reader (its .wasm comes from node_modules,
// never a CDN), then parsed as reference/screens.md describes: JSON after an optional prefix, either flat or
// inside "BlockSequence", ZtdId and SerialNumber at either level, several blocks put back in order.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { prepareZXingModule, readBarcodes } from 'zxing-wasm/reader';
import type { QrPayload } from './types.ts';

let ready: Promise<unknown> | null = null;

function loadReader(): Promise<unknown> {
  if (!ready) {
    const require = createRequire(import.meta.url);
    let path: string;
    try {
      path = require.resolve('zxing-wasm/reader/zxing_reader.wasm');
    } catch (e) {
      throw new Error(`QR reader: zxing-wasm's zxing_reader.wasm not found in node_modules (${e instanceof Error ? e.message : String(e)})`);
    }
    const bytes = readFileSync(path);
    const wasmBinary = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    ready = prepareZXingModule({ overrides: { wasmBinary }, fireImmediately: true });
    ready.catch(() => { ready = null; });
  }
  return ready;
}

/** Pixels for the reader: 4 bytes per pixel (RGBA), as an ImageData holds them. */
export interface RgbaImage { data: Uint8ClampedArray; width: number; height: number }

/** A decoded QR code and where it is (image pixels, quiet zone not included). */
export interface QrCode { text: string; box: { x0: number; y0: number; x1: number; y1: number } }

/** Every QR code in an image (an encoded PNG/JPEG, or RGBA pixels), with where each is. */
export async function decodeQrCodes(image: Buffer | RgbaImage): Promise<QrCode[]> {
  await loadReader();
  const input = Buffer.isBuffer(image) ? new Uint8Array(image.buffer, image.byteOffset, image.byteLength) : (image as unknown as ImageData);
  const results = await readBarcodes(input, { formats: ['QRCode'], tryHarder: true, maxNumberOfSymbols: 8 });
  return results.filter((r) => r.isValid && r.text).map((r) => {
    const p = r.position;
    const xs = [p.topLeft.x, p.topRight.x, p.bottomLeft.x, p.bottomRight.x], ys = [p.topLeft.y, p.topRight.y, p.bottomLeft.y, p.bottomRight.y];
    return { text: r.text, box: { x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys) } };
  });
}

/** The texts of every QR code in an image (an encoded PNG/JPEG, or RGBA pixels). */
export async function decodeQrTexts(image: Buffer | RgbaImage): Promise<string[]> {
  return (await decodeQrCodes(image)).map((c) => c.text);
}

/** One block of the Autopilot QR payload. */
export interface QrBlock {
  raw: string;
  ztdId: string | null;
  serialNumber: string | null;
  sequence: number;
  total: number;
  hardwareId: string;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);
const int = (v: unknown, fallback: number): number => {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isInteger(n) && n > 0 ? n : fallback;
};

/** Parses one QR text; null when it holds no JSON object. */
export function parseQrBlock(raw: string): QrBlock | null {
  const start = raw.indexOf('{');
  if (start < 0) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(raw.slice(start).trim());
  } catch {
    return null;
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return null;
  const top = doc as Record<string, unknown>;
  const inner = top.BlockSequence && typeof top.BlockSequence === 'object' ? top.BlockSequence as Record<string, unknown> : {};
  const pick = (key: string) => str(top[key]) ?? str(inner[key]);
  return {
    raw,
    ztdId: pick('ZtdId'),
    serialNumber: pick('SerialNumber'),
    sequence: int(top.SequenceBlockNumber ?? inner.SequenceBlockNumber, 1),
    total: int(top.TotalBlocks ?? inner.TotalBlocks, 1),
    hardwareId: pick('HardwareId') ?? '',
  };
}

/**
 * Puts the blocks of one payload together in SequenceBlockNumber order. ZtdId and SerialNumber come from the
 * first block (in order) that has them; raw is the blocks' texts in order, one per line. Null when no text
 * parses, or when a payload of several blocks is missing one (the caller reads more frames).
 */
export function assembleQrBlocks(texts: string[]): QrPayload | null {
  const blocks = texts.map(parseQrBlock).filter((b): b is QrBlock => b !== null);
  if (blocks.length === 0) return null;
  const bySeq = new Map<number, QrBlock>();
  for (const b of blocks) if (!bySeq.has(b.sequence)) bySeq.set(b.sequence, b);
  const total = Math.max(...blocks.map((b) => b.total));
  for (let i = 1; i <= total; i++) if (!bySeq.has(i)) return null;
  const ordered = [...bySeq.values()].sort((a, b) => a.sequence - b.sequence).slice(0, total);
  return {
    raw: ordered.map((b) => b.raw).join('\n'),
    ztdId: ordered.find((b) => b.ztdId)?.ztdId ?? null,
    serialNumber: ordered.find((b) => b.serialNumber)?.serialNumber ?? null,
  };
}

/** Decodes and parses the QR code(s) of an image; null when there is none or it does not parse. */
export async function readQrPayload(image: Buffer | RgbaImage): Promise<QrPayload | null> {
  return assembleQrBlocks(await decodeQrTexts(image));
}
