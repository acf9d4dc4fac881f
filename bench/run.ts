// `npm run bench [-- SECTION[.PART]...] [--quick] [--out FILE]`: runs the named sections (all when none is
// named) and prints one JSON document on stdout: the machine, each section's figures, and every target with
// whether it was met. Progress goes to stderr. The document is also written to bench/results/latest.json.
// Exit codes: 0 the bench ran (targets met or not: see `targets`), 2 a part failed to run, 64 bad usage.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machineInfo } from './machine.ts';
import type { PartResult, Section, SectionContext } from './section.ts';
import { round } from './stats.ts';

/** Sections by name, loaded only when they run. */
const SECTIONS: Record<string, () => Promise<Section>> = {
  recognition: async () => (await import('./recognition.ts')).recognition,
  'hid-link': async () => (await import('./hid-link.ts')).hidLink,
  bench: async () => (await import('./stations.ts')).stations,
};

const DEFAULT_OUT = fileURLToPath(new URL('./results/latest.json', import.meta.url));

const USAGE = `usage: npm run bench -- [SECTION[.PART]...] [--quick] [--out FILE] [--list]
  SECTION        one of: ${Object.keys(SECTIONS).join(', ')} (default: all)
  SECTION.PART   one part of a section, e.g. recognition.newFrame
  --quick        smaller counts, shorter runs: checks the bench works; figures only indicative
  --out FILE     where the JSON document is written too (default bench/results/latest.json)
  --list         print the sections and their parts`;

class UsageError extends Error {}

function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** Which parts of which sections to run, in the registry's order. */
async function selection(names: string[]): Promise<Map<string, { section: Section; parts: string[] }>> {
  const wanted = new Map<string, Set<string>>();
  for (const name of names.length ? names : Object.keys(SECTIONS)) {
    const [sectionName, partName, ...rest] = name.split('.');
    if (!SECTIONS[sectionName] || rest.length) throw new UsageError(`bench: unknown section "${name}" (sections: ${Object.keys(SECTIONS).join(', ')})`);
    const parts = wanted.get(sectionName) ?? new Set<string>();
    if (partName) parts.add(partName);
    else parts.add('*');
    wanted.set(sectionName, parts);
  }
  const out = new Map<string, { section: Section; parts: string[] }>();
  for (const name of Object.keys(SECTIONS)) {
    const asked = wanted.get(name);
    if (!asked) continue;
    const section = await SECTIONS[name]();
    const known = section.parts.map((p) => p.name);
    for (const p of asked) {
      if (p !== '*' && !known.includes(p)) throw new UsageError(`bench: section "${name}" has no part "${p}" (parts: ${known.join(', ')})`);
    }
    out.set(name, { section, parts: asked.has('*') ? known : known.filter((p) => asked.has(p)) });
  }
  return out;
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({ args: argv, allowPositionals: true, options: {
      quick: { type: 'boolean', default: false }, out: { type: 'string' }, list: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false },
    } });
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n${USAGE}\n`);
    return 64;
  }
  if (args.values.help) { process.stdout.write(`${USAGE}\n`); return 0; }
  let chosen;
  try {
    chosen = await selection(args.positionals);
  } catch (e) {
    if (e instanceof UsageError) { process.stderr.write(`${e.message}\n${USAGE}\n`); return 64; }
    throw e;
  }
  if (args.values.list) {
    for (const [name, { section }] of chosen) process.stdout.write(`${name}: ${section.parts.map((p) => p.name).join(', ')}\n`);
    return 0;
  }

  const quick = args.values.quick ?? false;
  const startedAt = new Date();
  const t0 = performance.now();
  const machine = await machineInfo();
  progress(`${machine.cpu}, ${machine.cores} cores, node ${machine.node}, ${machine.tesseract ?? 'no native tesseract'}${quick ? ' (quick)' : ''}`);
  const sections: Record<string, Record<string, PartResult | { error: string }>> = {};
  const targets: Record<string, boolean | null> = {};
  let failed = false;
  for (const [name, { section, parts }] of chosen) {
    const results: Record<string, PartResult | { error: string }> = {};
    sections[name] = results;
    const ctx: SectionContext = { parts, quick, progress };
    for (const part of section.parts.filter((p) => parts.includes(p.name))) {
      progress(`${name}.${part.name}: start`);
      const p0 = performance.now();
      try {
        const result = await part.run(ctx);
        results[part.name] = { ...result, partSeconds: round((performance.now() - p0) / 1000) };
        for (const [t, met] of Object.entries(result.targets ?? {})) targets[`${name}.${part.name}.${t}`] = met;
      } catch (e) {
        failed = true;
        const message = e instanceof Error ? e.message : String(e);
        results[part.name] = { error: message };
        progress(`${name}.${part.name}: FAILED: ${message}`);
      }
    }
  }
  const measured = Object.values(targets).filter((v): v is boolean => v !== null);
  const doc = {
    bench: 'autopilot-hil',
    version: (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version,
    startedAt: startedAt.toISOString(),
    durationSeconds: round((performance.now() - t0) / 1000),
    quick,
    machine,
    sections,
    targets,
    allTargetsMet: measured.length > 0 && measured.every(Boolean),
  };
  const text = `${JSON.stringify(doc, null, 2)}\n`;
  const out = args.values.out ?? DEFAULT_OUT;
  try {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, text);
  } catch (e) {
    progress(`could not write ${out}: ${(e as Error).message}`);
    failed = true;
  }
  process.stdout.write(text);
  progress(`done in ${doc.durationSeconds} s; written to ${out}`);
  return failed ? 2 : 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exitCode = 2;
});
