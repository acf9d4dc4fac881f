// Small statistics for timing lists.

/** The nearest-rank percentile (p in 0..100) of the values; NaN for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

/** Rounded to `digits` decimals (one by default): JSON figures a reader can take in. */
export function round(n: number, digits = 1): number {
  const k = 10 ** digits;
  return Math.round(n * k) / k;
}

/** p50, p95 and max in ms (two decimals: an unchanged frame takes well under one), with the count. */
export function timings(ms: number[]): { n: number; p50: number; p95: number; max: number } {
  return { n: ms.length, p50: round(percentile(ms, 50), 2), p95: round(percentile(ms, 95), 2), max: round(ms.length ? Math.max(...ms) : Number.NaN, 2) };
}

export const mb = (bytes: number): number => round(bytes / (1024 * 1024));
