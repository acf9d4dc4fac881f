// `autopilot-hil classify IMAGE... [--json]`: which screen each image shows, one line per image.
import { readFile } from 'node:fs/promises';
import { Recognizer } from './recognizer.ts';
import type { Recognition } from './types.ts';

export interface ClassifyOptions { json: boolean }

/** What one image came out as, in the JSON line's shape. */
export function classifyLine(file: string, rec: Recognition): Record<string, unknown> {
  return {
    file, screen: rec.screen, os: rec.os, confidence: rec.confidence, fields: rec.fields, ms: rec.ms,
    ...(rec.screen === 'unknown' && rec.candidates ? { candidates: rec.candidates } : {}),
  };
}

function humanLine(file: string, rec: Recognition): string {
  const fields = Object.entries(rec.fields)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v)}`).join(' ');
  const cands = rec.screen === 'unknown' && rec.candidates?.length
    ? ` (closest: ${rec.candidates.map((c) => `${c.screen}/${c.os ?? '?'} ${c.score}`).join(', ')})` : '';
  return `${file}: ${rec.screen}${rec.os ? ` ${rec.os}` : ''} ${rec.confidence}${cands}${fields ? ` ${fields}` : ''} (${rec.ms} ms)`;
}

/**
 * Classifies every file and prints one line each (JSON with --json). A file that is missing or not an image
 * gets an error line naming it; the others are still classified, and the exit code is then 64.
 */
export async function classifyFiles(files: string[], opts: ClassifyOptions): Promise<number> {
  if (files.length === 0) {
    process.stderr.write('classify: no image files given\n');
    return 64;
  }
  let bad = 0;
  const recognizer = await Recognizer.create();
  try {
    for (const file of files) {
      let image: Buffer;
      try {
        image = await readFile(file);
      } catch (e) {
        bad++;
        const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read file: ${(e as Error).message}`;
        printError(file, why, opts.json);
        continue;
      }
      let rec: Recognition;
      try {
        rec = await recognizer.read(image);
      } catch (e) {
        bad++;
        printError(file, `not a readable image: ${(e as Error).message}`, opts.json);
        continue;
      }
      process.stdout.write(`${opts.json ? JSON.stringify(classifyLine(file, rec)) : humanLine(file, rec)}\n`);
    }
  } finally {
    await recognizer.close();
  }
  return bad > 0 ? 64 : 0;
}

function printError(file: string, why: string, json: boolean): void {
  if (json) process.stdout.write(`${JSON.stringify({ file, error: why })}\n`);
  process.stderr.write(`classify: ${file}: ${why}\n`);
}
