// What the layout hands to the painter: everything to draw, in frame pixels, plus the click targets.

import type { FrameStyle, Layout, Os, Rect, SimScreenId } from '../view.ts';
import type { FontWeight } from './fonts.ts';

/** One line of text. `x` is the pen start and `baseline` the baseline; `rect` is its line box (for OCR crops). */
export interface TextRun {
  text: string;
  x: number;
  baseline: number;
  /** Measured advance width (the painted ink is within about 1% of it). */
  width: number;
  size: number;
  weight: FontWeight;
  color: string;
  rect: Rect;
}

/** Named gradients a shape may use as fill `gradient:NAME`; the painter defines them. */
export const GRADIENTS = {
  globe: ['#1e90e8', '#5b3fd9'],
  tile: ['#1a6fe0', '#4a3fd6'],
  mint: ['#5ef0c8', '#10c990'],
} as const;
export type GradientName = keyof typeof GRADIENTS;

export type Shape =
  | { kind: 'rect'; rect: Rect; radius?: number; fill?: string; stroke?: string; strokeWidth?: number; opacity?: number }
  | { kind: 'circle'; cx: number; cy: number; r: number; fill?: string; stroke?: string; strokeWidth?: number }
  /** An arc of a circle, clockwise from startDeg to endDeg (0 = 12 o'clock). */
  | { kind: 'arc'; cx: number; cy: number; r: number; startDeg: number; endDeg: number; stroke: string; strokeWidth: number }
  /** An SVG path (absolute start point); `box` bounds everything it paints, stroke aside. */
  | { kind: 'path'; d: string; box: Rect; fill?: string; stroke?: string; strokeWidth?: number };

export type Background =
  | { kind: 'solid'; color: string }
  /** The Windows 11 soft blue-grey gradient, with the translucent page card (and its shadow) when there is one. */
  | { kind: 'win11'; card?: Rect; radius: number };

/** Named areas of the page, for OCR crops and checks: what a user would point at. */
export type RegionName =
  | 'brand' | 'title' | 'paragraphs' | 'details' | 'input' | 'error' | 'list' | 'esp' | 'footer' | 'qr' | 'spinner';

export interface ScreenLayout extends Layout {
  screen: SimScreenId;
  os: Os;
  style: FrameStyle;
  background: Background;
  /** Painted in order over the background, before the text. */
  shapes: Shape[];
  texts: TextRun[];
  /** The QR code's square (quiet zone included) and its payload. */
  qr?: { rect: Rect; text: string };
  /** The focus rectangle's outer rect (also drawn as the last shape). */
  focus?: Rect;
  regions: Partial<Record<RegionName, Rect>>;
}
