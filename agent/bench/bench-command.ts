// `autopilot-hil bench run BENCH.yaml [--stations a,b] [--out DIR | --resume DIR]` and `bench status BENCH.yaml [--json]
// [--set NAME=STATE]`. Both return the exit code: run 0 when every station that ran passed, else the worst
// category's (1 product or flow, 2 infrastructure); status 0; bad usage or a bad bench file 64.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LogLevel } from '../engine/progress.ts';
import { UsageError } from '../engine/errors.ts';
import { loadBench, selectStations } from './bench-file.ts';
import { runBench } from './bench-run.ts';
import { HEALTH_STATES, HealthStore, type HealthState, type StationHealth } from './health.ts';

export interface BenchRunCommandOptions {
  stations?: string;
  out?: string;
  /** A bench run folder whose bench process stopped before its end: go on with it. */
  resume?: string;
  logLevel: LogLevel;
}

function defaultOutDir(): string {
  return join('runs', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}`);
}

export async function benchRunCommand(file: string, o: BenchRunCommandOptions): Promise<number> {
  const bench = loadBench(file);
  let stations = selectStations(bench, o.stations);
  if (o.resume !== undefined) {
    checkResumable(o);
    // The stations the stopped bench ran (those with a folder), unless --stations names them.
    if (o.stations === undefined) {
      const dir = resolve(o.resume);
      stations = stations.filter((s) => existsSync(join(dir, s.name)));
      if (stations.length === 0) throw new UsageError(`--resume ${o.resume}: no station of ${bench.file} has a folder there (stations: ${bench.stations.map((s) => s.name).join(', ')})`);
    }
  }
  const outDir = resolve(o.resume ?? o.out ?? defaultOutDir());
  const { summary, files, exitCode } = await runBench(bench, stations, { outDir, logLevel: o.logLevel, resume: o.resume !== undefined });
  const width = Math.max(...summary.stations.map((s) => s.name.length));
  for (const s of summary.stations) {
    const kept = s.resume === 'kept' ? ' (finished before, kept)' : s.resume === 'resumed' ? ' (resumed)' : '';
    process.stdout.write(`${s.name.padEnd(width)}  ${s.result}${kept}${s.message ? `: ${s.message}` : ''}\n`);
  }
  process.stdout.write(`summary: ${files.json}\n`);
  return exitCode;
}

/** --resume takes a bench run folder (whether it finished, its stations' journals tell); it is its own --out. */
function checkResumable(o: BenchRunCommandOptions): void {
  if (o.out !== undefined) throw new UsageError('--resume goes on in the bench run folder it names: leave out --out');
  const dir = resolve(o.resume!);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--resume ${o.resume}: no such folder`);
  if (!existsSync(join(dir, 'bench.log'))) throw new UsageError(`--resume ${o.resume}: not a bench run folder (no bench.log: the --out of a bench run)`);
}

export interface BenchStatusCommandOptions {
  json?: boolean;
  /** NAME=STATE pairs set by hand (maintenance, good, bad), optionally NAME=maintenance:REASON. */
  set?: string[];
}

export async function benchStatusCommand(file: string, o: BenchStatusCommandOptions): Promise<number> {
  const bench = loadBench(file);
  const store = new HealthStore(bench.healthDir);
  for (const pair of o.set ?? []) {
    const m = /^([^=]+)=([a-z]+)(?::(.*))?$/.exec(pair);
    if (!m) throw new UsageError(`--set '${pair}': expected NAME=STATE, e.g. b=maintenance or b=maintenance:"grabber replaced"`);
    const [, name, state, reason] = m;
    if (!bench.stations.some((s) => s.name === name)) throw new UsageError(`--set '${pair}': no station "${name}" in ${bench.file} (stations: ${bench.stations.map((s) => s.name).join(', ')})`);
    if (!HEALTH_STATES.includes(state as HealthState)) throw new UsageError(`--set '${pair}': state must be one of ${HEALTH_STATES.join(', ')}`);
    store.setByHand(name, state as HealthState, reason);
  }
  const all = store.read().stations;
  const rows = bench.stations.map((s) => ({ name: s.name, kind: s.virtual ? `virtual:${s.virtual}` : `${s.hid} + ${s.capture}`, ...(all[s.name] ?? { state: 'unknown' as const }) }));
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ bench: bench.name, file: bench.file, health: store.file, stations: rows }, null, 2)}\n`);
    return 0;
  }
  const w = Math.max(7, ...rows.map((r) => r.name.length));
  process.stdout.write(`${'station'.padEnd(w)}  ${'health'.padEnd(11)}  ${'last run'.padEnd(36)}  why\n`);
  for (const r of rows) {
    const h = r as Partial<StationHealth> & { state: string };
    const last = h.lastRun ? `${h.lastRun.result} ${h.lastRun.at.slice(0, 19).replace('T', ' ')}` : '-';
    const why = h.state === 'bad' || h.state === 'maintenance' ? (h.reason ?? (h.setBy === 'hand' ? 'set by hand' : '')) : '';
    process.stdout.write(`${r.name.padEnd(w)}  ${h.state.padEnd(11)}  ${last.padEnd(36)}  ${why}\n`);
  }
  process.stdout.write(`health file: ${store.file}\n`);
  return 0;
}
