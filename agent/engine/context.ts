// The state of one run that the actions share: parts, options, what has been seen, and the evidence kept.
import type { HidDevice } from '../../drivers/hid/types.ts';
import type { Power } from '../../drivers/power/types.ts';
import type { DeviceSeen, EspSample, Expected, Step } from '../report/report.ts';
import type { Evidence } from '../report/evidence.ts';
import type { OsId, Recognition, Box, ScreenId } from '../vision/types.ts';
import type { Flow } from './flow.ts';
import type { Observer, Observation } from './observer.ts';
import type { Progress } from './progress.ts';
import type { Logger } from 'pino';
import type { Journal } from './journal.ts';

export interface WifiSettings { ssid: string; key: string }

export interface RunOptions {
  flow: string;
  os: 'auto' | OsId;
  station: string;
  outDir: string;
  expected: Expected;
  wifi?: WifiSettings;
  /** Retry presses allowed on the red screen. */
  retries: number;
  reseal: boolean;
  /** Overrides of the flow's timeouts, in seconds. */
  timeouts?: { run?: number; esp?: number; screen?: number; frozen?: number };
  /** absolute (default): buttons are clicked where OCR found them; none: pressed by keys only. */
  pointer?: 'absolute' | 'none';
  /** Reset on the red screen once the retries are used (bounded by the flow); default never. */
  allowReset?: boolean;
  /** Where the Windows-key presses go (overrides the flow's windowsKey.on). */
  windowsKeyOn?: ScreenId[];
}

export type TextFinder = (rec: Recognition, text: string) => Box | null;

export interface RunContext {
  hid: HidDevice;
  /** The device's power, when the station has a driver for it. */
  power: Power | null;
  observer: Observer;
  flow: Flow;
  options: RunOptions;
  evidence: Evidence;
  log: Logger;
  progress: Progress;
  findText: TextFinder;
  os: OsId | null;
  device: DeviceSeen;
  steps: Step[];
  esp: EspSample[];
  /** Provision presses so far (1 = first attempt). */
  attempts: number;
  retriesUsed: number;
  windowsKeyRounds: number;
  refreshes: number;
  /** Keys typed on the network screen, so a refused key is not typed again. */
  wifiKeyTyped: number;
  keyboardOnline: boolean;
  /** Irreversible actions go through it: taken at most once per run, across agent restarts. */
  journal: Journal;
  /** Reset presses so far (each starts setup over). */
  resets: number;
  /** The attempt (ctx.attempts) whose failure's diagnostics were collected last; 0: none yet. */
  diagnosticsFor: number;
}

export type ActionResult = 'continue' | 'passed';
export type Action = (ctx: RunContext, obs: Observation) => Promise<ActionResult>;
