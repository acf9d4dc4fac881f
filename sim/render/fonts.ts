// The renderer's one typeface: Open Sans from the npm package open-sans-fontface, so that every machine draws
// the same pixels (never a system font). Layout must be synchronous, so it measures text here from the TTF's
// own tables (cmap, hmtx, glyf bounding boxes) instead of asking Pango; paint uses the same numbers to put
// Pango's ink-cropped text images on the right baseline. Kerning is ignored: a line measures within ~1% of
// what Pango draws.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export type FontWeight = 'light' | 'regular' | 'semibold';

const FILES: Record<FontWeight, string> = {
  light: 'open-sans-fontface/fonts/Light/OpenSans-Light.ttf',
  regular: 'open-sans-fontface/fonts/Regular/OpenSans-Regular.ttf',
  semibold: 'open-sans-fontface/fonts/Semibold/OpenSans-Semibold.ttf',
};

/** Pango font description of each weight (family + style as fontconfig knows these files). */
export const PANGO_FACE: Record<FontWeight, string> = {
  light: 'Open Sans Light',
  regular: 'Open Sans',
  semibold: 'Open Sans Semi-Bold',
};

const require = createRequire(import.meta.url);

/** Absolute path of the TTF of a weight, resolved from node_modules. */
export function fontFile(weight: FontWeight): string {
  try {
    return require.resolve(FILES[weight]);
  } catch (err) {
    throw new Error(`font file ${FILES[weight]} not found in node_modules (is open-sans-fontface installed?): ${(err as Error).message}`);
  }
}

interface FontMetrics {
  unitsPerEm: number;
  ascender: number;
  descender: number; // negative, font units
  advance: Map<number, number>; // code point -> advance width
  glyphBox: Map<number, { xMin: number; yMin: number; xMax: number; yMax: number }>; // code point -> ink box
  fallbackAdvance: number;
}

function tableOffsets(buf: Buffer): Map<string, number> {
  const count = buf.readUInt16BE(4);
  const tables = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const rec = 12 + 16 * i;
    tables.set(buf.toString('latin1', rec, rec + 4), buf.readUInt32BE(rec + 8));
  }
  return tables;
}

/** Code point -> glyph id, from the Windows Unicode BMP (format 4) subtable of cmap. */
function readCmap(buf: Buffer, cmap: number): Map<number, number> {
  const n = buf.readUInt16BE(cmap + 2);
  let sub = -1;
  for (let i = 0; i < n; i++) {
    const rec = cmap + 4 + 8 * i;
    const platform = buf.readUInt16BE(rec), encoding = buf.readUInt16BE(rec + 2);
    const off = cmap + buf.readUInt32BE(rec + 4);
    if (platform === 3 && encoding === 1 && buf.readUInt16BE(off) === 4) sub = off;
  }
  if (sub < 0) throw new Error('font has no cmap format 4 (3,1) subtable');
  const segX2 = buf.readUInt16BE(sub + 6);
  const ends = sub + 14, starts = ends + segX2 + 2, deltas = starts + segX2, ranges = deltas + segX2;
  const map = new Map<number, number>();
  for (let s = 0; s < segX2 / 2; s++) {
    const end = buf.readUInt16BE(ends + 2 * s), start = buf.readUInt16BE(starts + 2 * s);
    const delta = buf.readInt16BE(deltas + 2 * s), rangeAt = ranges + 2 * s, range = buf.readUInt16BE(rangeAt);
    for (let c = start; c <= end && c !== 0xffff; c++) {
      let g: number;
      if (range === 0) g = (c + delta) & 0xffff;
      else {
        g = buf.readUInt16BE(rangeAt + range + 2 * (c - start));
        if (g !== 0) g = (g + delta) & 0xffff;
      }
      if (g !== 0) map.set(c, g);
    }
  }
  return map;
}

function loadMetrics(weight: FontWeight): FontMetrics {
  const buf = readFileSync(fontFile(weight));
  const t = tableOffsets(buf);
  const need = (name: string): number => {
    const off = t.get(name);
    if (off === undefined) throw new Error(`font ${FILES[weight]} lacks table ${name}`);
    return off;
  };
  const head = need('head'), hhea = need('hhea'), hmtx = need('hmtx'), loca = need('loca'), glyf = need('glyf');
  const unitsPerEm = buf.readUInt16BE(head + 18);
  const longLoca = buf.readInt16BE(head + 50) === 1;
  const ascender = buf.readInt16BE(hhea + 4), descender = buf.readInt16BE(hhea + 6);
  const numHMetrics = buf.readUInt16BE(hhea + 34);
  const glyphAdvance = (g: number) => buf.readUInt16BE(hmtx + 4 * Math.min(g, numHMetrics - 1));
  const glyphOffset = (g: number) => (longLoca ? buf.readUInt32BE(loca + 4 * g) : buf.readUInt16BE(loca + 2 * g) * 2);
  const advance = new Map<number, number>();
  const glyphBox = new Map<number, { xMin: number; yMin: number; xMax: number; yMax: number }>();
  for (const [cp, g] of readCmap(buf, need('cmap'))) {
    advance.set(cp, glyphAdvance(g));
    const start = glyphOffset(g), end = glyphOffset(g + 1);
    if (end > start) {
      const at = glyf + start;
      glyphBox.set(cp, { xMin: buf.readInt16BE(at + 2), yMin: buf.readInt16BE(at + 4), xMax: buf.readInt16BE(at + 6), yMax: buf.readInt16BE(at + 8) });
    }
  }
  return { unitsPerEm, ascender, descender, advance, glyphBox, fallbackAdvance: advance.get(0x6e) ?? unitsPerEm / 2 };
}

const cache = new Map<FontWeight, FontMetrics>();
function metrics(weight: FontWeight): FontMetrics {
  let m = cache.get(weight);
  if (!m) cache.set(weight, (m = loadMetrics(weight)));
  return m;
}

/** Advance width in pixels of one line of text at `size` px (em size). */
export function measureText(text: string, size: number, weight: FontWeight): number {
  const m = metrics(weight);
  let units = 0;
  for (const ch of text) units += m.advance.get(ch.codePointAt(0)!) ?? m.fallbackAdvance;
  return (units * size) / m.unitsPerEm;
}

/** Line box of a font size: ascent above the baseline and total height, in pixels. */
export function lineMetrics(size: number, weight: FontWeight): { ascent: number; height: number } {
  const m = metrics(weight);
  const ascent = Math.ceil((m.ascender * size) / m.unitsPerEm);
  const descent = Math.ceil((-m.descender * size) / m.unitsPerEm);
  return { ascent, height: ascent + descent };
}

/**
 * Where Pango's ink-cropped image of a line starts, relative to the pen origin on the baseline: left is the
 * ink's left edge, top its top edge (negative: above the baseline). Null when the line has no ink.
 */
export function inkOffset(text: string, size: number, weight: FontWeight): { left: number; top: number } | null {
  const m = metrics(weight);
  let pen = 0, left = Infinity, top = Infinity;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const box = m.glyphBox.get(cp);
    if (box) {
      left = Math.min(left, pen + box.xMin);
      top = Math.min(top, -box.yMax);
    }
    pen += m.advance.get(cp) ?? m.fallbackAdvance;
  }
  if (left === Infinity) return null;
  const s = size / m.unitsPerEm;
  return { left: left * s, top: top * s };
}

/** Whether the typeface has a glyph for every character (others would fall back to a system font). */
export function hasGlyphs(text: string, weight: FontWeight): boolean {
  const m = metrics(weight);
  for (const ch of text) if (!m.advance.has(ch.codePointAt(0)!)) return false;
  return true;
}

/**
 * Greedy word wrap to `maxWidth` pixels. A word longer than the line is broken between characters, so no
 * line is ever wider than maxWidth (unless a single character is).
 */
export function wrapText(text: string, size: number, weight: FontWeight, maxWidth: number): string[] {
  const lines: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(/\s+/).filter(Boolean)) {
      const candidate = line ? `${line} ${word}` : word;
      if (measureText(candidate, size, weight) <= maxWidth) {
        line = candidate;
        continue;
      }
      if (line) lines.push(line);
      line = '';
      // The word alone: break it if it does not fit on a line of its own.
      let piece = '';
      for (const ch of word) {
        if (piece && measureText(piece + ch, size, weight) > maxWidth) {
          lines.push(piece);
          piece = '';
        }
        piece += ch;
      }
      line = piece;
    }
    if (line || lines.length === 0) lines.push(line);
  }
  return lines;
}
