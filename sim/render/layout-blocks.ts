// The building blocks of a page layout: text lines and wrapped blocks, buttons, the input box, the list, the
// ESP phases. Each block places itself at a given spot, records what to draw and what can be clicked, and
// returns where it ends. All lengths are fractions of the frame height (via `px`).

import type { ButtonView, EspPhaseView, HitTarget, InputView, ListItemView, Rect } from '../view.ts';
import { lineMetrics, measureText, wrapText, type FontWeight } from './fonts.ts';
import type { RegionName, Shape, TextRun } from './layout-types.ts';
import { SIZE, textPx, type Palette } from './theme.ts';

export interface Target { target: HitTarget; rect: Rect }

export function union(a: Rect | undefined, b: Rect): Rect {
  if (!a) return { ...b };
  const x = Math.min(a.x, b.x), y = Math.min(a.y, b.y);
  return { x, y, width: Math.max(a.x + a.width, b.x + b.width) - x, height: Math.max(a.y + a.height, b.y + b.height) - y };
}

/** Collects one frame's drawing and targets. */
export class Canvas {
  readonly shapes: Shape[] = [];
  readonly texts: TextRun[] = [];
  readonly buttonTargets: Target[] = [];
  readonly inputTargets: Target[] = [];
  readonly itemTargets: Target[] = [];
  readonly regions: Partial<Record<RegionName, Rect>> = {};
  /** Rect of each control that can take focus: 'list', 'input', or a button id. */
  readonly focusable = new Map<string, Rect>();
  /** The QR code's square and payload, once a page places one. */
  qr?: { rect: Rect; text: string };

  constructor(readonly width: number, readonly height: number, public palette: Palette) {}

  /** A length: a fraction of the frame height, in whole pixels. */
  px(fraction: number): number {
    return Math.round(fraction * this.height);
  }

  /** A text size in whole pixels. */
  size(fraction: number): number {
    return textPx(fraction, this.height);
  }

  lineHeight(size: number, weight: FontWeight = 'regular'): number {
    return lineMetrics(size, weight).height;
  }

  mark(region: RegionName, rect: Rect): void {
    this.regions[region] = union(this.regions[region], rect);
  }

  /** One line of text whose line box starts at (x, top). */
  line(text: string, x: number, top: number, size: number, weight: FontWeight, color: string): TextRun {
    const { ascent, height } = lineMetrics(size, weight);
    const width = measureText(text, size, weight);
    const run: TextRun = {
      text, x: Math.round(x), baseline: top + ascent, width, size, weight, color,
      rect: { x: Math.round(x), y: top, width: Math.ceil(width), height },
    };
    if (text.trim()) this.texts.push(run);
    return run;
  }

  /**
   * Text wrapped to maxWidth, one line under the other, aligned in [x, x+maxWidth]. Lines that would end below
   * `bottom` are left out (the page is full). Returns the y under the last line drawn and the block's rect.
   */
  block(text: string, x: number, top: number, maxWidth: number, size: number, weight: FontWeight, color: string,
    opts: { align?: 'left' | 'center' | 'right'; bottom?: number } = {}): { end: number; rect?: Rect } {
    const lh = this.lineHeight(size, weight);
    let y = top;
    let rect: Rect | undefined;
    for (const text1 of wrapText(text, size, weight, maxWidth)) {
      if (opts.bottom !== undefined && y + lh > opts.bottom) break;
      const w = measureText(text1, size, weight);
      const lx = opts.align === 'center' ? x + (maxWidth - w) / 2 : opts.align === 'right' ? x + maxWidth - w : x;
      const run = this.line(text1, lx, y, size, weight, color);
      rect = union(rect, run.rect);
      y += lh;
    }
    return { end: y, rect };
  }

  rect(rect: Rect, style: Omit<Extract<Shape, { kind: 'rect' }>, 'kind' | 'rect'>): void {
    this.shapes.push({ kind: 'rect', rect, ...style });
  }
}

// ---- buttons ----

export function buttonHeight(c: Canvas): number {
  return c.px(0.052);
}

/** Width a button needs for its label. */
export function buttonWidth(c: Canvas, b: ButtonView): number {
  const size = c.size(SIZE.button);
  return Math.max(c.px(0.168), Math.ceil(measureText(b.label, size, 'regular')) + 2 * c.px(0.03));
}

/** Draws a filled button with its label centred, and makes it a target. */
export function drawButton(c: Canvas, b: ButtonView, rect: Rect): void {
  const p = c.palette;
  const fill = !b.enabled ? p.disabledFill : b.primary ? p.accent : p.secondaryFill;
  const color = !b.enabled ? p.disabledText : b.primary ? p.onAccent : p.secondaryText;
  const stroke = b.enabled && !b.primary ? p.secondaryStroke : undefined;
  c.rect(rect, { radius: c.px(0.005), fill, stroke, strokeWidth: stroke ? 1 : undefined });
  const size = c.size(SIZE.button);
  const lh = c.lineHeight(size);
  const w = measureText(b.label, size, 'regular');
  c.line(b.label, rect.x + (rect.width - w) / 2, rect.y + Math.round((rect.height - lh) / 2), size, 'regular', color);
  c.buttonTargets.push({ target: { kind: 'button', id: b.id }, rect });
  c.focusable.set(b.id, rect);
}

/** A link button: coloured text, clickable over a button-high box around it. */
export function drawLink(c: Canvas, b: ButtonView, x: number, top: number): Rect {
  const size = c.size(SIZE.button);
  const pad = c.px(0.01);
  const h = buttonHeight(c);
  const w = Math.ceil(measureText(b.label, size, 'regular'));
  const color = b.enabled ? c.palette.link : c.palette.disabledText;
  c.line(b.label, x + pad, top + Math.round((h - c.lineHeight(size)) / 2), size, 'regular', color);
  const rect = { x, y: top, width: w + 2 * pad, height: h };
  c.buttonTargets.push({ target: { kind: 'button', id: b.id }, rect });
  c.focusable.set(b.id, rect);
  return rect;
}

export function linkWidth(c: Canvas, b: ButtonView): number {
  return Math.ceil(measureText(b.label, c.size(SIZE.button), 'regular')) + 2 * c.px(0.01);
}

/**
 * The page's footer: plain buttons right-aligned in view order ending at `right`, bottom at `bottom`; link
 * buttons either left of them or, when `linksAt` is given, from that x rightwards. Returns the footer top.
 */
export function footer(c: Canvas, buttons: ButtonView[], right: number, bottom: number, linksAt?: number): number {
  const h = buttonHeight(c);
  const top = bottom - h;
  const plain = buttons.filter((b) => !b.link && !b.inList);
  const links = buttons.filter((b) => b.link && !b.inList);
  if (plain.length + links.length === 0) return bottom;
  const gap = c.px(0.012);
  let x = right;
  for (const b of [...plain].reverse()) {
    const w = buttonWidth(c, b);
    x -= w;
    drawButton(c, b, { x, y: top, width: w, height: h });
    c.mark('footer', { x, y: top, width: w, height: h });
    x -= gap;
  }
  if (linksAt !== undefined) {
    // The link's text (not its padded box) lines up with the page's text column.
    let lx = linksAt - c.px(0.01);
    for (const b of links) {
      const r = drawLink(c, b, lx, top);
      c.mark('footer', r);
      lx += r.width + c.px(0.025);
    }
  } else {
    x -= c.px(0.015);
    for (const b of [...links].reverse()) {
      const w = linkWidth(c, b);
      x -= w;
      c.mark('footer', drawLink(c, b, x, top));
      x -= c.px(0.025);
    }
  }
  return top;
}

// ---- input box ----

/** The text box: label above, then the box with placeholder, typed text, or one dot per character when masked. */
export function inputBox(c: Canvas, input: InputView, x: number, top: number, width: number, win11: boolean): number {
  const p = c.palette;
  let y = top;
  const size = c.size(SIZE.body);
  if (input.label) {
    const r = c.block(input.label, x, y, width, size, 'regular', input.inList ? p.expandedText : p.body);
    y = r.end + c.px(0.008);
  }
  const h = c.px(0.05);
  const box = { x, y, width, height: h };
  c.rect(box, { radius: c.px(0.003), fill: p.inputFill, stroke: p.inputStroke, strokeWidth: 1 });
  if (win11) c.rect({ x, y: y + h - c.px(0.002) - 1, width, height: c.px(0.002) + 1 }, { fill: p.accent });
  const inset = c.px(0.014);
  const inner = width - 2 * inset;
  const chars = [...input.value];
  if (chars.length === 0 && input.placeholder) {
    const lh = c.lineHeight(size);
    c.block(input.placeholder, x + inset, y + Math.round((h - lh) / 2), inner, size, 'regular', p.placeholder, { bottom: y + h });
  } else if (input.masked) {
    // Dots are shapes, never glyphs: the key's characters must not reach the frame in any form.
    const r = Math.max(2, c.px(0.0042));
    const pitch = Math.max(2 * r + 2, c.px(0.0135));
    const fit = Math.max(0, Math.floor((inner - 2 * r) / pitch) + 1);
    const shown = Math.min(chars.length, fit);
    for (let i = 0; i < shown; i++) {
      c.shapes.push({ kind: 'circle', cx: x + inset + r + i * pitch, cy: y + h / 2, r, fill: p.inputText });
    }
  } else if (chars.length > 0) {
    // Like a real text box, show the end of a value too long for the box.
    let start = 0;
    while (start < chars.length - 1 && measureText(chars.slice(start).join(''), size, 'regular') > inner) start++;
    const lh = c.lineHeight(size);
    c.line(chars.slice(start).join(''), x + inset, y + Math.round((h - lh) / 2), size, 'regular', p.inputText);
  }
  c.inputTargets.push({ target: { kind: 'input' }, rect: box });
  c.focusable.set('input', box);
  c.mark('input', box);
  return y + h;
}

// ---- list ----

export interface ListSpec {
  items: ListItemView[];
  selected: number;
  /** Controls drawn inside the selected item (Wi-Fi): in-list input, in-list buttons, and the error. */
  input?: InputView;
  buttons: ButtonView[];
  error?: string;
}

interface ItemPlan { index: number; height: number; expanded: boolean }

/** Draws the list between top and bottom, scrolled so that the selected item shows. Returns the y under it. */
export function list(c: Canvas, spec: ListSpec, x: number, top: number, width: number, bottom: number, win11: boolean): number {
  const gap = c.px(0.005);
  const plans = spec.items.map((item, index) => planItem(c, spec, item, index, width));
  let first = 0;
  const sel = spec.selected >= 0 && spec.selected < plans.length ? spec.selected : 0;
  const span = (from: number, to: number) => plans.slice(from, to + 1).reduce((s, p) => s + p.height + gap, 0);
  while (first < sel && top + span(first, sel) - gap > bottom) first++;
  let y = top;
  for (let i = first; i < plans.length; i++) {
    const plan = plans[i];
    if (y + plan.height > bottom && i > first) break;
    drawItem(c, spec, spec.items[i], plan, { x, y, width, height: plan.height }, win11);
    y += plan.height + gap;
  }
  return y - gap;
}

function itemInset(c: Canvas): number {
  return c.px(0.021);
}

/** Heights of the parts of an item: label lines, detail lines, and the expanded controls. */
function planItem(c: Canvas, spec: ListSpec, item: ListItemView, index: number, width: number): ItemPlan {
  const inner = width - 2 * itemInset(c);
  const ls = c.size(SIZE.listLabel), ds = c.size(SIZE.listDetail);
  let h = wrapText(item.label, ls, 'regular', inner).length * c.lineHeight(ls);
  if (item.detail) h += wrapText(item.detail, ds, 'regular', inner).length * c.lineHeight(ds);
  const expanded = index === spec.selected && (spec.input !== undefined || spec.buttons.length > 0);
  if (expanded) h += expandedHeight(c, spec, inner);
  const padY = c.px(0.016);
  return { index, height: Math.max(c.px(0.076), h + 2 * padY), expanded };
}

function expandedHeight(c: Canvas, spec: ListSpec, inner: number): number {
  const bs = c.size(SIZE.body);
  let h = 0;
  if (spec.input) {
    h += c.px(0.014);
    if (spec.input.label) h += wrapText(spec.input.label, bs, 'regular', inner).length * c.lineHeight(bs) + c.px(0.008);
    h += c.px(0.05);
  }
  if (spec.error) h += c.px(0.01) + wrapText(spec.error, bs, 'regular', inner).length * c.lineHeight(bs);
  if (spec.buttons.length > 0) h += c.px(0.016) + buttonHeight(c);
  return h;
}

function drawItem(c: Canvas, spec: ListSpec, item: ListItemView, plan: ItemPlan, rect: Rect, win11: boolean): void {
  const p = c.palette;
  const selected = plan.index === spec.selected;
  const inset = itemInset(c);
  const inner = rect.width - 2 * inset;
  let labelColor = p.title, detailColor = p.muted;
  if (plan.expanded) {
    c.rect(rect, { radius: c.px(0.005), fill: p.expandedFill, stroke: p.expandedStroke, strokeWidth: p.expandedStroke ? 1 : undefined });
    labelColor = p.expandedText;
    detailColor = p.expandedDetail;
  } else if (selected) {
    c.rect(rect, { radius: c.px(0.005), fill: p.selectedFill });
    labelColor = p.selectedText;
    detailColor = p.selectedDetail;
  }
  const ls = c.size(SIZE.listLabel), ds = c.size(SIZE.listDetail);
  const textH = wrapText(item.label, ls, 'regular', inner).length * c.lineHeight(ls)
    + (item.detail ? wrapText(item.detail, ds, 'regular', inner).length * c.lineHeight(ds) : 0);
  // Text centred in a plain item; at the top of an expanded one.
  let y = plan.expanded ? rect.y + c.px(0.016) : rect.y + Math.round((rect.height - textH) / 2);
  y = c.block(item.label, rect.x + inset, y, inner, ls, 'regular', labelColor).end;
  if (item.detail) y = c.block(item.detail, rect.x + inset, y, inner, ds, 'regular', detailColor).end;
  c.itemTargets.push({ target: { kind: 'list-item', index: plan.index }, rect });
  c.mark('list', rect);
  // Focus on the list rings the selected item, or the first item shown when nothing is selected.
  if (selected || !c.focusable.has('list')) c.focusable.set('list', rect);
  if (!plan.expanded) return;
  if (spec.input) y = inputBox(c, spec.input, rect.x + inset, y + c.px(0.014), inner, win11);
  if (spec.error) {
    const r = c.block(spec.error, rect.x + inset, y + c.px(0.01), inner, c.size(SIZE.body), 'regular', p.error);
    if (r.rect) c.mark('error', r.rect);
    y = r.end;
  }
  if (spec.buttons.length > 0) {
    const h = buttonHeight(c);
    const top = y + c.px(0.016);
    let x = rect.x + rect.width - inset;
    for (const b of [...spec.buttons].reverse()) {
      const w = Math.min(buttonWidth(c, b), Math.floor(inner / spec.buttons.length));
      x -= w;
      drawButton(c, b, { x, y: top, width: w, height: h });
      x -= c.px(0.01);
    }
  }
}

// ---- Enrollment Status Page ----

/** Phases, each "NAME ... STATE"; the expanded phase lists its items indented under it. */
export function espPhases(c: Canvas, phases: EspPhaseView[], x: number, top: number, width: number, bottom: number): number {
  const p = c.palette;
  const ps = c.size(SIZE.espPhase), is = c.size(SIZE.espItem);
  const dotR = c.px(0.0065);
  const indent = c.px(0.03);
  const gap = c.px(0.02);
  let y = top;
  phases.forEach((phase, i) => {
    if (y + c.lineHeight(ps) > bottom) return;
    if (i > 0) {
      const ly = y - c.px(0.012);
      c.shapes.push({ kind: 'path', d: `M${x} ${ly}H${x + width}`, box: { x, y: ly, width, height: 1 }, stroke: p.separator, strokeWidth: 1 });
    }
    const rowTop = y;
    y = row(c, phase.name, phase.state, x + indent, y, width - indent, ps, 'semibold', stateColor(c, phase.state, p.body), gap);
    c.shapes.push({ kind: 'circle', cx: x + dotR, cy: rowTop + c.lineHeight(ps) / 2, r: dotR, ...statusDot(c, phase.state) });
    if (phase.expanded) {
      for (const item of phase.items) {
        if (y + c.lineHeight(is) > bottom) break;
        y = row(c, item.name, item.state, x + 2 * indent, y + c.px(0.009), width - 2 * indent, is, 'regular', stateColor(c, item.state, p.muted), gap);
      }
    }
    c.mark('esp', { x, y: rowTop, width, height: y - rowTop });
    y += c.px(0.024);
  });
  return y;
}

/** Name left (wrapped to leave room), state right-aligned on the first line. */
function row(c: Canvas, name: string, state: string, x: number, top: number, width: number, size: number,
  weight: FontWeight, stateFill: string, gap: number): number {
  const stateW = Math.ceil(measureText(state, size, 'regular'));
  const nameEnd = c.block(name, x, top, Math.max(width - stateW - gap, width / 3), size, weight, c.palette.title).end;
  c.line(state, x + width - stateW, top, size, 'regular', stateFill);
  return Math.max(nameEnd, top + c.lineHeight(size));
}

function stateColor(c: Canvas, state: string, normal: string): string {
  return /^error/i.test(state) || /fail/i.test(state) ? c.palette.error : normal;
}

function statusDot(c: Canvas, state: string): { fill?: string; stroke?: string; strokeWidth?: number } {
  const p = c.palette;
  if (/^complete/i.test(state)) return { fill: p.ok };
  if (/^error/i.test(state) || /fail/i.test(state)) return { fill: p.error };
  if (/working|identifying|installed/i.test(state)) return { fill: p.accent === '#ffffff' ? p.body : p.accent };
  return { stroke: p.muted, strokeWidth: Math.max(1, c.px(0.0015)) };
}
