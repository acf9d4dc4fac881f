// The run's journal: irreversible actions (Provision, Retry, Reseal, Reset) are taken at most once per run,
// even across a restart of the agent (`run --resume DIR`), and what the run has seen so far survives it.
//
// On disk it is journal.jsonl in the run folder: one JSON entry per line, appended and fsynced. A log rather
// than a state file replaced atomically, because (1) an intent must be durable BEFORE its key is pressed, and
// an append + fsync of one short line is the cheapest durable write there is, while a state file would rewrite
// every step and ESP sample each time; (2) a crash can only tear the last line, and a torn line is one whose
// fsync never returned, so what it announced was never performed: reading drops it and loses nothing.
// The Wi-Fi key and other secrets are never written: on resume they come from the environment again.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceSeen, EspSample, Result, Step } from '../report/report.ts';
import type { OsId } from '../vision/types.ts';
import type { SimEndpoints } from './builtin-device.ts';
import type { RunContext, RunOptions } from './context.ts';
import { UsageError } from './errors.ts';

export interface Journal {
  /**
   * Takes the irreversible action `key` (e.g. "provision#1", "retry#1", "reseal") unless this run already took
   * (or began to take) it, in this life of the agent or an earlier one. Returns true when `perform` ran now,
   * false when it was skipped because it had been taken before: the caller must then not take it again and
   * only watch the screen move on.
   */
  once(key: string, perform: () => Promise<void>): Promise<boolean>;
  /** Whether `key` was taken (or begun) before. */
  has(key: string): boolean;
}

/** The journal as the runner drives it: the actions see only `Journal`. */
export interface RunJournal extends Journal {
  /** What an earlier life of the agent left, when this run was resumed; null for a fresh run. */
  readonly restored: RestoredRun | null;
  /**
   * Records what changed in the run since the last call. Called between actions (never in the middle of one),
   * so a resumed run starts from a consistent point; counters are restored as they were there.
   */
  checkpoint(ctx: RunContext): void;
  /** The run is over: its report is written, it cannot be resumed. */
  end(result: Result): void;
  close(): void;
}

export const JOURNAL_FILE = 'journal.jsonl';
const VERSION = 1;

/** How to reach the station again. For the built-in virtual device: its endpoints (it is its own process). */
export interface StationSpec {
  hid: string;
  capture: string;
  builtin?: { scenario: string; endpoints: SimEndpoints; pid?: number };
  /** The station's calibration profile (a file), when the run was given one. */
  calibration?: string;
  /** The device's power (a drivers/power spec), when the run was given one. */
  power?: string;
}

/** RunOptions as journaled: the Wi-Fi network by name only, never its key. */
export type JournaledOptions = Omit<RunOptions, 'wifi'> & { wifi?: { ssid: string } };

interface AgentLife { pid: number; bootId: string | null; at: string }

type Entry =
  | { kind: 'start'; version: number; startedAt: string; options: JournaledOptions; station: StationSpec; agent: AgentLife }
  | { kind: 'resume'; agent: AgentLife }
  | { kind: 'step'; index: number; step: Step }
  | { kind: 'esp'; sample: EspSample }
  | { kind: 'device'; device: DeviceSeen }
  | { kind: 'counters'; os: OsId | null; counters: Record<string, number> }
  | { kind: 'intent'; key: string; at: string }
  | { kind: 'done'; key: string; at: string; failed?: string }
  | { kind: 'end'; result: Result; at: string };

export interface TakenAction {
  key: string;
  at: string;
  /** False when the agent stopped between writing the intent and finishing the action: counted as taken. */
  done: boolean;
  failed?: string;
}

export interface RestoredRun {
  file: string;
  startedAt: string;
  options: JournaledOptions;
  station: StationSpec;
  steps: Step[];
  esp: EspSample[];
  device: DeviceSeen | null;
  os: OsId | null;
  counters: Record<string, number>;
  taken: TakenAction[];
  /** Every start of the agent on this run, the first one included. */
  lives: AgentLife[];
}

/** This boot of the host (Linux): a pid means the same process only within one boot. */
export function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

function thisLife(): AgentLife {
  return { pid: process.pid, bootId: bootId(), at: new Date().toISOString() };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Without the Wi-Fi key: the only place options are journaled goes through here. */
export function journaledOptions(options: RunOptions): JournaledOptions {
  const { wifi, ...rest } = options;
  return { ...rest, ...(wifi ? { wifi: { ssid: wifi.ssid } } : {}) };
}

/** Numbers of the run context (attempts, retriesUsed, windowsKeyRounds, ...): whatever counters the actions keep. */
function countersOf(ctx: RunContext): Record<string, number> {
  return Object.fromEntries(Object.entries(ctx).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
}

/** Reads a run's journal, or says in a UsageError (exit 64) what is wrong with it, naming the file and line. */
export function readJournal(dir: string): RestoredRun {
  const file = join(dir, JOURNAL_FILE);
  if (!existsSync(file)) throw new UsageError(`${file}: no journal: ${dir} is not the folder of a run that can be resumed (the --out of a run)`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${file}: cannot be read: ${(err as Error).message}`);
  }
  const lines = text.split('\n');
  // After the last newline: '' when the file is whole, or a torn write whose fsync never returned, so nothing
  // it announced happened. Either way it is dropped.
  lines.pop();
  const run: Partial<RestoredRun> & { steps: Step[]; esp: EspSample[]; taken: TakenAction[]; lives: AgentLife[] } = {
    file, steps: [], esp: [], taken: [], lives: [], device: null, os: null, counters: {},
  };
  lines.forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    let e: Entry;
    try {
      e = JSON.parse(line) as Entry;
    } catch {
      throw new UsageError(`${where}: not valid JSON: the journal is damaged`);
    }
    if (typeof e !== 'object' || e === null || typeof e.kind !== 'string') throw new UsageError(`${where}: field 'kind' missing`);
    if (i === 0 && e.kind !== 'start') throw new UsageError(`${where}: not the start of a run journal (kind '${e.kind}')`);
    switch (e.kind) {
      case 'start':
        if (i !== 0) throw new UsageError(`${where}: a second start entry`);
        if (e.version !== VERSION) throw new UsageError(`${where}: field 'version': ${e.version}, this agent reads version ${VERSION}`);
        if (!e.options || !e.station || typeof e.station.hid !== 'string' || typeof e.station.capture !== 'string') {
          throw new UsageError(`${where}: field 'station' or 'options' missing`);
        }
        run.startedAt = e.startedAt;
        run.options = e.options;
        run.station = e.station;
        run.lives.push(e.agent);
        break;
      case 'resume': run.lives.push(e.agent); break;
      case 'step':
        if (!Number.isInteger(e.index) || e.index < 0 || e.index > run.steps.length) throw new UsageError(`${where}: field 'index': ${e.index} out of order`);
        run.steps[e.index] = e.step;
        break;
      case 'esp': run.esp.push(e.sample); break;
      case 'device': run.device = e.device; break;
      case 'counters': run.os = e.os; run.counters = e.counters; break;
      case 'intent': run.taken.push({ key: e.key, at: e.at, done: false }); break;
      case 'done': {
        const t = run.taken.find((a) => a.key === e.key);
        if (!t) throw new UsageError(`${where}: field 'key': '${e.key}' done but never begun`);
        t.done = true;
        if (e.failed) t.failed = e.failed;
        break;
      }
      case 'end':
        throw new UsageError(`${where}: the run already finished (${e.result}, ${e.at}); its report is ${join(dir, 'report.json')}: nothing to resume`);
      default:
        throw new UsageError(`${where}: field 'kind': unknown entry '${(e as { kind: string }).kind}'`);
    }
  });
  if (!run.options) throw new UsageError(`${file}: empty: the run stopped before it began`);
  const last = run.lives[run.lives.length - 1];
  if (last && last.pid !== process.pid && last.bootId !== null && last.bootId === bootId() && alive(last.pid)) {
    throw new UsageError(`${file}: the run's agent (pid ${last.pid}) is still running: stop it first`);
  }
  return run as RestoredRun;
}

export class FileJournal implements RunJournal {
  private readonly fd: number;
  private readonly taken = new Set<string>();
  private readonly wroteSteps: string[] = [];
  private wroteEsp = 0;
  private wroteDevice = '';
  private wroteCounters = '';

  private constructor(readonly file: string, readonly restored: RestoredRun | null, first: Entry) {
    this.fd = openSync(file, restored ? 'a' : 'w');
    if (restored) {
      for (const a of restored.taken) this.taken.add(a.key);
      restored.steps.forEach((s) => this.wroteSteps.push(JSON.stringify(s)));
      this.wroteEsp = restored.esp.length;
      if (restored.device) this.wroteDevice = JSON.stringify(restored.device);
    }
    this.append([first]);
    if (!restored) syncDir(file);
  }

  /** A fresh run. Refuses a folder that holds a run not finished yet (it may still be resumed). */
  static start(dir: string, options: RunOptions, station: StationSpec, startedAt: Date): FileJournal {
    const file = refuseUnfinished(dir);
    return new FileJournal(file, null, {
      kind: 'start', version: VERSION, startedAt: startedAt.toISOString(), options: journaledOptions(options), station, agent: thisLife(),
    });
  }

  /** The same run again, after the agent died: everything it had journaled, and its taken actions kept taken. */
  static resume(restored: RestoredRun): FileJournal {
    return new FileJournal(restored.file, restored, { kind: 'resume', agent: thisLife() });
  }

  /** One write and one fsync for all entries of a change; returns only when they are on disk. */
  private append(entries: Entry[]): void {
    if (entries.length === 0) return;
    writeSync(this.fd, entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
    fsyncSync(this.fd);
  }

  async once(key: string, perform: () => Promise<void>): Promise<boolean> {
    if (this.taken.has(key)) return false;
    // Durable before the press: a crash from here on counts the action as taken, so it is never taken twice.
    this.taken.add(key);
    this.append([{ kind: 'intent', key, at: new Date().toISOString() }]);
    try {
      await perform();
    } catch (err) {
      this.append([{ kind: 'done', key, at: new Date().toISOString(), failed: (err as Error).message }]);
      throw err;
    }
    this.append([{ kind: 'done', key, at: new Date().toISOString() }]);
    return true;
  }

  has(key: string): boolean {
    return this.taken.has(key);
  }

  checkpoint(ctx: RunContext): void {
    const entries: Entry[] = [];
    ctx.steps.forEach((step, index) => {
      const json = JSON.stringify(step);
      if (this.wroteSteps[index] !== json) {
        entries.push({ kind: 'step', index, step });
        this.wroteSteps[index] = json;
      }
    });
    for (; this.wroteEsp < ctx.esp.length; this.wroteEsp++) entries.push({ kind: 'esp', sample: ctx.esp[this.wroteEsp] });
    const device = JSON.stringify(ctx.device);
    if (device !== this.wroteDevice) {
      entries.push({ kind: 'device', device: ctx.device });
      this.wroteDevice = device;
    }
    const counters = { kind: 'counters' as const, os: ctx.os, counters: countersOf(ctx) };
    const json = JSON.stringify(counters);
    if (json !== this.wroteCounters) {
      entries.push(counters);
      this.wroteCounters = json;
    }
    this.append(entries);
  }

  end(result: Result): void {
    this.append([{ kind: 'end', result, at: new Date().toISOString() }]);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** A new run must not overwrite one that can still be resumed. Returns the journal's path. */
export function refuseUnfinished(dir: string): string {
  const file = join(dir, JOURNAL_FILE);
  if (existsSync(file) && !endsFinished(file)) {
    throw new UsageError(`${file}: ${dir} holds a run that did not finish: go on with it (run --resume ${dir}), or give another --out`);
  }
  return file;
}

/** A run folder's journal: none, a run that finished, or one whose agent stopped before its end. */
export function journalState(dir: string): 'none' | 'finished' | 'unfinished' {
  const file = join(dir, JOURNAL_FILE);
  if (!existsSync(file)) return 'none';
  return endsFinished(file) ? 'finished' : 'unfinished';
}

/** Whether a journal's last entry is the end of its run (the end is always written last). */
function endsFinished(file: string): boolean {
  const last = readFileSync(file, 'utf8').trimEnd().split('\n').pop() ?? '';
  try {
    return (JSON.parse(last) as Entry).kind === 'end';
  } catch {
    return false;
  }
}

/** The new file's name must survive a power cut too, not only its content. */
function syncDir(file: string): void {
  try {
    const fd = openSync(join(file, '..'), 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch {
    // Not every file system lets a directory be fsynced; the entries themselves are.
  }
}

/** For runs that need no resume (a library caller, a test): at most once within this life only. */
export class MemoryJournal implements RunJournal {
  private readonly taken = new Set<string>();
  readonly restored = null;

  async once(key: string, perform: () => Promise<void>): Promise<boolean> {
    if (this.taken.has(key)) return false;
    this.taken.add(key);
    await perform();
    return true;
  }

  has(key: string): boolean {
    return this.taken.has(key);
  }

  checkpoint(): void {}
  end(): void {}
  close(): void {}
}
