// Finding the mouse pointer in frames, and fitting where it shows against where it was sent.
//
// The pointer is found by difference: with the pointer at P[i-1], P[i], P[i+1] in three frames, the pixels
// where frame i differs from both its neighbours are the pointer at P[i] alone (the old and the next
// positions each differ from only one of them). Its hot spot is the arrow's tip: the top-left of that blob.

/** Brightness of every pixel of a frame. */
export interface LumaFrame { data: Uint8Array; width: number; height: number }

/** Brightness steps above this (0..255) are the pointer, not JPEG noise. */
const DIFF_MIN = 40;

/** Pixels whose brightness moved by more than DIFF_MIN between two frames of the same size. */
export function changedPixels(a: LumaFrame, b: LumaFrame): number {
  let n = 0;
  for (let i = 0; i < a.data.length; i++) if (Math.abs(a.data[i] - b.data[i]) > DIFF_MIN) n++;
  return n;
}

export interface Blob { x0: number; y0: number; x1: number; y1: number; pixels: number }

/**
 * The pointer in frame `cur`: pixels that differ from both `prev` and `next`, grouped; the biggest group
 * and those close to it. Null when nothing is there, or what is there is far bigger than a pointer.
 */
export function findPointer(prev: LumaFrame, cur: LumaFrame, next: LumaFrame): Blob | null {
  const { width: w, height: h } = cur;
  const mask = new Uint8Array(w * h);
  let any = 0;
  for (let i = 0; i < mask.length; i++) {
    const c = cur.data[i];
    if (Math.abs(c - prev.data[i]) > DIFF_MIN && Math.abs(c - next.data[i]) > DIFF_MIN) { mask[i] = 1; any++; }
  }
  if (any < 4) return null;
  // Groups of touching pixels (8-neighbours), by flood fill.
  const blobs: Blob[] = [];
  const stack: number[] = [];
  for (let start = 0; start < mask.length; start++) {
    if (mask[start] !== 1) continue;
    const b: Blob = { x0: w, y0: h, x1: -1, y1: -1, pixels: 0 };
    mask[start] = 2;
    stack.push(start);
    while (stack.length) {
      const i = stack.pop()!;
      const x = i % w, y = (i - x) / w;
      b.pixels++;
      if (x < b.x0) b.x0 = x; if (x > b.x1) b.x1 = x; if (y < b.y0) b.y0 = y; if (y > b.y1) b.y1 = y;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= w) continue;
          const j = yy * w + xx;
          if (mask[j] === 1) { mask[j] = 2; stack.push(j); }
        }
      }
    }
    blobs.push(b);
  }
  blobs.sort((a, b) => b.pixels - a.pixels);
  const main = { ...blobs[0] };
  // A pointer is at most about 5% of the frame's height tall (a 32 px arrow at 200% on 1080p is 64).
  const reach = Math.max(12, Math.round(0.06 * h));
  for (const b of blobs.slice(1)) {
    const near = b.x0 <= main.x1 + reach / 2 && b.x1 >= main.x0 - reach / 2 && b.y0 <= main.y1 + reach / 2 && b.y1 >= main.y0 - reach / 2;
    if (near) {
      main.x0 = Math.min(main.x0, b.x0); main.y0 = Math.min(main.y0, b.y0);
      main.x1 = Math.max(main.x1, b.x1); main.y1 = Math.max(main.y1, b.y1); main.pixels += b.pixels;
    }
  }
  if (main.x1 - main.x0 > reach * 1.5 || main.y1 - main.y0 > reach * 1.5 || main.pixels < 4) return null;
  return main;
}

export interface PointerSample {
  /** Sent to the board, 0..1. */
  aim: { x: number; y: number };
  /** Where the tip showed, frame pixels. */
  seen: { x: number; y: number };
}

export interface PointerFit {
  scaleX: number; offsetX: number; scaleY: number; offsetY: number;
  /** Largest miss after the fit, frame pixels. */
  errorPx: number;
  /** Largest miss sending the frame position as it is (no correction), frame pixels. */
  rawErrorPx: number;
  points: number;
}

/** Least squares of seen = scale * aim + offset, one axis; values are fractions. */
function line(aim: number[], seen: number[]): { scale: number; offset: number } {
  const n = aim.length;
  const ma = aim.reduce((s, v) => s + v, 0) / n, ms = seen.reduce((s, v) => s + v, 0) / n;
  let sab = 0, saa = 0;
  for (let i = 0; i < n; i++) { sab += (aim[i] - ma) * (seen[i] - ms); saa += (aim[i] - ma) ** 2; }
  const scale = saa > 0 ? sab / saa : 1;
  return { scale, offset: ms - scale * ma };
}

/**
 * Fits both axes; when a point misses by much more than the others (a hover effect taken for the pointer),
 * it is dropped and the rest fitted again, as long as three points remain.
 */
export function fitPointer(samples: PointerSample[], width: number, height: number): PointerFit {
  let use = samples;
  for (;;) {
    const fx = line(use.map((s) => s.aim.x), use.map((s) => s.seen.x / width));
    const fy = line(use.map((s) => s.aim.y), use.map((s) => s.seen.y / height));
    const miss = use.map((s) => Math.hypot((fx.scale * s.aim.x + fx.offset) * width - s.seen.x, (fy.scale * s.aim.y + fy.offset) * height - s.seen.y));
    const worst = miss.indexOf(Math.max(...miss));
    const others = miss.filter((_, i) => i !== worst);
    const typical = others.length ? Math.max(...others) : 0;
    if (use.length > 3 && miss[worst] > 8 && miss[worst] > 4 * Math.max(1, typical)) {
      use = use.filter((_, i) => i !== worst);
      continue;
    }
    const raw = use.map((s) => Math.hypot(s.aim.x * width - s.seen.x, s.aim.y * height - s.seen.y));
    return {
      scaleX: fx.scale, offsetX: fx.offset, scaleY: fy.scale, offsetY: fy.offset,
      errorPx: Math.max(...miss), rawErrorPx: Math.max(...raw), points: use.length,
    };
  }
}

/** p-th percentile by nearest rank (p in 0..100). */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
