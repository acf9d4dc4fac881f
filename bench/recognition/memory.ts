// The process's memory over a long run of one Recognizer: 10,000 frames of a device going through setup (a new
// screen every 25 frames, cycling over the samples, so OCR runs hundreds of times and workers get recycled; the
// same picture in between, every other screen once re-encoded), with the stream's OCR cache off so that a
// screen coming round again is read again. Measured after 100 frames and at the end.
import { Recognizer } from '../../agent/vision/recognizer.ts';
import type { Part } from '../section.ts';
import { mb, round } from '../stats.ts';
import { reencoded, sampleFrames, withNoise } from './frames.ts';

export const GROWTH_TARGET_MB = 50;
const FRAMES_PER_SCREEN = 25;
const NEAR_AT = 12;
const BASELINE_AT = 100;

function collect(): void {
  const gc = globalThis.gc;
  if (typeof gc === 'function') { gc(); gc(); }
}

function snapshot(frames: number) {
  collect();
  const m = process.memoryUsage();
  return { frames, rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), externalMB: mb(m.external), arrayBuffersMB: mb(m.arrayBuffers) };
}

export const memory: Part = {
  name: 'memory',
  async run(ctx) {
    const total = ctx.quick ? 1_000 : 10_000;
    const samples = await sampleFrames();
    // Every variant made up front, so the frames' own bytes are allocated before the baseline.
    const near = await Promise.all(samples.map((s, i) => (i % 2 ? reencoded(s, 85) : withNoise(s, 1))));
    // No OCR cache: the samples come round again and again, and every new screen must cost OCR here.
    const recognizer = await Recognizer.create({ workers: 1, ocrCacheEntries: 0 });
    const trace: ReturnType<typeof snapshot>[] = [];
    let baseline: ReturnType<typeof snapshot> | null = null;
    let newScreens = 0;
    const t0 = performance.now();
    try {
      for (let k = 0; k < total; k++) {
        const screenNo = Math.floor(k / FRAMES_PER_SCREEN);
        const i = screenNo % samples.length;
        const j = k % FRAMES_PER_SCREEN;
        if (j === 0) newScreens++;
        // A fresh Buffer per frame, as a grabber hands them over.
        const bytes = j === NEAR_AT && screenNo % 2 === 0 ? near[i] : samples[i].jpeg;
        await recognizer.read(Buffer.from(bytes));
        if (k + 1 === BASELINE_AT) baseline = snapshot(k + 1);
        if ((k + 1) % 1000 === 0) {
          trace.push(snapshot(k + 1));
          ctx.progress(`memory: ${k + 1}/${total} frames, rss ${trace.at(-1)!.rssMB} MB`);
        }
      }
    } finally {
      await recognizer.close();
    }
    const end = trace.at(-1) ?? snapshot(total);
    const base = baseline!;
    const growth = round(end.rssMB - base.rssMB);
    return {
      frames: total,
      newScreens,
      nearIdenticalFrames: Math.ceil(newScreens / 2),
      seconds: round((performance.now() - t0) / 1000),
      gcBeforeEachMeasure: typeof globalThis.gc === 'function',
      after100: base,
      atEnd: end,
      rssGrowthMB: growth,
      heapUsedGrowthMB: round(end.heapUsedMB - base.heapUsedMB),
      rssEvery1000: trace.map((t) => t.rssMB),
      targets: { rssGrowthUnder50MB: growth < GROWTH_TARGET_MB },
    };
  },
};
