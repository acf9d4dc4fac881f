// Paints a ScreenView into a frame with sharp: the background (an SVG, cached per look and size), the shapes of
// the layout (one SVG overlay), each text run (sharp's text input with the Open Sans files from node_modules,
// cached), and the QR code. Returns the frame with the layout, so a click on the frame can be hit-tested.

import sharp, { type OverlayOptions, type Sharp } from 'sharp';
import type { ScreenView } from '../view.ts';
import { fontFile, inkOffset, PANGO_FACE } from './fonts.ts';
import { layoutScreen } from './layout.ts';
import { GRADIENTS, type Background, type ScreenLayout, type Shape, type TextRun } from './layout-types.ts';
import { renderQr } from './qr.ts';

export interface RenderOptions {
  /** Frame width in pixels (default 1920). */
  width?: number;
  /** Frame height in pixels (default 1080). */
  height?: number;
  /** JPEG quality 1..100 (default 90); ignored for PNG. */
  quality?: number;
}

/** A frame as a grabber would deliver it: JPEG, with the layout that says where each control is. */
export async function renderFrame(view: ScreenView, opts: RenderOptions = {}): Promise<{ jpeg: Buffer; layout: ScreenLayout }> {
  const { width, height, quality } = options(opts);
  const { data, layout } = await cachedFrame(view, width, height, `jpeg${quality}`, (img) => img.jpeg({ quality }).toBuffer());
  return { jpeg: data, layout };
}

/** The same frame as a lossless PNG (fixtures, review dumps). */
export async function renderPng(view: ScreenView, opts: RenderOptions = {}): Promise<{ png: Buffer; layout: ScreenLayout }> {
  const { width, height } = options(opts);
  const { data, layout } = await cachedFrame(view, width, height, 'png', (img) => img.png({ compressionLevel: 6 }).toBuffer());
  return { png: data, layout };
}

function options(opts: RenderOptions): Required<RenderOptions> {
  const width = opts.width ?? 1920, height = opts.height ?? 1080, quality = opts.quality ?? 90;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw new Error(`render: JPEG quality must be 1..100, got ${quality}`);
  return { width, height, quality };
}

// ---- whole frames: the device re-sends the same screen many times, so keep the last few ----

const frames = new Map<string, Promise<{ data: Buffer; layout: ScreenLayout }>>();
const FRAMES_MAX = 8;

function cachedFrame(view: ScreenView, width: number, height: number, format: string,
  encode: (img: Sharp) => Promise<Buffer>): Promise<{ data: Buffer; layout: ScreenLayout }> {
  const key = `${width}x${height}/${format}/${JSON.stringify(view)}`;
  let hit = frames.get(key);
  if (hit) {
    frames.delete(key); // most recently used goes last
    frames.set(key, hit);
    return hit;
  }
  hit = (async () => {
    const layout = layoutScreen(view, width, height);
    return { data: await encode(await compose(layout)), layout };
  })();
  hit.catch(() => frames.delete(key));
  if (frames.size >= FRAMES_MAX) frames.delete(frames.keys().next().value!);
  frames.set(key, hit);
  return hit;
}

/** The frame as a sharp pipeline ready to encode. */
async function compose(layout: ScreenLayout): Promise<Sharp> {
  const { width, height } = layout;
  const [bg, shapes, texts, qr] = await Promise.all([
    background(layout.background, width, height),
    shapesOverlay(layout.shapes, width, height),
    Promise.all(layout.texts.map((run) => textOverlay(run, width, height))),
    layout.qr ? renderQr(layout.qr.text, layout.qr.rect.width) : undefined,
  ]);
  const overlays: OverlayOptions[] = [];
  if (shapes) overlays.push(shapes);
  for (const t of texts) if (t) overlays.push(t);
  if (qr && layout.qr) overlays.push({ input: qr, top: layout.qr.rect.y, left: layout.qr.rect.x });
  const base = sharp(bg, { raw: { width, height, channels: 3 } });
  return overlays.length > 0 ? base.composite(overlays) : base;
}

// ---- background ----

const backgrounds = new Map<string, Promise<Buffer>>();
const BACKGROUNDS_MAX = 6;

/** Raw RGB of the background, cached per look and size (the Win11 one has gradients and a soft shadow). */
function background(bg: Background, width: number, height: number): Promise<Buffer> {
  const key = `${width}x${height}/${JSON.stringify(bg)}`;
  let hit = backgrounds.get(key);
  if (!hit) {
    hit = bg.kind === 'solid'
      ? sharp({ create: { width, height, channels: 3, background: bg.color } }).raw().toBuffer()
      : sharp(Buffer.from(win11BackgroundSvg(bg, width, height))).flatten({ background: '#dde6ef' }).removeAlpha().raw().toBuffer();
    hit.catch(() => backgrounds.delete(key));
    if (backgrounds.size >= BACKGROUNDS_MAX) backgrounds.delete(backgrounds.keys().next().value!);
    backgrounds.set(key, hit);
  }
  return hit;
}

function win11BackgroundSvg(bg: Extract<Background, { kind: 'win11' }>, w: number, h: number): string {
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}"><defs>`,
    '<linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#dfe7ef"/><stop offset="1" stop-color="#d3deec"/></linearGradient>',
    blob('low-left', 0.08, 1.0, 0.5, '#a4baf0'),
    blob('low-right', 0.97, 0.8, 0.42, '#b4b0e4'),
    blob('top', 0.55, -0.05, 0.4, '#eef3f9'),
    '<linearGradient id="card" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#f9fafd"/><stop offset="1" stop-color="#eef1f7"/></linearGradient>',
    '</defs>',
    `<rect width="${w}" height="${h}" fill="url(#sky)"/>`,
    `<rect width="${w}" height="${h}" fill="url(#low-left)"/>`,
    `<rect width="${w}" height="${h}" fill="url(#low-right)"/>`,
    `<rect width="${w}" height="${h}" fill="url(#top)"/>`,
  ];
  if (bg.card) {
    const { x, y, width, height } = bg.card;
    // A soft shadow from stacked, growing, faint rounded rects (cheaper than a blur filter at 4K).
    const step = Math.max(1, h / 360);
    for (let i = 8; i >= 1; i--) {
      const d = i * step;
      parts.push(`<rect x="${x - d}" y="${y - d + step * 1.5}" width="${width + 2 * d}" height="${height + 2 * d}" rx="${bg.radius + d}" fill="#1d2a44" fill-opacity="0.018"/>`);
    }
    parts.push(`<rect x="${x}" y="${y}" width="${width}" height="${height}" rx="${bg.radius}" fill="url(#card)" fill-opacity="0.93"/>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

function blob(id: string, cx: number, cy: number, r: number, color: string): string {
  return `<radialGradient id="${id}" cx="${cx}" cy="${cy}" r="${r}"><stop offset="0" stop-color="${color}" stop-opacity="0.85"/><stop offset="1" stop-color="${color}" stop-opacity="0"/></radialGradient>`;
}

// ---- shapes ----

/**
 * The shapes rasterized as one RGBA overlay over just their bounding box (a full-frame SVG overlay costs
 * about 40 ms at 1080p; most pages' shapes cover a fraction of it).
 */
async function shapesOverlay(shapes: Shape[], w: number, h: number): Promise<OverlayOptions | undefined> {
  if (shapes.length === 0) return undefined;
  let x0 = w, y0 = h, x1 = 0, y1 = 0;
  for (const s of shapes) {
    const b = shapeBounds(s);
    x0 = Math.min(x0, b.x0); y0 = Math.min(y0, b.y0); x1 = Math.max(x1, b.x1); y1 = Math.max(y1, b.y1);
  }
  x0 = Math.max(0, Math.floor(x0) - 2); y0 = Math.max(0, Math.floor(y0) - 2);
  x1 = Math.min(w, Math.ceil(x1) + 2); y1 = Math.min(h, Math.ceil(y1) + 2);
  if (x1 <= x0 || y1 <= y0) return undefined;
  const bw = x1 - x0, bh = y1 - y0;
  const defs = Object.entries(GRADIENTS).map(([name, [a, b]]) =>
    `<linearGradient id="g-${name}" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${a}"/><stop offset="1" stop-color="${b}"/></linearGradient>`);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${bw}" height="${bh}" viewBox="${x0} ${y0} ${bw} ${bh}"><defs>${defs.join('')}</defs>${shapes.map(shapeSvg).join('')}</svg>`;
  const { data, info } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { input: data, raw: { width: info.width, height: info.height, channels: 4 }, top: y0, left: x0 };
}

/** Where a shape can paint. */
function shapeBounds(s: Shape): { x0: number; y0: number; x1: number; y1: number } {
  const sw = 'strokeWidth' in s && s.strokeWidth ? s.strokeWidth : 0;
  switch (s.kind) {
    case 'rect':
      return { x0: s.rect.x - sw, y0: s.rect.y - sw, x1: s.rect.x + s.rect.width + sw, y1: s.rect.y + s.rect.height + sw };
    case 'circle':
    case 'arc':
      return { x0: s.cx - s.r - sw, y0: s.cy - s.r - sw, x1: s.cx + s.r + sw, y1: s.cy + s.r + sw };
    case 'path':
      return { x0: s.box.x - sw, y0: s.box.y - sw, x1: s.box.x + s.box.width + sw, y1: s.box.y + s.box.height + sw };
  }
}

function paint(fill?: string, stroke?: string, strokeWidth?: number): string {
  const f = fill === undefined ? 'none' : fill.startsWith('gradient:') ? `url(#g-${fill.slice(9)})` : fill;
  return ` fill="${f}"${stroke ? ` stroke="${stroke}" stroke-width="${strokeWidth ?? 1}"` : ''}`;
}

function n(v: number): string {
  return String(Math.round(v * 100) / 100);
}

function shapeSvg(s: Shape): string {
  switch (s.kind) {
    case 'rect': {
      const { x, y, width, height } = s.rect;
      // A 1px stroke sits on the pixel grid only when centred on a half pixel.
      const o = s.stroke && (s.strokeWidth ?? 1) % 2 === 1 ? 0.5 : 0;
      return `<rect x="${n(x + o)}" y="${n(y + o)}" width="${n(Math.max(0, width - 2 * o))}" height="${n(Math.max(0, height - 2 * o))}" rx="${n(s.radius ?? 0)}"${paint(s.fill, s.stroke, s.strokeWidth)}${s.opacity !== undefined ? ` opacity="${s.opacity}"` : ''}/>`;
    }
    case 'circle':
      return `<circle cx="${n(s.cx)}" cy="${n(s.cy)}" r="${n(s.r)}"${paint(s.fill, s.stroke, s.strokeWidth)}/>`;
    case 'arc': {
      const at = (deg: number) => {
        const a = (deg * Math.PI) / 180;
        return `${n(s.cx + s.r * Math.sin(a))} ${n(s.cy - s.r * Math.cos(a))}`;
      };
      const large = s.endDeg - s.startDeg > 180 ? 1 : 0;
      return `<path d="M${at(s.startDeg)}A${n(s.r)} ${n(s.r)} 0 ${large} 1 ${at(s.endDeg)}" fill="none" stroke="${s.stroke}" stroke-width="${n(s.strokeWidth)}" stroke-linecap="round"/>`;
    }
    case 'path':
      return `<path d="${s.d}"${paint(s.fill, s.stroke, s.strokeWidth)}/>`;
  }
}

// ---- text ----

interface TextImage { data: Buffer; width: number; height: number }

const textImages = new Map<string, Promise<TextImage>>();
let textBytes = 0;
const TEXT_BYTES_MAX = 64 * 1024 * 1024;

/** One line of text as RGBA, drawn by Pango with the package's font file (cached by content and style). */
function textImage(run: TextRun): Promise<TextImage> {
  const key = `${run.weight}/${run.size}/${run.color}/${run.text}`;
  let hit = textImages.get(key);
  if (hit) {
    textImages.delete(key);
    textImages.set(key, hit);
    return hit;
  }
  hit = sharp({
    text: {
      text: `<span foreground="${run.color}">${escapeMarkup(run.text)}</span>`,
      font: `${PANGO_FACE[run.weight]} ${run.size}px`,
      fontfile: fontFile(run.weight),
      dpi: 72,
      rgba: true,
    },
  }).raw().toBuffer({ resolveWithObject: true }).then(({ data, info }) => {
    textBytes += data.length;
    return { data, width: info.width, height: info.height };
  });
  hit.catch(() => textImages.delete(key));
  textImages.set(key, hit);
  while (textBytes > TEXT_BYTES_MAX && textImages.size > 1) {
    const oldest = textImages.keys().next().value!;
    const old = textImages.get(oldest)!;
    textImages.delete(oldest);
    void old.then((t) => { textBytes -= t.data.length; }, () => undefined);
  }
  return hit;
}

function escapeMarkup(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The run's image placed so its ink sits on the layout's baseline; cropped to the frame. */
async function textOverlay(run: TextRun, w: number, h: number): Promise<OverlayOptions | undefined> {
  const ink = inkOffset(run.text, run.size, run.weight);
  if (!ink) return undefined;
  const img = await textImage(run);
  let left = Math.floor(run.x + ink.left), top = Math.floor(run.baseline + ink.top);
  const x0 = Math.max(0, -left), y0 = Math.max(0, -top);
  const cw = Math.min(img.width, w - left) - x0, ch = Math.min(img.height, h - top) - y0;
  if (cw <= 0 || ch <= 0) return undefined;
  if (x0 === 0 && y0 === 0 && cw === img.width && ch === img.height) {
    return { input: img.data, raw: { width: img.width, height: img.height, channels: 4 }, top, left };
  }
  const out = Buffer.alloc(cw * ch * 4);
  for (let r = 0; r < ch; r++) img.data.copy(out, r * cw * 4, ((r + y0) * img.width + x0) * 4, ((r + y0) * img.width + x0 + cw) * 4);
  left += x0;
  top += y0;
  return { input: out, raw: { width: cw, height: ch, channels: 4 }, top, left };
}
