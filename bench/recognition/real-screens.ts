// Accuracy on real Windows 11 screenshots (test/fixtures/real, labelled in labels.tsv): all must be right.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Recognizer } from '../../agent/vision/recognizer.ts';
import type { Part } from '../section.ts';
import { round, timings } from '../stats.ts';
import { isRight } from './frames.ts';

export const REAL_DIR = fileURLToPath(new URL('../../test/fixtures/real/', import.meta.url));

export function realLabels(): { file: string; screen: string; os: string | null }[] {
  const path = join(REAL_DIR, 'labels.tsv');
  return readFileSync(path, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((line, i) => {
    const [file, screen, os] = line.split('\t');
    if (!file || !screen) throw new Error(`${path}: line ${i + 1} needs "file<TAB>screen<TAB>os", got "${line}"`);
    return { file, screen, os: os && os !== '-' ? os : null };
  });
}

export const realScreens: Part = {
  name: 'realScreens',
  async run(ctx) {
    const labels = realLabels();
    const recognizer = await Recognizer.create({ workers: 1 });
    const ms: number[] = [];
    const misses: { file: string; want: string; got: string }[] = [];
    try {
      for (const { file, screen, os } of labels) {
        const image = readFileSync(join(REAL_DIR, file));
        const t0 = performance.now();
        const rec = await recognizer.read(image);
        ms.push(performance.now() - t0);
        if (!isRight(rec, { screen, os })) misses.push({ file, want: `${screen}/${os}`, got: `${rec.screen}/${rec.os}` });
      }
    } finally {
      await recognizer.close();
    }
    const right = labels.length - misses.length;
    ctx.progress(`realScreens: ${right}/${labels.length} right`);
    return {
      frames: labels.length,
      right,
      accuracy: round((100 * right) / labels.length, 2),
      ms: timings(ms),
      misses,
      targets: { all: misses.length === 0 },
    };
  },
};
