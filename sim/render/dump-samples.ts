// Writes every sample screen as a PNG for review:
//   npx tsx sim/render/dump-samples.ts OUTDIR [WIDTHxHEIGHT]
// Prints one line per file with its render time.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderPng } from './paint.ts';
import { sampleViews } from './samples.ts';

async function main(argv: string[]): Promise<number> {
  const [outDir, size = '1920x1080'] = argv;
  const m = /^(\d+)x(\d+)$/.exec(size);
  if (!outDir || !m) {
    process.stderr.write('usage: dump-samples.ts OUTDIR [WIDTHxHEIGHT]   (size defaults to 1920x1080)\n');
    return 64;
  }
  const width = Number(m[1]), height = Number(m[2]);
  mkdirSync(outDir, { recursive: true });
  for (const { name, view } of sampleViews()) {
    const t0 = performance.now();
    const { png } = await renderPng(view, { width, height });
    const file = join(outDir, `${name}.png`);
    writeFileSync(file, png);
    process.stdout.write(`${file}\t${(performance.now() - t0).toFixed(0)} ms\n`);
  }
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => {
  process.stderr.write(`dump-samples: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
});
