// The active picture: the frame without the black bars that a grabber's scaler adds (letterbox, pillarbox).
// Regions of the catalog are fractions of it. A bar is accepted only where the picture beside it has a solid,
// non-black edge (a setup page's background): on a black page (a busy or boot screen) there is no telling the
// picture's edge from its own black, and the whole frame is taken.
import { luma, type Raster, type Thumbnail } from './raster.ts';
import type { Box } from './types.ts';

/** Brighter than this (any channel) is not bar black, even with noise and JPEG ringing. */
const BAR_MAX = 40;
/** Share of an edge line of the picture that must be non-black for the bar beside it to count. */
const SOLID_EDGE = 0.85;
/** The spread (standard deviation of brightness) under which a picture's edge line counts as one colour. */
const EVEN_EDGE = 30;
/** Bars thinner than this share of the frame are grabber slop, not bars. */
const MIN_BAR = 0.01;

const brightness = (d: Buffer, i: number) => Math.max(d[i], d[i + 1], d[i + 2]);

/** The picture's box in frame pixels (the whole frame when there are no bars). */
export function findActiveArea(thumb: Thumbnail, full?: Raster): Box {
  const { width: w, height: h, data } = thumb;
  const whole: Box = { x0: 0, y0: 0, x1: thumb.frameWidth, y1: thumb.frameHeight };
  const at = (x: number, y: number) => brightness(data, (y * w + x) * 3);
  const anyLitRow = (y: number) => { for (let x = 0; x < w; x++) if (at(x, y) > BAR_MAX) return true; return false; };
  const anyLitCol = (x: number, y0: number, y1: number) => { for (let y = y0; y < y1; y++) if (at(x, y) > BAR_MAX) return true; return false; };
  // Bars are all black: the first line (from each side) with anything lit ends them.
  let top = 0, bottom = h, left = 0, right = w;
  while (top < h && !anyLitRow(top)) top++;
  while (bottom > top && !anyLitRow(bottom - 1)) bottom--;
  if (bottom <= top) return whole;
  while (left < w && !anyLitCol(left, top, bottom)) left++;
  while (right > left && !anyLitCol(right - 1, top, bottom)) right--;
  // The picture's edge beside a bar is a solid line of one colour (a page's background), not text or art.
  // A thumb pixel at the edge mixes bar and picture: the line one further in is judged.
  const even = (values: number[]) => {
    const lit = values.filter((v) => v > BAR_MAX);
    if (lit.length < SOLID_EDGE * values.length) return false;
    const mean = lit.reduce((a, v) => a + v, 0) / lit.length;
    return Math.sqrt(lit.reduce((a, v) => a + (v - mean) ** 2, 0) / lit.length) < EVEN_EDGE;
  };
  const row = (y: number) => { const v: number[] = []; for (let x = left; x < right; x++) v.push(at(x, y)); return v; };
  const col = (x: number) => { const v: number[] = []; for (let y = top; y < bottom; y++) v.push(at(x, y)); return v; };
  const minX = Math.max(1, Math.round(MIN_BAR * w)), minY = Math.max(1, Math.round(MIN_BAR * h));
  const hasTop = top >= minY && bottom - top > 2 && even(row(top + 1));
  const hasBottom = h - bottom >= minY && bottom - top > 2 && even(row(bottom - 2));
  const hasLeft = left >= minX && right - left > 2 && even(col(left + 1));
  const hasRight = w - right >= minX && right - left > 2 && even(col(right - 2));
  if (!hasTop) top = 0;
  if (!hasBottom) bottom = h;
  if (!hasLeft) left = 0;
  if (!hasRight) right = w;
  if (top === 0 && bottom === h && left === 0 && right === w) return whole;
  // A picture is a screen: about 4:3 to 21:9, and most of the frame.
  const aspect = ((right - left) * thumb.step) / ((bottom - top) * thumb.step);
  if (aspect < 1.1 || aspect > 2.5 || (right - left) * (bottom - top) < 0.3 * w * h) return whole;
  const s = thumb.step;
  let box: Box = { x0: left * s, y0: top * s, x1: right * s, y1: bottom * s };
  if (full) box = refine(box, full, s);
  return {
    x0: Math.round(box.x0), y0: Math.round(box.y0),
    x1: Math.round(Math.min(thumb.frameWidth, box.x1)), y1: Math.round(Math.min(thumb.frameHeight, box.y1)),
  };
}

/** Moves each bar's edge to the exact pixel, within one thumbnail step of where the thumbnail put it. */
function refine(box: Box, r: Raster, step: number): Box {
  const reach = Math.ceil(step) + 1;
  const rowLit = (y: number) => { let c = 0, n = 0; for (let x = Math.round(box.x0); x < box.x1; x += 4, n++) { const i = (y * r.width + x) * 3; if (Math.max(r.data[i], r.data[i + 1], r.data[i + 2]) > BAR_MAX) c++; } return c / Math.max(1, n); };
  const colLit = (x: number) => { let c = 0, n = 0; for (let y = Math.round(box.y0); y < box.y1; y += 4, n++) { const i = (y * r.width + x) * 3; if (Math.max(r.data[i], r.data[i + 1], r.data[i + 2]) > BAR_MAX) c++; } return c / Math.max(1, n); };
  const out = { ...box };
  const edge = (from: number, to: number, lit: (i: number) => number) => {
    const dir = to > from ? 1 : -1;
    for (let i = from; dir > 0 ? i <= to : i >= to; i += dir) if (lit(i) >= 0.5) return i;
    return null;
  };
  if (box.y0 > 0) { const y = edge(Math.max(0, Math.round(box.y0) - reach), Math.min(r.height - 1, Math.round(box.y0) + reach), rowLit); if (y !== null) out.y0 = y; }
  if (box.y1 < r.height) { const y = edge(Math.min(r.height - 1, Math.round(box.y1) + reach), Math.max(0, Math.round(box.y1) - reach), rowLit); if (y !== null) out.y1 = y + 1; }
  if (box.x0 > 0) { const x = edge(Math.max(0, Math.round(box.x0) - reach), Math.min(r.width - 1, Math.round(box.x0) + reach), colLit); if (x !== null) out.x0 = x; }
  if (box.x1 < r.width) { const x = edge(Math.min(r.width - 1, Math.round(box.x1) + reach), Math.max(0, Math.round(box.x1) - reach), colLit); if (x !== null) out.x1 = x + 1; }
  return out;
}

/** A catalog box (fractions of the active picture) in frame pixels. */
export function regionBox(active: Box, box: readonly [number, number, number, number]): Box {
  const w = active.x1 - active.x0, h = active.y1 - active.y0;
  return { x0: active.x0 + box[0] * w, y0: active.y0 + box[1] * h, x1: active.x0 + box[2] * w, y1: active.y0 + box[3] * h };
}

/** Mean brightness of a box of the thumbnail (frame pixels). */
export function meanLuma(thumb: Thumbnail, box: Box): number {
  const s = thumb.step;
  const x0 = Math.max(0, Math.floor(box.x0 / s)), x1 = Math.min(thumb.width, Math.ceil(box.x1 / s));
  const y0 = Math.max(0, Math.floor(box.y0 / s)), y1 = Math.min(thumb.height, Math.ceil(box.y1 / s));
  let sum = 0, n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) { const i = (y * thumb.width + x) * 3; sum += luma(thumb.data[i], thumb.data[i + 1], thumb.data[i + 2]); n++; }
  return n ? sum / n : 0;
}


/**
 * The part of a box (frame pixels) where the thumbnail shows something drawn: pixels whose brightness steps
 * by more than `delta` from the pixel left of or above them (text, buttons, art; not the soft gradients
 * of a page or its backdrop), plus `margin` thumbnail pixels around them. Null when the box is blank. Most
 * of a region is empty page; this is what is worth cutting out at full size.
 */
export function contentBox(thumb: Thumbnail, box: Box, margin = 3, delta = 12): Box | null {
  const s = thumb.step, w = thumb.width, d = thumb.data;
  const x0 = Math.max(1, Math.floor(box.x0 / s)), x1 = Math.min(w, Math.ceil(box.x1 / s));
  const y0 = Math.max(1, Math.floor(box.y0 / s)), y1 = Math.min(thumb.height, Math.ceil(box.y1 / s));
  if (x1 <= x0 || y1 <= y0) return null;
  const lum = (i: number) => (d[i] * 54 + d[i + 1] * 183 + d[i + 2] * 19) >> 8;
  const bw = x1 - x0, bh = y1 - y0;
  const edge = new Uint8Array(bw * bh);
  const perCol = new Uint32Array(bw), perRow = new Uint32Array(bh);
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * w + x) * 3, l = lum(i);
      if (Math.abs(l - lum(i - 3)) <= delta && Math.abs(l - lum(i - 3 * w)) <= delta) continue;
      edge[(y - y0) * bw + x - x0] = 1; perCol[x - x0]++; perRow[y - y0]++;
    }
  }
  // A line across most of the box (the Windows 11 card's edge, a separator) is structure, not content.
  let cx0 = x1, cy0 = y1, cx1 = x0 - 1, cy1 = y0 - 1;
  for (let y = 0; y < bh; y++) {
    if (perRow[y] > 0.6 * bw) continue;
    for (let x = 0; x < bw; x++) {
      if (!edge[y * bw + x] || perCol[x] > 0.6 * bh) continue;
      if (x + x0 < cx0) cx0 = x + x0; if (x + x0 > cx1) cx1 = x + x0; if (y + y0 < cy0) cy0 = y + y0; if (y + y0 > cy1) cy1 = y + y0;
    }
  }
  if (cx1 < cx0) return null;
  return {
    x0: Math.max(box.x0, (cx0 - margin) * s), y0: Math.max(box.y0, (cy0 - margin) * s),
    x1: Math.min(box.x1, (cx1 + 1 + margin) * s), y1: Math.min(box.y1, (cy1 + 1 + margin) * s),
  };
}
