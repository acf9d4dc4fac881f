// A new 1080p frame, read cold on one core: every sample screen in turn (neighbours always differ, so no
// frame cache can answer), against the native `tesseract` command on the same whole frames as PNG.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Recognizer } from '../../agent/vision/recognizer.ts';
import { nativeTesseractVersion, timeNativeTesseract } from '../native-tesseract.ts';
import type { Part } from '../section.ts';
import { round, timings } from '../stats.ts';
import { HEIGHT, isRight, QUALITY, sampleFrames, WIDTH, type SampleFrame } from './frames.ts';
import { REAL_DIR, realLabels } from './real-screens.ts';

export const P95_TARGET_MS = 300;

/** Reads every frame once, timing each; `allText` asks for every line of the page too (whole-page OCR). */
async function readAll(frames: SampleFrame[], allText: boolean, ctx: { progress(m: string): void }) {
  const recognizer = await Recognizer.create({ workers: 1 });
  try {
    // Warm the worker on a picture that is none of the samples.
    const warm = realLabels()[0];
    if (warm) await recognizer.read(readFileSync(join(REAL_DIR, warm.file)), { allText: true });
    const per: { name: string; ms: number; right: boolean }[] = [];
    for (const f of frames) {
      const t0 = performance.now();
      const rec = await recognizer.read(f.jpeg, { allText });
      per.push({ name: f.name, ms: performance.now() - t0, right: isRight(rec, f.want) });
      if (per.length % 10 === 0) ctx.progress(`newFrame: ${per.length}/${frames.length} read${allText ? ' with every line' : ''}`);
    }
    return per;
  } finally {
    await recognizer.close();
  }
}

async function native(frames: SampleFrame[], ctx: { progress(m: string): void }) {
  const version = await nativeTesseractVersion();
  if (!version) return null;
  const dir = mkdtempSync(join(tmpdir(), 'autopilot-hil-bench-'));
  try {
    const ms: number[] = [];
    for (const [i, f] of frames.entries()) {
      const file = join(dir, `${f.name}.png`);
      writeFileSync(file, await sharp(f.jpeg).png({ compressionLevel: 1 }).toBuffer());
      ms.push((await timeNativeTesseract(file)).ms);
      if ((i + 1) % 10 === 0) ctx.progress(`newFrame: native tesseract ${i + 1}/${frames.length}`);
    }
    return {
      command: 'tesseract FRAME.png -',
      version,
      // tesseract runs OpenMP threads on every core unless OMP_THREAD_LIMIT says otherwise.
      ompThreadLimit: process.env.OMP_THREAD_LIMIT ?? null,
      ms: timings(ms),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const newFrame: Part = {
  name: 'newFrame',
  async run(ctx) {
    let frames = await sampleFrames();
    if (ctx.quick) frames = frames.slice(0, 12);
    ctx.progress(`newFrame: reading ${frames.length} frames of ${WIDTH}x${HEIGHT} on one OCR worker`);
    const per = await readAll(frames, false, ctx);
    const ours = timings(per.map((p) => p.ms));
    const perAll = await readAll(frames, true, ctx);
    const allText = timings(perAll.map((p) => p.ms));
    const nat = await native(frames, ctx);
    const right = per.filter((p) => p.right).length;
    ctx.progress(`newFrame: p50 ${ours.p50} ms, p95 ${ours.p95} ms${nat ? `; native p50 ${nat.ms.p50} ms, p95 ${nat.ms.p95} ms` : ''}`);
    return {
      frame: `${WIDTH}x${HEIGHT} JPEG q${QUALITY}`,
      workers: 1,
      ms: ours,
      right: `${right}/${per.length}`,
      slowest: [...per].sort((a, b) => b.ms - a.ms).slice(0, 3).map((p) => ({ sample: p.name, ms: round(p.ms) })),
      withAllText: {
        what: 'read(frame, { allText: true }): the screen and every line of the page (whole-page OCR), as to find a button',
        ms: allText,
        right: `${perAll.filter((p) => p.right).length}/${perAll.length}`,
      },
      native: nat ?? 'tesseract is not on PATH',
      ratioToNative: nat ? { p50: round(ours.p50 / nat.ms.p50, 2), p95: round(ours.p95 / nat.ms.p95, 2) } : null,
      allTextRatioToNative: nat ? { p50: round(allText.p50 / nat.ms.p50, 2), p95: round(allText.p95 / nat.ms.p95, 2) } : null,
      targets: {
        p95Under300ms: ours.p95 < P95_TARGET_MS,
        p95UnderHalfNative: nat ? ours.p95 < nat.ms.p95 / 2 : null,
      },
    };
  },
};
