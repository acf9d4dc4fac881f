// The named grabber impairments that recognition is tested and benchmarked against, over every sample screen:
// each impairment alone at the strength the issue names, then a few that come together at real benches.

import type { Impairments } from './impair.ts';
import { layoutScreen } from './render/layout.ts';
import type { ScreenView } from './view.ts';

export interface ImpairedCase {
  /** Unique, stable, file-name safe: used in test names and benchmark keys. */
  name: string;
  imp: Impairments;
}

/** Over the title of the Windows 11 setup pages (the card's heading); a screen's own spot comes from titleCursor(). */
export const DEFAULT_TITLE_CURSOR = { x: 0.58, y: 0.155 };

/**
 * The matrix. `cursorAt` puts the pointer cases' arrow where a given screen's title is (titleCursor(view));
 * without it, over the Windows 11 setup pages' title.
 */
export function impairedMatrix(cursorAt: { x: number; y: number } = DEFAULT_TITLE_CURSOR): ImpairedCase[] {
  const cursor = { x: cursorAt.x, y: cursorAt.y };
  return [
    { name: 'jpeg-q30', imp: { quality: 30 } },
    { name: 'scale-1280x720', imp: { scale: { width: 1280, height: 720 } } },
    { name: 'scale-1024x768', imp: { scale: { width: 1024, height: 768 } } },
    // A 4:3 picture in a 16:9 frame: bars of an eighth of the width left and right.
    { name: 'pillarbox-4x3-in-16x9', imp: { border: { top: 0, bottom: 0, left: 0.125, right: 0.125 } } },
    { name: 'overscan-3pct', imp: { overscan: 0.03 } },
    { name: 'noise-8', imp: { noise: 8, seed: 1 } },
    { name: 'blur-0.8', imp: { blur: 0.8 } },
    { name: 'brightness-0.8', imp: { brightness: 0.8 } },
    { name: 'brightness-1.2', imp: { brightness: 1.2 } },
    { name: 'contrast-0.85', imp: { contrast: 0.85 } },
    { name: 'tint-warm', imp: { tint: [1.1, 1, 0.9] } },
    { name: 'cursor-over-title', imp: { cursor } },
    // Together, as cheap grabbers and TVs deliver them.
    { name: '720p-q40-blur-0.6', imp: { scale: { width: 1280, height: 720 }, quality: 40, blur: 0.6 } },
    { name: 'overscan-bright-noise', imp: { overscan: 0.03, brightness: 1.2, noise: 6, seed: 2 } },
    { name: 'letterbox-1024x768-q50', imp: { scale: { width: 1024, height: 768 }, border: { top: 0.125, bottom: 0.125, left: 0, right: 0 }, quality: 50 } },
    { name: 'dim-flat-tint-noise-cursor', imp: { brightness: 0.85, contrast: 0.85, tint: [0.95, 1, 1.08], noise: 4, seed: 3, cursor } },
  ];
}

/** A point over a screen's title text (a third of the way into its first line, mid-height): where a user's pointer rests. */
export function titleCursor(view: ScreenView, width = 1920, height = 1080): { x: number; y: number } {
  const layout = layoutScreen(view, width, height);
  const title = layout.regions.title;
  if (!title) return DEFAULT_TITLE_CURSOR;
  const line = layout.texts.find((t) => t.rect.y >= title.y && t.rect.y < title.y + title.height) ?? null;
  const r = line ? { x: line.x, y: line.rect.y, width: line.width, height: line.rect.height } : title;
  return { x: (r.x + r.width / 3) / width, y: (r.y + r.height / 2) / height };
}
