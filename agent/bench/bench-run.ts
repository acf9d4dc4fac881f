// A bench run: every selected station at once, in this one process, sharing one OCR pool. Each station
// gets its own run folder (report.json, frames, run.log, progress.log, selftest.json), is self-tested
// first (a station that fails is marked bad and skipped), and runs in isolation: whatever goes wrong in
// one station ends that station's run (infrastructure), never another's. Ends with the bench summary.
// A bench whose process stopped (killed, host rebooted) goes on with --resume: what finished is kept, what
// did not goes on from its journal, and the summary covers the whole bench.
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Recognizer, findText } from '../vision/recognizer.ts';
import { acquireOcrPool, releaseOcrPool } from '../vision/ocr-pool.ts';
import { runFlow } from '../engine/runner.ts';
import { FileJournal, journalState, readJournal, type RestoredRun, type StationSpec } from '../engine/journal.ts';
import { Progress, type LogLevel, type ProgressStatus } from '../engine/progress.ts';
import { RunFailure, UsageError, type Category } from '../engine/errors.ts';
import type { RunOptions } from '../engine/context.ts';
import { readReport, writeReport, type Report, type Result } from '../report/report.ts';
import { reportBeforeFlow } from '../engine/resume.ts';
import { writeBenchSummary, type BenchStationSummary, type BenchSummary } from '../report/bench-summary.ts';
import { applyCalibration } from '../calibration/apply.ts';
import { loadCalibration, type Calibration } from '../calibration/profile.ts';
import type { Bench, StationConfig } from './bench-file.ts';
import { injectFaults, type InjectedFault } from './faults.ts';
import { HealthStore } from './health.ts';
import { Overview, type OverviewStream } from './overview.ts';
import { failureReason, selfTest, sharedOcrCheck } from './self-test.ts';
import { openStation, runOptionsOf, type OpenedStation } from './station.ts';

export interface BenchRunOptions {
  /** The bench run folder (one folder per station inside). */
  outDir: string;
  logLevel: LogLevel;
  /** Where the overview goes (default stderr). */
  stream?: OverviewStream;
  /** Plain (not a terminal) overview: every this many ms (default 30 s). */
  plainEveryMs?: number;
  /**
   * `outDir` is a bench run whose process stopped before its end: a station whose run finished is kept as it is,
   * one whose run did not goes on from its journal (never pressing Provision, Retry or Reseal again), one with no
   * run starts now.
   */
  resume?: boolean;
}

/** What the bench keeps of each station beyond the summary's fields. */
export interface StationOutcome extends BenchStationSummary {
  selfTest?: { ok: boolean; ms: number; checks: { name: string; ok: boolean; detail: string }[] };
  faults?: InjectedFault[];
}

export interface BenchOutcome {
  summary: BenchSummary & { stations: StationOutcome[] };
  files: { json: string; junit: string; html: string };
  exitCode: number;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };
/** Beyond the run's own limit, how long a station may go on before the bench gives up on it (a hung part). */
const DEADLINE_MARGIN_MS = 10 * 60_000;
const FLOW_RUN_S = 10_800;

/** Thrown to leave a station whose self-test failed: its parts are closed like any other's. */
class SkipStation extends Error {}

/** A station's progress: its lines to progress.log, its status to the overview, warnings above it. */
class StationProgress extends Progress {
  constructor(private readonly name: string, private readonly overview: Overview, private readonly file: string, private readonly shown: LogLevel) {
    super('debug', () => {});
  }

  override line(level: LogLevel, text: string): void {
    try { appendFileSync(this.file, `${new Date().toISOString()} ${level} ${text}\n`); } catch { /* the run folder went away: nothing to keep */ }
    if (RANK[level] >= RANK.warn && RANK[level] >= RANK[this.shown] && this.shown !== 'silent') this.overview.event(`${this.name}: ${text}`);
  }

  override status(s: ProgressStatus): void {
    this.overview.update(this.name, {
      screen: s.screen ?? null, step: s.step ?? null,
      esp: s.espPhase ? `${s.espPhase}${s.espItem ? `, ${s.espItem}` : ''}` : null,
    });
  }
}

/** Exit code of a bench: 0 when every station that ran passed, else the worst category's (2 over 1). */
export function benchExitCode(stations: BenchStationSummary[]): number {
  const cats = stations.map((s) => s.category ?? (s.result !== 'passed' && s.result !== 'skipped' ? s.result : undefined));
  if (cats.includes('infrastructure')) return 2;
  if (cats.includes('product') || cats.includes('flow')) return 1;
  return 0;
}

function calibrationOf(config: StationConfig): Calibration | null {
  if (!config.calibration) return null;
  const asFile = resolve(config.baseDir, config.calibration);
  const file = existsSync(asFile) ? asFile : resolve(config.baseDir, 'calibration', `${config.calibration}.json`);
  try {
    return loadCalibration(file);
  } catch (err) {
    throw new UsageError(`${config.file}:${config.line}: station ${config.name}: calibration '${config.calibration}': ${(err as Error).message}`);
  }
}

/** A station of a resumed bench: its run finished (its report), did not (its journal), or never began. */
type ResumePlan = { kind: 'finished'; report: Report | null } | { kind: 'unfinished'; restored: RestoredRun } | { kind: 'new' };

interface Prepared { options: RunOptions; calibration: Calibration | null; plan: ResumePlan }

/**
 * Checks what a run needs from outside the bench file before anything starts (bad usage: exit 64): calibrations,
 * Wi-Fi keys, and each station's folder: with `resume`, its journal must be readable and its agent gone;
 * without, it must not hold a run that did not finish (that is for --resume).
 */
export function preflight(stations: StationConfig[], outDir: string, resume = false): Map<string, Prepared> {
  const out = new Map<string, Prepared>();
  for (const s of stations) {
    const runDir = join(outDir, s.name);
    const state = journalState(runDir);
    if (!resume && state === 'unfinished') {
      throw new UsageError(`${runDir}: station ${s.name} holds a run that did not finish: go on with the bench (bench run ${s.file} --resume ${outDir}), or give another --out`);
    }
    const plan: ResumePlan = !resume || state === 'none' ? { kind: 'new' }
      : state === 'finished' ? { kind: 'finished', report: readReport(runDir) }
      : { kind: 'unfinished', restored: readJournal(runDir) };
    out.set(s.name, { options: runOptionsOf(s, runDir), calibration: calibrationOf(s), plan });
  }
  // A bench with a summary is finished unless a station's run in it is not (its part could not be reached last time).
  const summary = join(outDir, 'summary.json');
  if (resume && existsSync(summary) && ![...out.values()].some((p) => p.plan.kind === 'unfinished')) {
    throw new UsageError(`--resume ${outDir}: that bench run finished (${summary}), every station's run with it: nothing to resume`);
  }
  return out;
}

/** When the bench began: with --resume, the earliest start of its stations' runs. */
function benchStart(prepared: Map<string, Prepared>): Date {
  const starts = [...prepared.values()].map(({ plan }) => (plan.kind === 'finished' ? plan.report?.startedAt : plan.kind === 'unfinished' ? plan.restored.startedAt : undefined))
    .filter((t): t is string => typeof t === 'string' && !Number.isNaN(Date.parse(t))).map((t) => Date.parse(t));
  return new Date(starts.length ? Math.min(...starts) : Date.now());
}

export async function runBench(bench: Bench, stations: StationConfig[], opts: BenchRunOptions): Promise<BenchOutcome> {
  const outDir = resolve(opts.outDir);
  mkdirSync(outDir, { recursive: true });
  const prepared = preflight(stations, outDir, opts.resume);
  const health = new HealthStore(bench.healthDir);
  health.read(); // a broken health file is bad input, found before anything starts
  const stream = opts.stream ?? process.stderr;
  const overview = new Overview(stations.map((s) => s.name), stream, { plainEveryMs: opts.plainEveryMs, quiet: opts.logLevel === 'silent' });
  const benchLog = join(outDir, 'bench.log');
  const note = (text: string) => { try { appendFileSync(benchLog, `${new Date().toISOString()} ${text}\n`); } catch { /* ignore */ } };
  // Whatever escapes a station's own handling must not end the process, and with it every other station.
  const onStray = (err: unknown) => {
    const text = `an error escaped a station's handling: ${err instanceof Error ? err.stack ?? err.message : String(err)}`;
    note(text);
    overview.event(text.split('\n')[0]);
  };
  process.on('uncaughtException', onStray);
  process.on('unhandledRejection', onStray);
  // One OCR pool for the whole bench: held here so that it is not closed and started again between stations.
  const pool = acquireOcrPool();
  const ocr = sharedOcrCheck();
  const now = new Date();
  const startedAt = opts.resume ? benchStart(prepared) : now;
  note(`bench ${bench.name} (${bench.file}): ${opts.resume ? 'resumed, ' : ''}stations ${stations.map((s) => s.name).join(', ')}`);
  overview.start();
  let outcomes: StationOutcome[];
  try {
    await pool.ready().catch(() => { /* the OCR check of each self-test says what is wrong */ });
    const c = { outDir, health, overview, ocr, note, logLevel: opts.logLevel };
    outcomes = await Promise.all(stations.map((s) => {
      const p = prepared.get(s.name)!;
      return p.plan.kind === 'finished' ? keptOutcome(s, p.plan.report, c) : runStation(s, p, c);
    }));
  } finally {
    overview.stop();
    process.off('uncaughtException', onStray);
    process.off('unhandledRejection', onStray);
    await releaseOcrPool();
  }
  const summary = {
    bench: bench.name, startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(),
    ...(opts.resume ? { resumedAt: now.toISOString() } : {}), stations: outcomes,
  };
  const files = writeBenchSummary(outDir, summary);
  note(`bench done: ${outcomes.map((o) => `${o.name} ${o.result}`).join(', ')}`);
  return { summary, files, exitCode: benchExitCode(outcomes) };
}

interface StationContext {
  outDir: string;
  health: HealthStore;
  overview: Overview;
  ocr: ReturnType<typeof sharedOcrCheck>;
  note: (text: string) => void;
  logLevel: LogLevel;
}

/** A station whose run had finished before the bench process stopped: its verdict as its report gives it. */
async function keptOutcome(config: StationConfig, report: Report | null, c: StationContext): Promise<StationOutcome> {
  const { name } = config;
  const base = { name, reportDir: name, resume: 'kept' as const, health: c.health.get(name)?.state };
  c.note(`${name}: its run had finished (${report?.result ?? 'no readable report.json'}): kept as it is`);
  if (!report) {
    const message = `its run finished before the bench stopped, but its report.json cannot be read (see ${join(c.outDir, name, 'run.log')})`;
    c.overview.update(name, { phase: 'done', result: 'infrastructure (kept)' });
    return { ...base, result: 'infrastructure', category: 'infrastructure', message, durationMs: 0 };
  }
  c.overview.update(name, { phase: 'done', result: `${report.result} (kept)` });
  return {
    ...base, result: report.result, durationMs: report.durationMs,
    ...(report.failure ? { category: report.failure.category, message: report.failure.message } : {}),
  };
}

/** One station, start to end (or from where its journal says, when resumed); never throws. */
async function runStation(config: StationConfig, prepared: Prepared, c: StationContext): Promise<StationOutcome> {
  const { name } = config;
  const runDir = join(c.outDir, name);
  const reportDir = relative(c.outDir, runDir) || '.';
  mkdirSync(runDir, { recursive: true });
  const t0 = Date.now();
  const base = { name, reportDir };
  const before = c.health.get(name);
  if (before?.state === 'maintenance') {
    c.overview.update(name, { phase: 'skipped', result: 'maintenance' });
    return { ...base, result: 'skipped', message: `in maintenance${before.reason ? `: ${before.reason}` : ''} (set by hand; \`bench status --set ${name}=good\` brings it back)`, durationMs: 0, health: 'maintenance' };
  }
  c.overview.update(name, { phase: 'starting' });
  const restored = prepared.plan.kind === 'unfinished' ? prepared.plan.restored : undefined;
  // A resumed run goes on with its journal's options; the Wi-Fi key, never journaled, comes from the bench file again.
  const options: RunOptions = restored
    ? { ...restored.options, outDir: runDir, wifi: restored.options.wifi ? { ssid: restored.options.wifi.ssid, key: prepared.options.wifi?.key ?? '' } : undefined }
    : prepared.options;
  const startedAt = restored ? new Date(restored.startedAt) : new Date();
  const resumed = restored ? { resume: 'resumed' as const } : {};
  const earlyReport = (category: Category, message: string) => writeReport(runDir, reportBeforeFlow(options, startedAt, restored, { category, message }));

  let opened: OpenedStation | null = null;
  let recognizer: Recognizer | null = null;
  let faults: { stop(): Promise<InjectedFault[]> } | null = null;
  let journal: FileJournal | null = null;
  let outcome: StationOutcome;
  let skipped: StationOutcome | null = null;
  let ended = false;
  try {
    opened = await openStation(config, runDir, restored);
    if (restored) c.note(`${name}: going on with its run (${restored.file}, ${restored.steps.length} steps so far); no self-test: the run is past it`);
    // A resumed run's station was self-tested when the run began; its device is mid-setup now.
    if (config.selfTest.enabled && !restored) {
      c.overview.update(name, { phase: 'self-test' });
      const st = await selfTest(opened, c.ocr);
      writeFileSync(join(runDir, 'selftest.json'), `${JSON.stringify(st, null, 2)}\n`);
      const h = c.health.recordSelfTest(name, st.ok, st.checks);
      const selfTestOut = { ok: st.ok, ms: st.ms, checks: st.checks.map(({ name: n, ok, detail }) => ({ name: n, ok, detail })) };
      if (!st.ok) {
        const message = `self-test failed, station marked bad and skipped: ${failureReason(st.checks)}`;
        earlyReport('infrastructure', message);
        c.note(`${name}: ${message}`);
        skipped = { ...base, result: 'skipped', category: 'infrastructure', message, durationMs: 0, health: h.state, selfTest: selfTestOut };
        throw new SkipStation();
      }
      outcome = { ...base, result: 'passed', durationMs: 0, health: h.state, selfTest: selfTestOut };
    } else {
      if (opened.failed.length) throw new RunFailure('infrastructure', failureReason(opened.failed));
      outcome = { ...base, result: 'passed', durationMs: 0, health: c.health.get(name)?.state ?? 'good', ...resumed };
    }

    c.overview.update(name, { phase: 'running' });
    recognizer = await Recognizer.create();
    const hid = prepared.calibration ? applyCalibration(opened.hid!, prepared.calibration) : opened.hid!;
    const parts = { hid, capture: opened.capture!, reader: recognizer, findText, ...(opened.power ? { power: opened.power } : {}) };
    if (opened.device && config.faults?.length) {
      faults = injectFaults(opened.device.endpoints.state, config.faults, (text) => { c.note(`${name}: ${text}`); c.overview.event(`${name}: ${text}`); });
    }
    const progress = new StationProgress(name, c.overview, join(runDir, 'progress.log'), c.logLevel);
    const limitMs = (options.timeouts?.run ?? FLOW_RUN_S) * 1000 + DEADLINE_MARGIN_MS;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RunFailure('infrastructure', `the station did not end within ${Math.round(limitMs / 60_000)} min: a part hangs`)), limitMs);
    });
    try {
      // Journaled like any run, so a station whose bench process died goes on with `run --resume STATION-DIR`.
      const spec: StationSpec = {
        hid: opened.hidSpec!, capture: opened.captureSpec!,
        ...(opened.device && config.virtual ? { builtin: { scenario: config.virtual, endpoints: opened.device.endpoints, pid: opened.device.pid } } : {}),
        ...(typeof config.power === 'string' ? { power: config.power } : {}),
      };
      journal = restored ? FileJournal.resume(restored) : FileJournal.start(runDir, options, spec, startedAt);
      const { report } = await Promise.race([runFlow(parts, options, progress, journal), deadline]);
      ended = true;
      outcome = { ...outcome, result: report.result as Result, ...(report.failure ? { category: report.failure.category, message: report.failure.message } : {}) };
    } finally {
      clearTimeout(timer);
      journal?.close();
    }
  } catch (err) {
    if (skipped && err instanceof SkipStation) {
      outcome = skipped;
    } else {
      // Anything a station's parts throw ends this station's run only.
      const f = err instanceof RunFailure ? err : new RunFailure('infrastructure', `station error: ${(err as Error).message ?? err}`);
      c.note(`${name}: ${f.category}: ${(err as Error).stack ?? f.message}`);
      earlyReport(f.category, f.message);
      outcome = { ...base, result: f.category, category: f.category, message: f.message, durationMs: 0, health: c.health.get(name)?.state, ...resumed };
    }
  }
  try {
    if (faults) outcome.faults = await faults.stop();
    if (opened?.device) await keepDeviceRecord(opened.device.endpoints.state, join(runDir, 'device-state.json'));
    await recognizer?.close();
    // A resumed run that could not go on leaves its device as it is, so that it can be resumed again.
    await opened?.close(Boolean(restored) && !ended);
  } catch (err) {
    c.note(`${name}: closing the station's parts: ${(err as Error).message}`);
  }
  // A resumed run's time counts from its start, in the bench process that began it.
  outcome.durationMs = Date.now() - (restored ? startedAt.getTime() : t0);
  c.health.recordRun(name, { at: startedAt.toISOString(), result: outcome.result, ...(outcome.message ? { message: outcome.message } : {}), reportDir: runDir, durationMs: outcome.durationMs });
  c.overview.update(name, skipped ? { phase: 'skipped', result: 'bad (self-test)' } : { phase: 'done', result: outcome.result });
  return outcome;
}

/** What the virtual device says it really did (screens, attempts, resealed), beside the run's report; nothing typed. */
async function keepDeviceRecord(stateUrl: string, file: string): Promise<void> {
  try {
    const s = (await (await fetch(stateUrl, { signal: AbortSignal.timeout(3000) })).json()) as Record<string, unknown>;
    const keep = ['scenario', 'os', 'screen', 'poweredOn', 'resealed', 'attempts', 'history', 'espLog'];
    writeFileSync(file, `${JSON.stringify(Object.fromEntries(keep.filter((k) => k in s).map((k) => [k, s[k]])), null, 2)}\n`);
  } catch {
    // The device is gone already: its log is in device.log.
  }
}
