// `npm run bench`: one fast part runs end to end and prints one JSON document (machine, figures, targets),
// the same document lands in the --out file, and a section that does not exist is refused by name.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'bin', 'bench.js');
const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run bench', () => {
  it('runs one part and prints the figures as one JSON document, written to --out too', async () => {
    const out = join(dir, 'result.json');
    const { stdout, stderr } = await run(process.execPath, ['--expose-gc', BIN, 'recognition.realScreens', '--out', out]);
    const doc = JSON.parse(stdout);
    expect(doc.machine).toMatchObject({ cores: expect.any(Number), node: process.version, gcExposed: true });
    expect(typeof doc.machine.cpu).toBe('string');
    expect(Object.keys(doc.sections)).toEqual(['recognition']);
    expect(Object.keys(doc.sections.recognition)).toEqual(['realScreens']);
    expect(doc.sections.recognition.realScreens).toMatchObject({ frames: 6, right: 6, accuracy: 100, misses: [] });
    expect(doc.targets).toEqual({ 'recognition.realScreens.all': true });
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(doc);
    expect(stderr).toContain('realScreens: 6/6 right');
  });

  it('refuses a section it does not have, naming it, with exit code 64', async () => {
    const err = await run(process.execPath, [BIN, 'recognition.nosuchpart']).then(() => null, (e: { code: number; stdout: string; stderr: string }) => e);
    expect(err?.code).toBe(64);
    expect(err!.stdout).toBe('');
    expect(err!.stderr).toContain('section "recognition" has no part "nosuchpart"');
  });
});
