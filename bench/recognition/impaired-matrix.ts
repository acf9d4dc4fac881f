// Accuracy over the impaired matrix: every sample screen through every grabber impairment of
// sim/impaired-matrix.ts (the pointer cases with the arrow over that screen's title), screen and OS both right.
import { availableParallelism } from 'node:os';
import { Recognizer } from '../../agent/vision/recognizer.ts';
import { impairFrame } from '../../sim/impair.ts';
import { impairedMatrix as matrixOf, titleCursor, type ImpairedCase } from '../../sim/impaired-matrix.ts';
import type { Part } from '../section.ts';
import { round, timings } from '../stats.ts';
import { isRight, sampleFrames, type SampleFrame } from './frames.ts';

export const ACCURACY_TARGET = 99;

interface Item { sample: SampleFrame; kase: ImpairedCase }

export const impairedMatrix: Part = {
  name: 'impairedMatrix',
  async run(ctx) {
    let samples = await sampleFrames();
    let cases = matrixOf().map((c) => c.name);
    if (ctx.quick) { samples = samples.slice(0, 12); cases = cases.slice(0, 4); }
    const perSample = new Map(samples.map((s) => [s.name, matrixOf(titleCursor(s.view))]));
    // Impairment by impairment, samples in cold order: no reader sees a near-copy of the frame it read last.
    const items: Item[] = [];
    for (const name of cases) {
      for (const sample of samples) items.push({ sample, kase: perSample.get(sample.name)!.find((c) => c.name === name)! });
    }

    const workers = availableParallelism();
    const readers = await Promise.all(Array.from({ length: workers }, () => Recognizer.create({ workers })));
    const misses: { sample: string; impairment: string; got: string; confidence: number }[] = [];
    const byCase = new Map<string, { right: number; total: number }>(cases.map((c) => [c, { right: 0, total: 0 }]));
    const ms: number[] = [];
    const reads: { sample: string; impairment: string; ms: number }[] = [];
    let next = 0, done = 0;
    const t0 = performance.now();
    try {
      await Promise.all(readers.map(async (reader) => {
        while (next < items.length) {
          const { sample, kase } = items[next++];
          const frame = await impairFrame(sample.jpeg, kase.imp);
          const r0 = performance.now();
          const rec = await reader.read(frame);
          ms.push(performance.now() - r0);
          reads.push({ sample: sample.name, impairment: kase.name, ms: round(ms.at(-1)!) });
          const tally = byCase.get(kase.name)!;
          tally.total++;
          if (isRight(rec, sample.want)) tally.right++;
          else misses.push({ sample: sample.name, impairment: kase.name, got: `${rec.screen}/${rec.os}`, confidence: round(rec.confidence, 2) });
          if (++done % 50 === 0) ctx.progress(`impairedMatrix: ${done}/${items.length} frames, ${misses.length} missed`);
        }
      }));
    } finally {
      await Promise.all(readers.map((r) => r.close()));
    }
    const right = items.length - misses.length;
    const accuracy = round((100 * right) / items.length, 2);
    ctx.progress(`impairedMatrix: ${right}/${items.length} right (${accuracy}%)`);
    return {
      samples: samples.length,
      impairments: cases.length,
      frames: items.length,
      right,
      accuracy,
      byImpairment: Object.fromEntries([...byCase].map(([name, t]) => [name, `${t.right}/${t.total}`])),
      misses,
      readMs: timings(ms),
      slowestReads: reads.sort((a, b) => b.ms - a.ms).slice(0, 5),
      wallSeconds: round((performance.now() - t0) / 1000),
      targets: { accuracyAtLeast99: accuracy >= ACCURACY_TARGET },
    };
  },
};
