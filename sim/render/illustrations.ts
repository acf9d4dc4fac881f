// The simple pictures in the left half of a Windows 11 setup card (the real ones are a globe with a paper
// plane, a keyboard, overlapping tiles...). Shapes only: an illustration never carries text.

import type { SimScreenId } from '../view.ts';
import type { Canvas } from './layout-blocks.ts';

type Draw = (c: Canvas, cx: number, cy: number, s: number) => void;

const globe: Draw = (c, cx, cy, s) => {
  const r = s * 0.36;
  const box = { x: cx - r, y: cy - r, width: 2.3 * r, height: 2 * r };
  c.shapes.push({ kind: 'circle', cx, cy, r, fill: 'gradient:globe' });
  // Continents as soft blobs, then the white paper plane over the upper right.
  c.shapes.push({ kind: 'path', d: `M${cx - r * 0.7} ${cy - r * 0.35}q${r * 0.3} ${-r * 0.35} ${r * 0.55} ${-r * 0.1}q${r * 0.1} ${r * 0.3} ${-r * 0.15} ${r * 0.45}q${-r * 0.3} ${r * 0.05} ${-r * 0.4} ${-r * 0.35}z`, box, fill: '#7aa7f0' });
  c.shapes.push({ kind: 'path', d: `M${cx - r * 0.15} ${cy + r * 0.15}q${r * 0.35} ${-r * 0.05} ${r * 0.45} ${r * 0.3}q${-r * 0.05} ${r * 0.35} ${-r * 0.3} ${r * 0.45}q${-r * 0.2} ${-r * 0.3} ${-r * 0.15} ${-r * 0.75}z`, box, fill: '#7f8ff0' });
  c.shapes.push({ kind: 'path', d: `M${cx + r * 0.15} ${cy - r * 0.62}L${cx + r * 1.2} ${cy - r * 0.45}L${cx + r * 0.5} ${cy + r * 0.25}L${cx + r * 0.4} ${cy - r * 0.3}z`, box, fill: '#ffffff' });
  c.shapes.push({ kind: 'path', d: `M${cx + r * 0.4} ${cy - r * 0.3}L${cx + r * 1.2} ${cy - r * 0.45}L${cx + r * 0.2} ${cy - r * 0.05}z`, box, fill: '#d9dde3' });
};

const keyboard: Draw = (c, cx, cy, s) => {
  const w = s * 0.95, h = s * 0.48;
  const x0 = cx - w / 2, y0 = cy - h / 2;
  c.rect({ x: x0, y: y0, width: w, height: h }, { radius: s * 0.03, fill: '#e4e4e4', stroke: '#d2d2d2', strokeWidth: 1 });
  const cols = 10, rows = 4, pad = s * 0.07, kg = s * 0.018;
  const kw = (w - 2 * pad - (cols - 1) * kg) / cols, kh = (h - 2 * pad - (rows - 1) * kg) / rows;
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < cols; k++) {
      if (r === rows - 1 && k > 1 && k < 8) continue; // the space bar goes there
      const accent = (r === 1 && k === 7) || (r === 2 && k === 5);
      c.rect({ x: x0 + pad + k * (kw + kg), y: y0 + pad + r * (kh + kg), width: kw, height: kh }, { radius: s * 0.008, fill: accent ? '#5b5bd6' : '#ffffff' });
    }
  }
  c.rect({ x: x0 + pad + 2 * (kw + kg), y: y0 + pad + 3 * (kh + kg), width: 6 * kw + 5 * kg, height: kh }, { radius: s * 0.008, fill: '#ffffff' });
};

const wifi: Draw = (c, cx, cy, s) => {
  const r = s * 0.36;
  c.shapes.push({ kind: 'circle', cx, cy, r, fill: 'gradient:globe' });
  for (const k of [0.25, 0.45, 0.65]) {
    c.shapes.push({ kind: 'arc', cx, cy: cy + r * 0.35, r: r * k * 1.2, startDeg: -45, endDeg: 45, stroke: '#ffffff', strokeWidth: Math.max(2, s * 0.035) });
  }
  c.shapes.push({ kind: 'circle', cx, cy: cy + r * 0.35, r: s * 0.03, fill: '#ffffff' });
};

const tiles: Draw = (c, cx, cy, s) => {
  c.rect({ x: cx + s * 0.05, y: cy - s * 0.45, width: s * 0.36, height: s * 0.36 }, { radius: s * 0.02, fill: '#ffffff' });
  c.rect({ x: cx - s * 0.4, y: cy - s * 0.22, width: s * 0.45, height: s * 0.45 }, { radius: s * 0.02, fill: 'gradient:tile' });
  c.rect({ x: cx - s * 0.4, y: cy - s * 0.07, width: s * 0.3, height: s * 0.3 }, { radius: s * 0.015, fill: '#0a7fd6' });
  c.rect({ x: cx - s * 0.4, y: cy + s * 0.08, width: s * 0.15, height: s * 0.15 }, { radius: s * 0.012, fill: '#9ef0dc' });
  c.shapes.push({ kind: 'circle', cx: cx + s * 0.13, cy: cy + s * 0.27, r: s * 0.2, fill: 'gradient:mint' });
};

const BY_SCREEN: Partial<Record<SimScreenId, Draw>> = {
  'oobe-region': globe,
  'oobe-keyboard': keyboard,
  'oobe-keyboard-second': keyboard,
  'keyboard-layout-picker': keyboard,
  'oobe-network': wifi,
};

/** Draws the screen's illustration centred at (cx, cy), about s pixels across. */
export function illustration(c: Canvas, screen: SimScreenId, cx: number, cy: number, s: number): void {
  (BY_SCREEN[screen] ?? tiles)(c, cx, cy, s);
}
