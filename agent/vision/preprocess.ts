// What OCR needs from a region of a frame: grey, and dark text on a light ground everywhere. Setup pages
// mix both polarities (white text on a filled accent button or selected list item, white text on a dark blue
// Windows 10 page, on a green or red result screen), so a region is inverted when it is dark, and then every solid dark filled area (a button, a selected item, an input box
// on a dark page) is turned into dark text on white on its own. Long thin lines (focus rectangles, outlines)
// are erased and the page brought to white: tesseract drops words that sit inside a frame or a box that
// stands out from the page.
import type { Box } from './types.ts';

export interface Rgb { r: number; g: number; b: number }

export interface FrameStats {
  width: number;
  height: number;
  /** Mean colour of the frame. */
  mean: Rgb;
  /** Mean brightness (Rec. 709 luma), 0..255. */
  luma: number;
  /** Standard deviation of the brightness. */
  lumaStd: number;
  /** The page's background colour: the per-channel median. */
  page: Rgb;
  /** Share of pixels whose brightness is more than 40 away from the frame's median (0 for a uniform frame). */
  detailShare: number;
}

/** A solid filled rectangle (button, selected list item, input box), in frame pixels, with its fill colour. */
export interface Fill { box: Box; color: Rgb }

/** A small colour copy of the frame, kept for cheap pixel questions (fills, colours under a box). */
export interface Thumb { data: Buffer; width: number; height: number; /** frame pixels per thumb pixel */ step: number }

const luma = (r: number, g: number, b: number): number => 0.2126 * r + 0.7152 * g + 0.0722 * b;

/** Frames with a mean brightness under this are light-on-dark pages and get inverted. */
export const DARK_PAGE_LUMA = 110;

/** Colours and detail of a box of the thumbnail (frame pixels): the active picture, for looks and no-signal. */
export function measureStats(thumb: Thumb & { frameWidth?: number; frameHeight?: number }, box: Box): FrameStats {
  const s = thumb.step;
  const x0 = Math.max(0, Math.floor(box.x0 / s)), x1 = Math.min(thumb.width, Math.max(Math.floor(box.x0 / s) + 1, Math.round(box.x1 / s)));
  const y0 = Math.max(0, Math.floor(box.y0 / s)), y1 = Math.min(thumb.height, Math.max(Math.floor(box.y0 / s) + 1, Math.round(box.y1 / s)));
  const w = x1 - x0, h = y1 - y0;
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) thumb.data.copy(data, y * w * 3, ((y0 + y) * thumb.width + x0) * 3, ((y0 + y) * thumb.width + x1) * 3);
  return measure({ data, width: w, height: h, step: s }, Math.round(box.x1 - box.x0), Math.round(box.y1 - box.y0));
}

function measure(thumb: Thumb, width: number, height: number): FrameStats {
  const n = thumb.width * thumb.height;
  const lum = new Float32Array(n);
  let r = 0, g = 0, b = 0, sum = 0, sq = 0;
  const hist = new Uint32Array(256);
  for (let i = 0; i < n; i++) {
    const R = thumb.data[i * 3], G = thumb.data[i * 3 + 1], B = thumb.data[i * 3 + 2];
    r += R; g += G; b += B;
    const l = luma(R, G, B);
    lum[i] = l; sum += l; sq += l * l;
    hist[Math.min(255, Math.round(l))]++;
  }
  let median = 0;
  for (let acc = 0; median < 255; median++) { acc += hist[median]; if (acc * 2 >= n) break; }
  let detail = 0;
  for (let i = 0; i < n; i++) if (Math.abs(lum[i] - median) > 40) detail++;
  const mean = sum / n;
  const channelMedian = (c: number) => {
    const h = new Uint32Array(256);
    for (let i = 0; i < n; i++) h[thumb.data[i * 3 + c]]++;
    let v = 0;
    for (let acc = 0; v < 255; v++) { acc += h[v]; if (acc * 2 >= n) break; }
    return v;
  };
  return {
    page: { r: channelMedian(0), g: channelMedian(1), b: channelMedian(2) },
    width, height,
    mean: { r: r / n, g: g / n, b: b / n },
    luma: mean,
    lumaStd: Math.sqrt(Math.max(0, sq / n - mean * mean)),
    detailShare: detail / n,
  };
}

/**
 * Solid areas much darker than the page (after the page is made light): buttons, selected items, input
 * boxes on a dark page. A thumb pixel counts as solid only when its 3x3 neighbourhood is all dark, so the
 * strokes of even bold text never do.
 */
export function findFills(thumb: Thumb, darkPage: boolean): Fill[] {
  const { width: w, height: h, data } = thumb;
  const n = w * h;
  const lum = new Float32Array(n);
  const hist = new Uint32Array(256);
  for (let i = 0; i < n; i++) {
    let l = luma(data[i * 3], data[i * 3 + 1], data[i * 3 + 2]);
    if (darkPage) l = 255 - l;
    lum[i] = l;
    hist[Math.min(255, Math.round(l))]++;
  }
  let page = 0;
  for (let acc = 0; page < 255; page++) { acc += hist[page]; if (acc * 2 >= n) break; }
  // Darker than the page by a clear step: an accent button on Windows 11 (far darker), a selected item on
  // Windows 10 once its page is inverted (a lighter blue: a smaller step), a plain button on a red page.
  const limit = page - 20;
  if (limit <= 0) return [];
  const darkAt = (x: number, y: number) => x >= 0 && y >= 0 && x < w && y < h && lum[y * w + x] < limit;
  const core = new Uint8Array(n);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      let all = true;
      for (let dy = -1; dy <= 1 && all; dy++) for (let dx = -1; dx <= 1 && all; dx++) all = darkAt(x + dx, y + dy);
      if (all) core[y * w + x] = 1;
    }
  }
  const fills: Fill[] = [];
  const comp = new Int32Array(n).fill(-1);
  const stack: number[] = [];
  let id = 0;
  for (let start = 0; start < n; start++) {
    if (!core[start] || comp[start] >= 0) continue;
    let x0 = w, y0 = h, x1 = -1, y1 = -1, count = 0;
    stack.push(start); comp[start] = id;
    while (stack.length) {
      const i = stack.pop()!;
      const x = i % w, y = (i - x) / w;
      count++;
      if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
      for (const j of [i - 1, i + 1, i - w, i + w]) {
        if (j < 0 || j >= n || comp[j] >= 0 || !core[j]) continue;
        if ((j === i - 1 && x === 0) || (j === i + 1 && x === w - 1)) continue;
        comp[j] = id; stack.push(j);
      }
    }
    const rect: Rect | null = solidRect(comp, w, id, { x0, y0, x1, y1 }, count);
    const current = id++;
    if (!rect) continue;
    // The core lost one thumb pixel on each side.
    const bw = rect.x1 - rect.x0 + 3, bh = rect.y1 - rect.y0 + 3;
    if (bw < 8 || bh < 5 || bw * bh > 0.4 * n) continue;
    const s = thumb.step;
    fills.push({
      box: { x0: Math.round((rect.x0 - 1) * s), y0: Math.round((rect.y0 - 1) * s), x1: Math.round((rect.x1 + 2) * s), y1: Math.round((rect.y1 + 2) * s) },
      color: meanColor(thumb, comp, current, rect),
    });
  }
  return fills;
}

function meanColor(thumb: Thumb, comp: Int32Array, id: number, rect: Rect): Rgb {
  let r = 0, g = 0, b = 0, k = 0;
  for (let y = rect.y0; y <= rect.y1; y++) {
    for (let x = rect.x0; x <= rect.x1; x++) {
      const i = y * thumb.width + x;
      if (comp[i] !== id) continue;
      r += thumb.data[i * 3]; g += thumb.data[i * 3 + 1]; b += thumb.data[i * 3 + 2]; k++;
    }
  }
  return { r: r / k, g: g / k, b: b / k };
}

type Rect = { x0: number; y0: number; x1: number; y1: number };

/**
 * The solid rectangle of a component: its bounding box with thin edges trimmed off (text or an outline
 * touching the fill). Buttons and list items are rectangles; illustrations (round, slanted) are not, and
 * inverting them only feeds OCR noise: null when most of the component is not one rectangle, or when the
 * rectangle is mostly holes.
 */
function solidRect(comp: Int32Array, w: number, id: number, box: Rect, count: number): Rect | null {
  let { x0, y0, x1, y1 } = box;
  const rowShare = (y: number) => {
    const cut = Math.round((x1 - x0) * 0.1);
    let c = 0;
    for (let x = x0 + cut; x <= x1 - cut; x++) if (comp[y * w + x] === id) c++;
    return c / Math.max(1, x1 - x0 - 2 * cut + 1);
  };
  const colShare = (x: number) => {
    const cut = Math.round((y1 - y0) * 0.15);
    let c = 0;
    for (let y = y0 + cut; y <= y1 - cut; y++) if (comp[y * w + x] === id) c++;
    return c / Math.max(1, y1 - y0 - 2 * cut + 1);
  };
  for (let pass = 0; pass < 2; pass++) {
    while (y0 < y1 && rowShare(y0) < 0.8) y0++;
    while (y1 > y0 && rowShare(y1) < 0.8) y1--;
    while (x0 < x1 && colShare(x0) < 0.8) x0++;
    while (x1 > x0 && colShare(x1) < 0.8) x1--;
  }
  let inside = 0;
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) if (comp[y * w + x] === id) inside++;
  const area = (x1 - x0 + 1) * (y1 - y0 + 1);
  if (inside < 0.9 * count || inside < 0.45 * area) return null;
  return { x0, y0, x1, y1 };
}

/**
 * Erases long thin straight lines: focus rectangles, outlines of list items and input boxes, separators.
 * Tesseract drops the words inside such a frame. No letter has a stroke this long, and a filled band (a
 * panel) is not thin: the pixels a few rows (columns) away on either side must be page. `page` is the
 * page's grey (white once whitened); lengths are relative to the height of the picture; pixels under
 * `darkUnder` (or 50 under the page) are line. Only lines inside `area` are looked for.
 */
export function eraseRules(grey: Uint8Array, W: number, H: number, page = pageLevel(grey), pictureHeight = H, darkUnder = page - 50,
  area: Box = { x0: 0, y0: 0, x1: W, y1: H }): void {
  const dark = Math.max(darkUnder, page - 50);
  if (dark <= 0) return;
  // Longer than any stroke of a letter: the tallest text of a setup page is about 3.6% of the picture high.
  const minH = Math.max(20, Math.round(0.055 * pictureHeight)), minV = Math.max(15, Math.round(0.036 * pictureHeight));
  const off = 5;
  // Dark pixels of a stretch of row yy (columns a..b-1): more than half means the line is not thin there.
  const rowDark = (yy: number, a: number, b: number) => {
    if (yy < 0 || yy >= H) return 0;
    let c = 0;
    for (let i = yy * W + a, e = yy * W + b; i < e; i++) if (grey[i] < dark) c++;
    return c;
  };
  const colDark = (xx: number, a: number, b: number) => {
    if (xx < 0 || xx >= W) return 0;
    let c = 0;
    for (let i = a * W + xx, e = b * W + xx; i < e; i += W) if (grey[i] < dark) c++;
    return c;
  };
  const erase: number[] = [];
  const ax0 = Math.max(0, Math.floor(area.x0)), ax1 = Math.min(W, Math.ceil(area.x1));
  const ay0 = Math.max(0, Math.floor(area.y0)), ay1 = Math.min(H, Math.ceil(area.y1));
  // Rows: runs of dark pixels, thin when the rows `off` above and below are mostly page along the run.
  for (let y = ay0; y < ay1; y++) {
    const row = y * W;
    let x = ax0;
    while (x < ax1) {
      if (grey[row + x] >= dark) { x++; continue; }
      const a = x;
      while (x < ax1 && grey[row + x] < dark) x++;
      const len = x - a;
      if (len >= minH && rowDark(y - off, a, x) <= 0.5 * len && rowDark(y + off, a, x) <= 0.5 * len) erase.push(row + a, row + x, 1);
    }
  }
  // Columns, walked row by row (memory order) with a running length per column.
  const run = new Int32Array(W);
  for (let y = ay0; y <= ay1; y++) {
    const row = y * W;
    for (let x = ax0; x < ax1; x++) {
      if (y < ay1 && grey[row + x] < dark) { run[x]++; continue; }
      const len = run[x];
      if (len === 0) continue;
      run[x] = 0;
      if (len >= minV && colDark(x - off, y - len, y) <= 0.5 * len && colDark(x + off, y - len, y) <= 0.5 * len) erase.push((y - len) * W + x, y * W + x, W);
    }
  }
  for (let k = 0; k < erase.length; k += 3) for (let i = erase[k]; i < erase[k + 1]; i += erase[k + 2]) grey[i] = 255;
}

/** A lookup that makes a region's grey dark text on white: inverted when the text is light, the page's own grey brought to white. */
export function normalizingTable(pageLuma: number, lightText = pageLuma < DARK_PAGE_LUMA): { table: Uint8Array; inverted: boolean } {
  const inverted = lightText;
  const page = inverted ? 255 - pageLuma : pageLuma;
  // A little under the page grey, so a soft gradient (Windows 11's card on its backdrop) goes white too. An
  // unfilled button is pure white; on a page left at its light grey, tesseract takes the white rectangle for
  // a picture and drops the label in it.
  const white = page < 128 ? 255 : Math.max(128, page - 16);
  const table = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    const u = inverted ? 255 - v : v;
    table[v] = Math.min(255, Math.round((u * 255) / white));
  }
  return { table, inverted };
}

/** The page's grey: the median of the image. */
export function pageLevel(grey: Uint8Array): number {
  const hist = new Uint32Array(256);
  for (let i = 0; i < grey.length; i += 7) hist[grey[i]]++;
  const half = Math.ceil(grey.length / 7) / 2;
  let page = 0;
  for (let acc = 0; page < 255; page++) { acc += hist[page]; if (acc >= half) break; }
  return page;
}

/**
 * Brings the page's own grey (the median) to white. An unfilled button is pure white; on a page left at its
 * light grey, tesseract takes the white rectangle for a picture and drops the label in it.
 */
export function whitenPage(grey: Uint8Array): void {
  const page = pageLevel(grey);
  if (page < 128) return;
  // A little under the page grey, so a soft gradient (Windows 11's card on its backdrop) goes white too.
  const white = Math.max(128, page - 16);
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = Math.min(255, Math.round((v * 255) / white));
  for (let i = 0; i < grey.length; i++) grey[i] = lut[grey[i]];
}

/**
 * Makes a filled area light with dark text: the fill becomes white and what is brighter than the fill
 * (its text) dark. The thumb's box is a few pixels loose, so the fill's exact edges are found first:
 * page pixels around it must not turn into a dark frame.
 */
export function unfill(grey: Uint8Array, W: number, H: number, fill: Fill, k: number, step: number): void {
  const pad = Math.ceil(step * k) + 2;
  let x0 = Math.max(0, Math.floor(fill.box.x0 * k) - pad), x1 = Math.min(W, Math.ceil(fill.box.x1 * k) + pad);
  let y0 = Math.max(0, Math.floor(fill.box.y0 * k) - pad), y1 = Math.min(H, Math.ceil(fill.box.y1 * k) + pad);
  // The fill's own grey level: the median of rows a fifth in from its top and bottom (its padding, where
  // the label is not), over the middle of its width. (The commonest value of a middle row is the label's
  // when noise spreads the fill over many values and the label is clipped to one.)
  const counts = new Uint32Array(256);
  let total = 0;
  for (const fy of [0.2, 0.8]) {
    const row = Math.min(H - 1, Math.round(y0 + fy * (y1 - y0))) * W;
    const cut = Math.round(0.2 * (x1 - x0));
    for (let x = x0 + cut; x < x1 - cut; x++) { counts[grey[row + x]]++; total++; }
  }
  let fl = 0;
  for (let acc = 0; fl < 255; fl++) { acc += counts[fl]; if (acc * 2 >= total) break; }
  const near = (v: number) => Math.abs(v - fl) < 32;
  const rowFill = (y: number) => { let c = 0; for (let x = x0; x < x1; x++) if (near(grey[y * W + x])) c++; return c >= 0.5 * (x1 - x0); };
  const colFill = (x: number) => { let c = 0; for (let y = y0; y < y1; y++) if (near(grey[y * W + x])) c++; return c >= 0.5 * (y1 - y0); };
  while (y0 < y1 && !rowFill(y0)) y0++;
  while (y1 > y0 && !rowFill(y1 - 1)) y1--;
  while (x0 < x1 && !colFill(x0)) x0++;
  while (x1 > x0 && !colFill(x1 - 1)) x1--;
  // The anti-aliased edge of the fill, and a focus rectangle drawn around it, would stay as a frame, and
  // tesseract drops a word that sits in a frame: blank a ring around the fill.
  const ring = Math.max(3, Math.round(4 * k));
  for (let y = Math.max(0, y0 - ring); y < Math.min(H, y1 + ring); y++) {
    for (let x = Math.max(0, x0 - ring); x < Math.min(W, x1 + ring); x++) {
      if (y < y0 || y >= y1 || x < x0 || x >= x1) grey[y * W + x] = 255;
    }
  }
  // The text is what is far from the fill's grey, on the side of the most such pixels: brighter on a dark
  // accent fill, darker on a mid-grey one (an inverted Windows 10 selection). Its own level (green text on
  // a white button is not far from the fill) becomes black.
  // Counted in the middle of the fill only: an outline and the page between it and the fill are at its edges.
  const far = new Uint32Array(256);
  let brighter = 0, darker = 0;
  const band = Math.max(2, Math.round(3 * k));
  const mx = 2 * band + 1, my = 2 * band + 1;
  for (let y = y0 + my; y < y1 - my; y++) for (let x = x0 + mx; x < x1 - mx; x++) {
    const v = grey[y * W + x];
    if (v > fl + 48) { brighter++; far[v]++; } else if (v < fl - 48) { darker++; far[v]++; }
  }
  const textBright = brighter >= darker;
  // The text level: a quarter of the way in from its extreme (anti-aliased edges are in between).
  let tl = textBright ? 255 : 0;
  const want = Math.max(1, Math.round((textBright ? brighter : darker) * 0.25));
  for (let acc = 0, v = textBright ? 255 : 0; textBright ? v > fl : v < fl; v += textBright ? -1 : 1) {
    if (textBright ? v <= fl + 48 : v >= fl - 48) break;
    acc += far[v];
    if (acc >= want) { tl = v; break; }
  }
  const span = Math.max(30, Math.abs(tl - fl));
  // Text keeps a margin from the fill's edge; the rounded corners would stay as dark specks.
  for (let y = y0; y < y1; y++) {
    const row = y * W;
    for (let x = x0; x < x1; x++) {
      if (y < y0 + band || y >= y1 - band || x < x0 + band || x >= x1 - band) { grey[row + x] = 255; continue; }
      const g = grey[row + x];
      // fill -> white, text -> black, linearly in between
      const t = (textBright ? g - fl : fl - g) / span;
      grey[row + x] = 255 - Math.max(0, Math.min(255, Math.round(t * 255)));
    }
  }
}

/** Mean colour of the frame under a box (frame pixels), from the thumb. */
export function colorUnder(thumb: Thumb, box: Box): Rgb | null {
  const s = thumb.step;
  const x0 = Math.max(0, Math.floor(box.x0 / s)), x1 = Math.min(thumb.width, Math.ceil(box.x1 / s));
  const y0 = Math.max(0, Math.floor(box.y0 / s)), y1 = Math.min(thumb.height, Math.ceil(box.y1 / s));
  let r = 0, g = 0, b = 0, n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * thumb.width + x) * 3;
      r += thumb.data[i]; g += thumb.data[i + 1]; b += thumb.data[i + 2]; n++;
    }
  }
  return n ? { r: r / n, g: g / n, b: b / n } : null;
}
