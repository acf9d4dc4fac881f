// Where everything of a ScreenView goes in a frame of a given size: text runs, shapes, the QR square, the
// focus rectangle, and the click targets. Pure and synchronous (text is measured from the font files), so the
// device can hit-test a pointer click without painting. All sizes are fractions of the frame, so any frame size
// works (1920x1080 by default; 1024x768, 1280x720, 3840x2160...).
//
// Page composition, in reading order: brand, title, paragraphs, details ("Label: value"), input, list (with its
// in-list controls), error, ESP phases. When a page has an input box or details and two or more paragraphs,
// the last paragraph goes under them ("Can't access your account?" under the e-mail box, "Press
// Ctrl+Shift+D..." under the failure details), as on the real pages.

import type { Rect, ScreenView } from '../view.ts';
import {
  Canvas, espPhases, footer, inputBox, list, type Target,
} from './layout-blocks.ts';
import type { Background, ScreenLayout } from './layout-types.ts';
import { illustration } from './illustrations.ts';
import {
  DARK, FAILURE, FAILURE_BG, SIZE, SUCCESS, SUCCESS_BG, WIN10_BLUE, WIN10_BLUE_BG, WIN11_CARD, type Palette,
} from './theme.ts';

export type { ScreenLayout, TextRun, Shape, Background, RegionName } from './layout-types.ts';

export function layoutScreen(view: ScreenView, width: number, height: number): ScreenLayout {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 320 || height < 240) {
    throw new Error(`layoutScreen: frame size must be whole pixels of at least 320x240, got ${width}x${height}`);
  }
  const page = PAGES[view.style];
  if (!page) throw new Error(`layoutScreen: unknown frame style '${String(view.style)}' (screen ${view.screen})`);
  const { canvas, background } = page(view, width, height);
  return finish(view, canvas, background);
}

type Page = (view: ScreenView, width: number, height: number) => { canvas: Canvas; background: Background };

const PAGES: Record<ScreenView['style'], Page> = {
  black: (_v, w, h) => ({ canvas: new Canvas(w, h, DARK), background: { kind: 'solid', color: '#000000' } }),
  spinner: (_v, w, h) => {
    const c = new Canvas(w, h, DARK);
    dotSpinner(c, w / 2, h * 0.72, '#ffffff');
    return { canvas: c, background: { kind: 'solid', color: '#000000' } };
  },
  busy: busyPage,
  oobe: (v, w, h) => (v.os === 'win11' ? win11Page(v, w, h) : win10Page(v, w, h)),
  success: (v, w, h) => resultPage(v, w, h, SUCCESS, SUCCESS_BG),
  failure: (v, w, h) => resultPage(v, w, h, FAILURE, FAILURE_BG),
};

// ---- shared pieces ----

/** The boot/busy spinner: an open ring of small dots (a still of the animation). */
function dotSpinner(c: Canvas, cx: number, cy: number, color: string): void {
  const r = c.px(0.032), dot = Math.max(2, c.px(0.0042));
  for (let i = 0; i < 6; i++) {
    const a = ((-100 + i * 28) * Math.PI) / 180;
    c.shapes.push({ kind: 'circle', cx: cx + r * Math.sin(a), cy: cy - r * Math.cos(a), r: dot, fill: color });
  }
  c.mark('spinner', { x: Math.round(cx - r - dot), y: Math.round(cy - r - dot), width: 2 * (r + dot), height: 2 * (r + dot) });
}

/** Windows 11's progress ring: a grey circle with an accent arc. */
function ringSpinner(c: Canvas, cx: number, cy: number): void {
  const r = c.px(0.04), w = Math.max(3, c.px(0.007));
  c.shapes.push({ kind: 'circle', cx, cy, r, stroke: '#c4c7cc', strokeWidth: w });
  c.shapes.push({ kind: 'arc', cx, cy, r, startDeg: 30, endDeg: 200, stroke: c.palette.accent, strokeWidth: w });
  c.mark('spinner', { x: Math.round(cx - r - w), y: Math.round(cy - r - w), width: 2 * (r + w), height: 2 * (r + w) });
}

/** The Windows 11 page card: centred, about 87% of the frame high, at most 1.6 times as wide as high. */
function win11Card(w: number, h: number): Rect {
  const height = Math.round(0.87 * h);
  const width = Math.min(Math.round(0.906 * w), Math.round(1.6 * height));
  return { x: Math.round((w - width) / 2), y: Math.round(0.065 * h), width, height };
}

interface Column { x: number; top: number; width: number; bottom: number }

/** Whether the last paragraph belongs under the input / details block rather than above it. */
function trailingParagraph(view: ScreenView): string | undefined {
  const paras = view.paragraphs ?? [];
  const block = (view.input && !view.input.inList) || (view.details?.length ?? 0) > 0;
  return block && paras.length >= 2 ? paras[paras.length - 1] : undefined;
}

/**
 * The page's text column, in reading order. `qr` places the QR code in the column under the details
 * (Windows 10 configuration page); otherwise the page places it.
 */
function column(c: Canvas, view: ScreenView, col: Column, opts: {
  titleSize: number; titleWeight: 'regular' | 'light' | 'semibold'; qrSize?: number;
  /** The view's only paragraph goes under the blocks (the result page drew the others above). */
  trailingOnly?: boolean;
}): number {
  const p = c.palette;
  const win11 = view.os === 'win11' && view.style === 'oobe';
  const blockGap = c.px(0.034);
  let y = col.top;
  const text = (s: string, size: number, weight: 'regular' | 'semibold' | 'light', color: string, region: Parameters<Canvas['mark']>[0]) => {
    const r = c.block(s, col.x, y, col.width, size, weight, color, { bottom: col.bottom });
    if (r.rect) c.mark(region, r.rect);
    y = r.end;
  };
  if (view.brand) {
    text(view.brand, c.size(SIZE.brand), 'semibold', p.title, 'brand');
    y += c.px(0.014);
  }
  if (view.title) {
    text(view.title, opts.titleSize, opts.titleWeight, p.title, 'title');
    y += c.px(0.018);
  }
  const trailing = opts.trailingOnly ? view.paragraphs?.[0] : trailingParagraph(view);
  const paras = view.paragraphs ?? [];
  const leading = trailing ? paras.slice(0, -1) : paras;
  for (const para of leading) {
    text(para, c.size(SIZE.body), 'regular', p.body, 'paragraphs');
    y += c.px(0.012);
  }
  if (view.title || view.brand || leading.length > 0) y += blockGap - c.px(0.012);
  if (view.details?.length) {
    for (const d of view.details) {
      text(`${d.label}: ${d.value}`, c.size(SIZE.details), 'regular', p.title, 'details');
      y += c.px(0.006);
    }
    y += blockGap;
  }
  if (view.qr && opts.qrSize) {
    // Never so small that the code cannot be drawn (renderQr needs a pixel per module plus quiet zone).
    const size = Math.max(c.px(0.12), Math.min(opts.qrSize, col.bottom - y));
    placeQr(c, view.qr, { x: col.x, y, width: size, height: size });
    y += size + blockGap;
  }
  const inputInList = view.input?.inList === true;
  if (view.input && !inputInList) {
    y = inputBox(c, view.input, col.x, y, Math.min(col.width, c.px(0.62)), win11);
    y += c.px(0.012);
    if (view.error) y = error(c, view.error, col, y);
    y += blockGap;
  }
  const listButtons = view.buttons.filter((b) => b.inList);
  if (view.list) {
    const errorInList = inputInList || (listButtons.length > 0 && view.list.selected >= 0) ? view.error : undefined;
    const listWidth = view.os === 'win10' && view.style === 'oobe' ? Math.min(col.width, c.px(0.7)) : col.width;
    y = list(c, {
      items: view.list.items, selected: view.list.selected,
      input: inputInList ? view.input : undefined, buttons: listButtons, error: errorInList,
    }, col.x, y, listWidth, col.bottom, win11);
    y += c.px(0.012);
    if (view.error && !errorInList) y = error(c, view.error, col, y);
    y += blockGap;
  } else if (view.error && !(view.input && !inputInList)) {
    y = error(c, view.error, col, y) + blockGap;
  }
  if (view.esp) y = espPhases(c, view.esp.phases, col.x, y, col.width, col.bottom);
  if (trailing) text(trailing, c.size(SIZE.body), 'regular', p.body, 'paragraphs');
  return y;
}

function error(c: Canvas, message: string, col: Column, y: number): number {
  const r = c.block(message, col.x, y, col.width, c.size(SIZE.body), 'regular', c.palette.error, { bottom: col.bottom });
  if (r.rect) c.mark('error', r.rect);
  return r.end;
}

function placeQr(c: Canvas, text: string, rect: Rect): void {
  c.qr = { rect, text };
  c.mark('qr', rect);
}

// ---- pages ----

function win11Page(view: ScreenView, w: number, h: number): { canvas: Canvas; background: Background } {
  const c = new Canvas(w, h, WIN11_CARD);
  const card = win11Card(w, h);
  const left = { cx: card.x + card.width * 0.25, cy: card.y + card.height / 2 };
  if (view.qr) {
    const size = Math.round(Math.min(0.3 * h, 0.34 * card.width));
    placeQr(c, view.qr, { x: Math.round(left.cx - size / 2), y: Math.round(left.cy - size / 2), width: size, height: size });
  } else {
    illustration(c, view.screen, left.cx, left.cy, Math.min(0.3 * h, 0.34 * card.width));
  }
  const esp = view.esp !== undefined;
  const colX = card.x + Math.round((esp ? 0.5 : 0.54) * card.width);
  const right = card.x + card.width - c.px(0.055);
  const bottom = card.y + card.height - c.px(0.052);
  const footerTop = footer(c, view.buttons, right, bottom);
  column(c, view, {
    x: colX, top: card.y + Math.round(0.083 * card.height), width: card.x + Math.round(0.94 * card.width) - colX,
    bottom: footerTop - c.px(0.03),
  }, { titleSize: c.size(SIZE.title), titleWeight: 'semibold' });
  return { canvas: c, background: { kind: 'win11', card, radius: c.px(0.011) } };
}

function win10Page(view: ScreenView, w: number, h: number): { canvas: Canvas; background: Background } {
  const c = new Canvas(w, h, WIN10_BLUE);
  const x = Math.round(0.09 * w);
  const right = w - Math.round(0.05 * w);
  const bottom = h - c.px(0.065);
  const footerTop = footer(c, view.buttons, right, bottom, x);
  column(c, view, {
    x, top: c.px(0.11), width: Math.min(Math.round(0.62 * w), c.px(1.05)), bottom: footerTop - c.px(0.03),
  }, { titleSize: c.size(SIZE.titleWin10), titleWeight: 'light', qrSize: c.px(0.26) });
  return { canvas: c, background: { kind: 'solid', color: WIN10_BLUE_BG } };
}

/** Windows 11 shows update checks on the card with a progress ring; other messages on black with dots. */
function busyPage(view: ScreenView, w: number, h: number): { canvas: Canvas; background: Background } {
  const size = Math.max(8, Math.round(SIZE.busy * h));
  if (view.os === 'win11' && /^Checking for/i.test(view.title ?? '')) {
    const c = new Canvas(w, h, WIN11_CARD);
    const card = win11Card(w, h);
    illustration(c, view.screen, card.x + card.width * 0.25, card.y + card.height / 2, Math.min(0.3 * h, 0.34 * card.width));
    const colX = card.x + Math.round(0.54 * card.width), colW = Math.round(0.4 * card.width);
    const cy = card.y + card.height / 2 - c.px(0.02);
    ringSpinner(c, colX + colW / 2, cy);
    busyMessage(c, view.title!, colX, cy + c.px(0.075), colW, size);
    return { canvas: c, background: { kind: 'win11', card, radius: c.px(0.011) } };
  }
  const win10 = view.os === 'win10';
  const c = new Canvas(w, h, win10 ? WIN10_BLUE : DARK);
  const cy = h * 0.47;
  dotSpinner(c, w / 2, cy, '#ffffff');
  if (view.title) busyMessage(c, view.title, Math.round(w * 0.15), Math.round(cy + c.px(0.07)), Math.round(w * 0.7), size);
  return { canvas: c, background: { kind: 'solid', color: win10 ? WIN10_BLUE_BG : '#000000' } };
}

function busyMessage(c: Canvas, text: string, x: number, top: number, width: number, size: number): void {
  const r = c.block(text, x, top, width, size, 'regular', c.palette.title, { align: 'center' });
  if (r.rect) c.mark('title', r.rect);
}

/** The green / red result screen: title top left, details lines, QR on the left of them when there is one. */
function resultPage(view: ScreenView, w: number, h: number, palette: Palette, bg: string): { canvas: Canvas; background: Background } {
  const c = new Canvas(w, h, palette);
  const mx = Math.round(0.08 * w);
  const right = w - mx;
  const footerTop = footer(c, view.buttons, right, h - c.px(0.08));
  const bottom = footerTop - c.px(0.03);
  let y = c.px(0.12);
  const title = c.block(view.title ?? '', mx, y, right - mx, c.size(SIZE.titleResult), 'regular', palette.title, { bottom });
  if (title.rect) c.mark('title', title.rect);
  y = title.end + c.px(0.025);
  const trailing = trailingParagraph(view);
  const paras = view.paragraphs ?? [];
  for (const para of trailing ? paras.slice(0, -1) : paras) {
    const r = c.block(para, mx, y, right - mx, c.size(SIZE.body), 'regular', palette.body, { bottom });
    if (r.rect) c.mark('paragraphs', r.rect);
    y = r.end + c.px(0.012);
  }
  y += c.px(0.02);
  let colX = mx;
  if (view.qr) {
    const size = Math.max(c.px(0.12), Math.min(c.px(0.3), bottom - y));
    placeQr(c, view.qr, { x: mx, y, width: size, height: size });
    colX = mx + size + c.px(0.05);
  }
  // The rest (details, error, the trailing paragraph...) in the column right of the QR code.
  column(c, { ...view, title: undefined, brand: undefined, qr: undefined, paragraphs: trailing ? [trailing] : undefined },
    { x: colX, top: y, width: right - colX, bottom }, { titleSize: c.size(SIZE.titleResult), titleWeight: 'regular', trailingOnly: trailing !== undefined });
  return { canvas: c, background: { kind: 'solid', color: bg } };
}

// ---- finishing: focus ring, targets ----

function finish(view: ScreenView, c: Canvas, background: Background): ScreenLayout {
  let focus: Rect | undefined;
  const focused = view.focus === null ? undefined : c.focusable.get(view.focus);
  if (focused) {
    const stroke = Math.max(2, Math.round((2 * c.height) / 1080));
    const gap = Math.max(2, Math.round((3 * c.height) / 1080));
    const out = gap + stroke;
    focus = clampRect({ x: focused.x - out, y: focused.y - out, width: focused.width + 2 * out, height: focused.height + 2 * out }, c.width, c.height);
    // Drawn centred on its path: inset by half the stroke so the outer edge is `focus`.
    c.shapes.push({
      kind: 'rect', rect: { x: focus.x + stroke / 2, y: focus.y + stroke / 2, width: focus.width - stroke, height: focus.height - stroke },
      radius: c.px(0.007), stroke: c.palette.focus, strokeWidth: stroke,
    });
  }
  // Buttons first: an in-list button or key box lies inside its list item, and hitTest takes the first match.
  const targets: Target[] = [...c.buttonTargets, ...c.inputTargets, ...c.itemTargets].map((t) => ({
    target: t.target, rect: clampRect(roundRect(t.rect), c.width, c.height),
  }));
  const qr = c.qr;
  return {
    width: c.width, height: c.height, screen: view.screen, os: view.os, style: view.style,
    background, shapes: c.shapes, texts: c.texts, qr, focus, regions: c.regions, targets,
  };
}

function roundRect(r: Rect): Rect {
  const x = Math.round(r.x), y = Math.round(r.y);
  return { x, y, width: Math.round(r.x + r.width) - x, height: Math.round(r.y + r.height) - y };
}

function clampRect(r: Rect, w: number, h: number): Rect {
  const x = Math.max(0, r.x), y = Math.max(0, r.y);
  return { x, y, width: Math.max(0, Math.min(w, r.x + r.width) - x), height: Math.max(0, Math.min(h, r.y + r.height) - y) };
}
