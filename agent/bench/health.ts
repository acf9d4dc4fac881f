// Station health, kept in the bench folder (health.json): good, bad (its self-test failed, with the reason,
// until a self-test passes again) or maintenance (set by a person; the bench leaves the station alone until
// a person sets it back). Also each station's last self-test and last run, for `bench status`.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckResult } from '../checks/types.ts';
import { UsageError } from '../engine/errors.ts';

export const HEALTH_STATES = ['good', 'bad', 'maintenance'] as const;
export type HealthState = typeof HEALTH_STATES[number];

export interface StationHealth {
  state: HealthState;
  /** Why it is bad, or what a person wrote about the maintenance. */
  reason?: string;
  /** When the state last changed (ISO). */
  since: string;
  /** Who set it: the self-test, or a person (`bench status --set`, or an edit of the file). */
  setBy: 'self-test' | 'hand';
  lastSelfTest?: { at: string; ok: boolean; checks: CheckResult[] };
  lastRun?: { at: string; result: string; message?: string; reportDir: string; durationMs: number };
}

export interface HealthFile {
  stations: Record<string, StationHealth>;
}

/** The health file of one bench. Reads and writes whole files (atomically), so it can be edited by hand. */
export class HealthStore {
  readonly file: string;

  constructor(readonly dir: string) {
    this.file = join(dir, 'health.json');
  }

  read(): HealthFile {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return { stations: {} };
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw new UsageError(`${this.file}: not valid JSON: ${(err as Error).message}`);
    }
    const stations = (data as HealthFile | null)?.stations;
    if (!stations || typeof stations !== 'object') throw new UsageError(`${this.file}: stations: missing (expected { "stations": { NAME: { "state": "good" } } })`);
    for (const [name, h] of Object.entries(stations)) {
      if (!HEALTH_STATES.includes(h?.state)) throw new UsageError(`${this.file}: stations.${name}.state: must be one of ${HEALTH_STATES.join(', ')}, got ${JSON.stringify(h?.state)}`);
    }
    return { stations };
  }

  get(name: string): StationHealth | undefined {
    return this.read().stations[name];
  }

  /** Changes one station's entry (read, change, write: one process writes at a time, synchronously). */
  update(name: string, change: (old: StationHealth | undefined) => StationHealth): StationHealth {
    const all = this.read();
    const next = change(all.stations[name]);
    all.stations[name] = next;
    mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(all, null, 2)}\n`);
    renameSync(tmp, this.file);
    return next;
  }

  /** A person sets a state (maintenance, or back to good). */
  setByHand(name: string, state: HealthState, reason?: string): StationHealth {
    return this.update(name, (old) => ({
      ...old,
      state,
      ...(reason ? { reason } : { reason: undefined }),
      since: new Date().toISOString(),
      setBy: 'hand',
    }));
  }

  /** The self-test's verdict: good, or bad with the reason. Never overrides maintenance. */
  recordSelfTest(name: string, ok: boolean, checks: CheckResult[]): StationHealth {
    const at = new Date().toISOString();
    return this.update(name, (old) => {
      if (old?.state === 'maintenance') return { ...old, lastSelfTest: { at, ok, checks } };
      const state: HealthState = ok ? 'good' : 'bad';
      const reason = ok ? undefined : checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ');
      return {
        ...old,
        state,
        reason,
        since: old?.state === state && old.reason === reason ? old.since : at,
        setBy: 'self-test',
        lastSelfTest: { at, ok, checks },
      };
    });
  }

  recordRun(name: string, run: NonNullable<StationHealth['lastRun']>): void {
    this.update(name, (old) => ({ state: 'good', since: run.at, setBy: 'self-test', ...old, lastRun: run }));
  }
}
