// One region of a frame made ready for OCR: cut from the decoded frame, grey, dark text on white (inverted
// when the region is light on dark, filled buttons and the selected item turned inside out), rules erased;
// then its text lines found from the ink, so that OCR gets only whole lines (a line cut by the region's edge
// is kept whole when most of it is inside, dropped otherwise), cropped to the ink and scaled so the text is
// of the height tesseract reads fast and well.
import sharp from 'sharp';
import { clip, greyOf, meanRgb, shrinkGrey, subGrey, type Raster } from './raster.ts';
import { eraseRules, findFills, normalizingTable, pageLevel, unfill, type Fill } from './preprocess.ts';
import type { Box } from './types.ts';

/** Ink height (ascender to descender, OCR pixels) that lines are scaled to: small enough to be fast, big enough to read. */
export const TARGET_LINE_PX = 20;
/** The least and most a region is scaled by. */
const MIN_SCALE = 0.3, MAX_SCALE = 3;

/** A text line as the ink shows it, in the region image's pixels (see RegionImage.box). */
export interface InkLine {
  y0: number; y1: number; x0: number; x1: number;
  /** plausible text (not art, not a speck) */
  text: boolean;
  /** an outline with nothing inside (an empty text box): no text to read */
  emptyBox?: boolean;
}

/** A region cut, cleaned and analysed; pixels are relative to `box` (frame pixels), enlarged by `scale`. */
export interface RegionImage {
  box: Box;
  /** Region image pixels per frame pixel (above 1 for small pictures). */
  scale: number;
  grey: Uint8Array;
  width: number;
  height: number;
  /** The region was light on dark and has been inverted. */
  inverted: boolean;
  /** Filled areas that were turned inside out (frame pixels). */
  fills: Fill[];
  /** Text lines top to bottom, cut lines already decided. */
  lines: InkLine[];
  /** Grey levels under this are ink. */
  inkLimit: number;
}

export interface RegionOptions {
  /** Height of the active picture (frame pixels): what sizes are relative to. */
  pictureHeight: number;
  /** Turn filled areas (buttons, the selected item) into dark text on white. */
  fills: boolean;
  /** Boxes (frame pixels) to blank out first, e.g. a QR code that is not text. */
  masks?: Box[];
  /** The active picture (frame pixels): a cut never reaches beyond it into the bars. */
  bounds?: Box;
  /** Where there is anything but page (frame pixels, e.g. from the thumbnail): the cut keeps to it. */
  content?: Box;
}

/**
 * Cuts a region (frame pixels) out of the frame. The cut reaches a little beyond the region so lines that
 * cross its edge can be judged whole; a line whose middle is outside the region is dropped.
 */
export async function cutRegion(frame: Raster, region: Box, opts: RegionOptions): Promise<RegionImage | null> {
  const reachY = Math.round(0.035 * opts.pictureHeight), reachX = Math.round(0.02 * opts.pictureHeight);
  const b = opts.bounds ?? { x0: 0, y0: 0, x1: frame.width, y1: frame.height };
  const c = opts.content ?? b;
  const reach = {
    x0: Math.max(b.x0, c.x0, region.x0 - reachX), y0: Math.max(b.y0, c.y0, region.y0 - reachY),
    x1: Math.min(b.x1, c.x1, region.x1 + reachX), y1: Math.min(b.y1, c.y1, region.y1 + reachY),
  };
  const box = clip(reach, frame.width, frame.height);
  if (!box) return null;
  // One pass: grey, inverted when the text is lighter than the page, the page brought to white.
  const { page, lightText } = polarity(frame, box);
  const { table, inverted } = normalizingTable(page, lightText);
  let g = greyOf(frame, box, table);
  // A small picture is enlarged first: cleaning fills and outlines off glyphs a few pixels high would leave
  // little of them (and JPEG ringing would be what is left).
  const scale = opts.pictureHeight < MIN_WORK_HEIGHT ? Math.min(2, WORK_HEIGHT / opts.pictureHeight) : 1;
  if (scale > 1) {
    const w2 = Math.round(g.width * scale), h2 = Math.round(g.height * scale);
    // A sharp kernel: a sparse label blurred by a plain linear enlargement is what OCR drops first.
    const big = await sharp(Buffer.from(g.data.buffer, g.data.byteOffset, g.data.length), { raw: { width: g.width, height: g.height, channels: 1 } })
      .resize(w2, h2, { fit: 'fill', kernel: 'lanczos3' }).extractChannel(0).raw().toBuffer();
    g = { data: new Uint8Array(big.buffer, big.byteOffset, big.length), width: w2, height: h2 };
  }
  const { width: w, height: h, data: grey } = g;
  const H = opts.pictureHeight * scale;
  const local = (b: Box): Box => ({ x0: (b.x0 - box.x0) * scale, y0: (b.y0 - box.y0) * scale, x1: (b.x1 - box.x0) * scale, y1: (b.y1 - box.y0) * scale });
  // Masked areas become page, before anything judges what is ink.
  for (const m of opts.masks ?? []) {
    const c = clip(local(m), w, h);
    if (!c) continue;
    for (let y = c.y0; y < c.y1; y++) grey.fill(255, y * w + c.x0, y * w + c.x1);
  }
  // Thin lines first (outlines, a focus rectangle): one drawn around a button would join it to the next.
  // Whatever would count as ink counts as a line here too, however faint. (Where only text blocks are
  // taken, as for a title, a box is told from text by its solid rows and no erasing is needed.)
  const limit = inkLimit(grey);
  if (opts.fills) eraseRules(grey, w, h, pageLevel(grey), H, limit);
  const fills: Fill[] = [];
  if (opts.fills) {
    const cell = Math.max(2, Math.round(H / 270));
    // Filled areas of the whole cut, then those inside them (a key box inside the selected network), seen
    // once the outer one is undone.
    let areas: Box[] = [{ x0: 0, y0: 0, x1: w, y1: h }];
    for (let round = 0; round < 2 && areas.length; round++) {
      const found: Box[] = [];
      for (const area of areas) {
        const ax0 = Math.floor(area.x0 / cell) * cell, ay0 = Math.floor(area.y0 / cell) * cell;
        const aw = Math.min(w, Math.ceil(area.x1)) - ax0, ah = Math.min(h, Math.ceil(area.y1)) - ay0;
        if (aw < 4 * cell || ah < 3 * cell) continue;
        const sub = subGrey(grey, w, { x0: ax0, y0: ay0, x1: ax0 + aw, y1: ay0 + ah });
        for (const f of findFills({ ...shrinkGrey(sub, aw, ah, cell), step: cell }, false)) {
          const fb = { x0: f.box.x0 + ax0, y0: f.box.y0 + ay0, x1: f.box.x1 + ax0, y1: f.box.y1 + ay0 };
          // A button or an item lies across the region; what runs off its side is the page's own structure
          // (the backdrop beside the Windows 11 card).
          const edge = 2 * cell;
          if (round === 0 && (fb.x0 <= edge || fb.x1 >= w - edge)) continue;
          unfill(grey, w, h, { box: fb, color: f.color }, 1, cell);
          found.push(fb);
          const inFrame = { x0: box.x0 + fb.x0 / scale, y0: box.y0 + fb.y0 / scale, x1: box.x0 + fb.x1 / scale, y1: box.y0 + fb.y1 / scale };
          // Its colour in the frame (the selected item is the accent-coloured one).
          fills.push({ box: inFrame, color: meanRgb(frame, inFrame) });
        }
      }
      // A focus rectangle close around a fill was not thin beside it; it is now. A fill's soft edge leaves a
      // faint frame (tesseract drops a word that sits in a frame): brought to white.
      for (const fb of found) {
        const m = 6 * cell;
        const around = { x0: Math.max(0, fb.x0 - m), y0: Math.max(0, fb.y0 - m), x1: Math.min(w, fb.x1 + m), y1: Math.min(h, fb.y1 + m) };
        eraseRules(grey, w, h, 255, H, limit, around);
        for (let y = around.y0; y < around.y1; y++) for (let i = y * w + around.x0, e = y * w + around.x1; i < e; i++) if (grey[i] > 235) grey[i] = 255;
      }
      areas = found;
    }
  }
  const { lines } = inkLines(grey, w, h, local(region), H, limit);
  return { box, scale, grey, width: w, height: h, inverted, fills, lines, inkLimit: limit };
}

/** Pictures less high than this are enlarged to about WORK_HEIGHT before their regions are cleaned. */
const MIN_WORK_HEIGHT = 1000;
const WORK_HEIGHT = 1080;

/** A line of a region image in frame pixels. */
export function lineInFrame(region: RegionImage, l: InkLine): Box {
  const k = region.scale;
  return { x0: region.box.x0 + l.x0 / k, y0: region.box.y0 + l.y0 / k, x1: region.box.x0 + l.x1 / k, y1: region.box.y0 + l.y1 / k };
}

/**
 * The page's grey in a box and whether its text is lighter than the page: more pixels far brighter than
 * the page than far darker (white text on blue, green, red or black; dark text on a light card), whatever
 * the brightness of the picture.
 */
export function polarity(frame: Raster, box: Box): { page: number; lightText: boolean } {
  const hist = new Uint32Array(256);
  const d = frame.data;
  for (let y = box.y0; y < box.y1; y += 2) {
    for (let x = box.x0, i = (y * frame.width + x) * 3; x < box.x1; x += 2, i += 6) hist[(d[i] * 54 + d[i + 1] * 183 + d[i + 2] * 19) >> 8]++;
  }
  let n = 0;
  for (let v = 0; v < 256; v++) n += hist[v];
  let page = 0;
  for (let acc = 0; page < 255; page++) { acc += hist[page]; if (acc * 2 >= n) break; }
  let bright = 0, dark = 0;
  for (let v = Math.min(256, page + 50); v < 256; v++) bright += hist[v];
  for (let v = 0; v <= page - 50; v++) dark += hist[v];
  return { page, lightText: bright > dark };
}

/**
 * Text lines from the ink: runs of rows with ink inside the region's columns, joined across tiny gaps (the
 * dot of an i, an accent), each with the columns its ink spans (within the cut). Lines whose middle is
 * outside the region's rows are left out, and so are the lines under them that continue their paragraph.
 */
export function inkLines(grey: Uint8Array, w: number, h: number, inner: Box, pictureHeight: number, limit = inkLimit(grey)): { lines: InkLine[]; limit: number } {
  if (limit <= 0) return { lines: [], limit: 0 };
  const cx0 = Math.max(0, Math.round(inner.x0)), cx1 = Math.min(w, Math.round(inner.x1));
  const minInk = Math.max(2, Math.round(0.002 * (cx1 - cx0)));
  // Runs of rows with ink, in one pass.
  const runs: { y0: number; y1: number }[] = [];
  let start = -1;
  for (let y = 0; y <= h; y++) {
    let c = 0;
    if (y < h) for (let x = cx0, row = y * w; x < cx1; x++) if (grey[row + x] < limit) c++;
    if (c >= minInk) { if (start < 0) start = y; } else if (start >= 0) { runs.push({ y0: start, y1: y }); start = -1; }
  }
  // Join a small mark to the line it belongs to across a small gap (the dots over i and j, accents over
  // capitals, a broken stroke); two lines of text, however close, stay two.
  const joined: { y0: number; y1: number }[] = [];
  for (const r of runs) {
    const prev = joined[joined.length - 1];
    if (prev) {
      const gap = r.y0 - prev.y1;
      const hp = prev.y1 - prev.y0, hr = r.y1 - r.y0;
      const mark = Math.min(hp, hr) < 0.4 * Math.max(hp, hr);
      if (mark && gap <= Math.max(1, 0.25 * Math.max(hp, hr)) && (r.y1 - prev.y0) <= 0.07 * pictureHeight) { prev.y1 = r.y1; continue; }
    }
    joined.push({ ...r });
  }
  const minH = 0.006 * pictureHeight, maxH = 0.065 * pictureHeight;
  const out: InkLine[] = [];
  let above: { y0: number; y1: number } | null = null;
  for (const r of joined) {
    const mid = (r.y0 + r.y1) / 2;
    if (mid < inner.y0) { above = r; continue; }
    if (mid > inner.y1) continue;
    // The rest of a paragraph that starts above the region is not the region's.
    if (above && out.length === 0 && continues(above, r)) { above = r; continue; }
    above = null;
    let x0 = w, x1 = 0;
    for (let y = r.y0; y < r.y1; y++) {
      const row = y * w;
      for (let x = 0; x < x0; x++) if (grey[row + x] < limit) { x0 = x; break; }
      for (let x = w - 1; x >= x1; x--) if (grey[row + x] < limit) { x1 = x + 1; break; }
    }
    if (x1 <= x0) continue;
    const lh = r.y1 - r.y0;
    // A row inked across most of the line (solid) is an outline or a rule (a box with a placeholder in it), not text.
    const solid = new Uint8Array(lh);
    let solidRows = 0;
    for (let y = r.y0; y < r.y1; y++) {
      let c = 0;
      const row = y * w;
      for (let x = x0; x < x1; x++) if (grey[row + x] < limit) c++;
      if (c >= SOLID_ROW * (x1 - x0)) { solid[y - r.y0] = 1; solidRows++; }
    }
    const line: InkLine = { y0: r.y0, y1: r.y1, x0, x1, text: lh >= minH && lh <= maxH && x1 - x0 >= 0.6 * lh && solidRows === 0 };
    if (solidRows > 0 && isEmptyOutline(grey, w, line, solid, limit)) line.emptyBox = true;
    out.push(line);
  }
  return { lines: out, limit };
}

/** A row with ink across this share of its line is solid: the edge of a box, a rule, not a row of letters. */
const SOLID_ROW = 0.75;

/**
 * Whether a line drawn as a box (its `solid` rows) holds nothing inside its outline: no ink between its top
 * and bottom edges other than its sides (OCR would read a "|" there, and pay for the width).
 */
function isEmptyOutline(grey: Uint8Array, w: number, l: InkLine, solid: Uint8Array, limit: number): boolean {
  const lh = l.y1 - l.y0;
  // Between the first and the last solid row (an edge may be double: a focus accent under the frame).
  let top = 0, bottom = lh;
  while (top < lh && !solid[top]) top++;
  while (bottom > top && !solid[bottom - 1]) bottom--;
  // An outline with room inside for a line of text, at least.
  if (bottom - top < 0.6 * lh || l.x1 - l.x0 < 2 * lh) return false;
  const side = Math.max(4, Math.round(0.15 * lh));
  const xa = l.x0 + side, xb = l.x1 - side;
  let ink = 0, rows = 0;
  for (let y = top; y < bottom; y++) {
    if (solid[y]) continue;
    rows++;
    const row = (l.y0 + y) * w;
    for (let x = xa; x < xb; x++) if (grey[row + x] < limit) ink++;
  }
  return rows >= 0.4 * lh && ink <= Math.max(3, 0.001 * rows * (xb - xa));
}

/**
 * The grey under which a pixel is ink: clearly darker than the page (white by now), relative to the darkest
 * the region has (0 when nothing is dark enough to be text).
 */
export function inkLimit(grey: Uint8Array): number {
  const hist = new Uint32Array(256);
  for (let i = 0; i < grey.length; i += 3) hist[grey[i]]++;
  let dark = 0;
  for (let acc = 0, want = Math.max(1, Math.floor(grey.length / 3 / 500)); dark < 255; dark++) { acc += hist[dark]; if (acc >= want) break; }
  if (255 - dark < 50) return 0;
  return 255 - Math.max(40, 0.45 * (255 - dark));
}

/** A line that goes on from the one above (a paragraph's next line; ink height varies with descenders). */
function continues(a: { y0: number; y1: number }, b: { y0: number; y1: number }): boolean {
  const ha = a.y1 - a.y0, hb = b.y1 - b.y0;
  return b.y0 - a.y1 <= 0.6 * Math.max(ha, hb) && Math.max(ha, hb) / Math.max(1, Math.min(ha, hb)) <= 1.6;
}

/** Groups text lines into blocks: lines of about one size, close under each other (a title, a paragraph). */
export function blocksOf(lines: InkLine[]): InkLine[][] {
  const blocks: InkLine[][] = [];
  let cur: InkLine[] = [];
  for (const l of lines) {
    if (!l.text) { if (cur.length) blocks.push(cur); cur = []; continue; }
    const prev = cur[cur.length - 1];
    if (prev && !continues(prev, l)) { blocks.push(cur); cur = []; }
    cur.push(l);
  }
  if (cur.length) blocks.push(cur);
  return blocks;
}

/** What OCR gets: an encoded image and how to put its boxes back into frame pixels. */
export interface OcrInput {
  /** Binary PGM (P5): tesseract reads it without a decode step. */
  image: Buffer;
  width: number;
  height: number;
  /** How many text lines it holds (by ink). */
  lineCount: number;
  /** A box of the OCR image in frame pixels. */
  toFrame(box: Box): Box;
}

/** One line laid into the packed image: where it came from and how it was squeezed. */
interface Strip {
  /** Rows of the packed image it occupies. */
  outY0: number;
  outY1: number;
  /** OCR pixels per frame pixel, down (and across: xScale). */
  scale: number;
  xScale: number;
  /** Frame pixel of the strip's source top. */
  srcY0: number;
  /** Frame x of each packed column (in region image pixels, before scaling), left to right. */
  cols: Int32Array;
}

const PACK_PAD = 0.5;   // margin around the packed text, in target line heights
const PACK_GAP = 0.7;   // blank rows between packed lines, in target line heights
const GAP_KEEP = 1.2;   // a blank gap within a line longer than this (line heights) is shortened to it
/**
 * Lines of a block are narrowed to this share of their width: tesseract's line recognizer pays for every
 * column (it scales each line to its own height first), and measured over every sample screen, lines at
 * 0.85 read as well as at full width (a few OCR slips less, a few more) for about a tenth less OCR time;
 * at 0.7 error codes went wrong (B read as 8). Sparse captions and single lines (titles) are not narrowed.
 */
export const BLOCK_CONDENSE = 0.85;

/**
 * The OCR image of some lines of a region, packed: each line cut to its ink, long blank gaps inside it (a
 * label far from its value, buttons far apart) shortened, scaled so its text is TARGET_LINE_PX high, and
 * stacked left-aligned. Tesseract's line recognizer pays for every column of a line, blank or not, and for
 * every pixel of layout analysis: this gives it only the text. `condense` narrows the lines (BLOCK_CONDENSE);
 * `T` is the text height (TARGET_LINE_PX unless the region's catalog entry says otherwise).
 */
export function packLines(region: RegionImage, lines: InkLine[], condense = 1, T = TARGET_LINE_PX): OcrInput | null {
  if (lines.length === 0) return null;
  const heights = lines.filter((l) => l.text).map((l) => l.y1 - l.y0).sort((a, b) => a - b);
  const typical = heights.length ? heights[Math.floor(heights.length / 2)] : Math.max(...lines.map((l) => l.y1 - l.y0));
  const { grey, width: w } = region;
  const limit = region.inkLimit;
  const strips: Strip[] = [];
  const parts: { src: Uint8Array; sw: number; sh: number; ow: number; oh: number }[] = [];
  const pad = Math.round(PACK_PAD * T), gap = Math.round(PACK_GAP * T);
  let outY = pad, outW = 0;
  for (const l of lines) {
    const lh = l.y1 - l.y0;
    const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, T / (l.text ? lh : typical)));
    const margin = Math.max(2, Math.round(0.25 * Math.min(lh, typical)));
    const y0 = Math.max(0, l.y0 - margin), y1 = Math.min(region.height, l.y1 + margin);
    const x0 = Math.max(0, l.x0 - margin), x1 = Math.min(w, l.x1 + margin);
    // Columns with ink in this line; blank runs longer than GAP_KEEP line heights are cut short.
    const keepGap = Math.max(3, Math.round(GAP_KEEP * Math.min(lh, typical)));
    const cols: number[] = [];
    let blank: number[] = [];
    for (let x = x0; x < x1; x++) {
      let ink = false;
      for (let y = y0; y < y1 && !ink; y++) ink = grey[y * w + x] < limit;
      if (ink) {
        if (blank.length) { cols.push(...(blank.length > keepGap ? [...blank.slice(0, keepGap >> 1), ...blank.slice(blank.length - (keepGap - (keepGap >> 1)))] : blank)); blank = []; }
        cols.push(x);
      } else blank.push(x);
    }
    cols.push(...blank.slice(0, margin));
    const sw = cols.length, sh = y1 - y0;
    if (sw === 0) continue;
    const src = new Uint8Array(sw * sh);
    for (let y = 0; y < sh; y++) for (let i = 0; i < sw; i++) src[y * sw + i] = grey[(y0 + y) * w + cols[i]];
    const ow = Math.max(1, Math.round(sw * scale * condense)), oh = Math.max(1, Math.round(sh * scale));
    parts.push({ src, sw, sh, ow, oh });
    strips.push({ outY0: outY, outY1: outY + oh, scale: scale * region.scale, xScale: scale * condense * region.scale, srcY0: region.box.y0 + y0 / region.scale, cols: Int32Array.from(cols, (c) => Math.round(region.box.x0 + c / region.scale)) });
    outY += oh + gap;
    outW = Math.max(outW, ow);
  }
  if (strips.length === 0) return null;
  const W = outW + 2 * pad, H = outY - gap + pad;
  const px = new Uint8Array(W * H).fill(255);
  parts.forEach((p, i) => resampleInto(p.src, p.sw, p.sh, px, W, pad, strips[i].outY0, p.ow, p.oh));
  const header = Buffer.from(`P5\n${W} ${H}\n255\n`, 'ascii');
  const stripAt = (y: number) => {
    let best = strips[0], dist = Infinity;
    for (const s of strips) {
      const d = y < s.outY0 ? s.outY0 - y : y > s.outY1 ? y - s.outY1 : 0;
      if (d < dist) { dist = d; best = s; }
    }
    return best;
  };
  const xOf = (s: Strip, x: number) => s.cols[Math.max(0, Math.min(s.cols.length - 1, Math.floor(((x - pad) / s.xScale) * region.scale)))];
  return {
    image: Buffer.concat([header, px]), width: W, height: H, lineCount: strips.length,
    toFrame(b: Box): Box {
      const s = stripAt((b.y0 + b.y1) / 2);
      return {
        x0: xOf(s, b.x0), x1: xOf(s, Math.max(b.x0, b.x1 - 1)) + 1,
        y0: Math.round(s.srcY0 + (b.y0 - s.outY0) / s.scale), y1: Math.round(s.srcY0 + (b.y1 - s.outY0) / s.scale),
      };
    },
  };
}

/**
 * The OCR image of a whole area as it is (columns side by side, pictures and all), at about 1150 rows for
 * the picture: for reading every line of a page.
 */
export function plainImage(region: RegionImage, pictureHeight: number): OcrInput | null {
  if (region.lines.length === 0) return null;
  // Scaled as a whole: sparse labels (a lone button caption) need the size a full page read has always had.
  let scale = Math.min(1.5, Math.max(0.5, 1150 / Math.max(1, pictureHeight))) / region.scale;
  // A small picture's region is enlarged already: not resampled twice for a few percent.
  if (Math.abs(scale - 1) < 0.15) scale = 1;
  const W = Math.max(1, Math.round(region.width * scale)), H = Math.max(1, Math.round(region.height * scale));
  let px = region.grey;
  if (W !== region.width || H !== region.height) {
    px = new Uint8Array(W * H);
    resampleInto(region.grey, region.width, region.height, px, W, 0, 0, W, H);
  }
  const header = Buffer.from(`P5\n${W} ${H}\n255\n`, 'ascii');
  const { x0, y0 } = region.box;
  const k = scale * region.scale; // OCR pixels per frame pixel
  return {
    image: Buffer.concat([header, px]), width: W, height: H, lineCount: region.lines.length,
    toFrame: (b) => ({ x0: Math.round(x0 + b.x0 / k), y0: Math.round(y0 + b.y0 / k), x1: Math.round(x0 + b.x1 / k), y1: Math.round(y0 + b.y1 / k) }),
  };
}

/**
 * Resamples a grey image (sw x sh) to ow x oh into `out` (width W) at (ox, oy): each output pixel averages the
 * source pixels under it (a box filter when shrinking, linear interpolation when enlarging).
 */
export function resampleInto(src: Uint8Array, sw: number, sh: number, out: Uint8Array, W: number, ox: number, oy: number, ow: number, oh: number): void {
  const fx = sw / ow, fy = sh / oh;
  // Horizontal pass into floats, then vertical.
  const tmp = new Float32Array(ow * sh);
  const span = (f: number, i: number, n: number): [number, number, number] => {
    if (f <= 1) { // enlarge: linear between the two nearest
      const c = (i + 0.5) * f - 0.5, a = Math.max(0, Math.floor(c)), t = Math.min(1, Math.max(0, c - a));
      return [a, Math.min(n - 1, a + 1), t];
    }
    return [i * f, (i + 1) * f, -1];
  };
  for (let x = 0; x < ow; x++) {
    const [a, b, t] = span(fx, x, sw);
    for (let y = 0; y < sh; y++) {
      const row = y * sw;
      let v: number;
      if (t >= 0) v = src[row + a] * (1 - t) + src[row + b] * t;
      else {
        let sum = 0;
        const s0 = Math.floor(a), s1 = Math.min(sw, Math.ceil(b));
        for (let s = s0; s < s1; s++) sum += src[row + s] * (Math.min(b, s + 1) - Math.max(a, s));
        v = sum / (b - a);
      }
      tmp[y * ow + x] = v;
    }
  }
  for (let y = 0; y < oh; y++) {
    const [a, b, t] = span(fy, y, sh);
    const orow = (oy + y) * W + ox;
    for (let x = 0; x < ow; x++) {
      let v: number;
      if (t >= 0) v = tmp[a * ow + x] * (1 - t) + tmp[b * ow + x] * t;
      else {
        let sum = 0;
        const s0 = Math.floor(a), s1 = Math.min(sh, Math.ceil(b));
        for (let s = s0; s < s1; s++) sum += tmp[s * ow + x] * (Math.min(b, s + 1) - Math.max(a, s));
        v = sum / (b - a);
      }
      out[orow + x] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
    }
  }
}
