// The built-in virtual device, for runs with no hardware: started as a separate program (`autopilot-hil sim`)
// and reached only the way a real bench is reached, over its serial line (TCP or a pty) and its MJPEG video.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse } from 'yaml';
import { UsageError, RunFailure } from './errors.ts';
import { bootId, type RestoredRun } from './journal.ts';

const SIM_BIN = fileURLToPath(new URL('../../bin/autopilot-hil-sim.js', import.meta.url));
const SCENARIO_DIR = fileURLToPath(new URL('../../sim/scenarios/', import.meta.url));

export interface SimEndpoints {
  serial?: string;
  tcp: string;
  video: string;
  snapshot: string;
  state: string;
}

export interface BuiltinDevice {
  endpoints: SimEndpoints;
  /** The device's process: a resumed run stops it when it outlived the agent that started it. */
  pid?: number;
  stop(): Promise<void>;
}

/** What the run takes from the scenario file: its network and what its device should show. Data only. */
export interface ScenarioFacts {
  os?: string;
  network?: { kind?: string; ssid?: string; key?: string };
  device?: { serial?: string; ztdId?: string; organization?: string; profile?: string; user?: string };
}

export function scenarioFile(nameOrPath: string): string {
  if (existsSync(nameOrPath)) return nameOrPath;
  const builtin = `${SCENARIO_DIR}${nameOrPath}.yaml`;
  if (existsSync(builtin)) return builtin;
  throw new UsageError(`scenario '${nameOrPath}': no such file, and not a built-in scenario`);
}

export function readScenarioFacts(nameOrPath: string, seen: string[] = []): ScenarioFacts {
  const file = scenarioFile(nameOrPath);
  let facts: ScenarioFacts & { extends?: string };
  try {
    facts = (parse(readFileSync(file, 'utf8')) ?? {}) as ScenarioFacts & { extends?: string };
  } catch (err) {
    throw new UsageError(`${file}: not valid YAML: ${(err as Error).message}`);
  }
  // A scenario that extends another takes its facts, key by key (the virtual device merges the same way).
  if (typeof facts.extends !== 'string' || seen.includes(file)) return facts;
  const base = readScenarioFacts(existsSync(join(dirname(file), facts.extends)) ? join(dirname(file), facts.extends) : facts.extends, [...seen, file]);
  const network = facts.network && base.network && (facts.network.kind ?? base.network.kind) === base.network.kind
    ? { ...base.network, ...facts.network } : facts.network ?? base.network;
  return { ...base, ...facts, device: { ...base.device, ...facts.device }, network };
}

export async function startBuiltinDevice(opts: {
  scenario: string; serial: 'tcp' | 'pty'; speed?: number; logFile: string; size?: string;
}): Promise<BuiltinDevice> {
  const args = ['--scenario', opts.scenario, '--serial', opts.serial];
  if (opts.speed) args.push('--speed', String(opts.speed));
  if (opts.size) args.push('--size', opts.size);
  return startSimProgram(args, opts.logFile);
}

/** Starts `autopilot-hil sim --json ARGS`, its stderr to `logFile`, and waits for its ready line. */
export async function startSimProgram(simArgs: string[], logFile: string): Promise<BuiltinDevice> {
  const child: ChildProcess = spawn(process.execPath, [SIM_BIN, '--json', ...simArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logStream = createWriteStream(logFile);
  child.stderr!.pipe(logStream);
  const endpoints = await new Promise<SimEndpoints>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new RunFailure('infrastructure', `the virtual device did not start within 60 s (see ${logFile})`)), 60_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as SimEndpoints);
      } catch {
        reject(new RunFailure('infrastructure', `the virtual device printed no ready line: ${line}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      logStream.end(() => {
        const said = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' ') : '';
        reject(code === 64
          ? new UsageError(said || `the virtual device refused its options (see ${logFile})`)
          : new RunFailure('infrastructure', `the virtual device stopped with exit code ${code}: ${said || `see ${logFile}`}`));
      });
    });
  });
  return {
    endpoints,
    pid: child.pid,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }),
  };
}

/**
 * The built-in virtual device that outlived the agent which started it (it is its own process): this run stops it
 * when it ends, as a fresh run stops its own. Only the same process: same boot, same pid, the device program.
 */
export function outlivedDevice(run: RestoredRun): BuiltinDevice | null {
  const builtin = run.station.builtin;
  const pid = builtin?.pid;
  if (!builtin || !pid || run.lives[0]?.bootId == null || run.lives[0].bootId !== bootId()) return null;
  const isDevice = () => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('autopilot-hil-sim');
    } catch {
      return false;
    }
  };
  if (!isDevice()) return null;
  return {
    endpoints: builtin.endpoints,
    pid,
    stop: async () => {
      if (!isDevice()) return;
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 50 && isDevice(); i++) await new Promise((r) => setTimeout(r, 100));
    },
  };
}
