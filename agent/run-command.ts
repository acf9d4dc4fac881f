// `autopilot-hil run`: one technician flow on one station (or on the built-in virtual device), ending with
// a report and an exit code. Whatever part fails, a report is written that says which part and why.
import { join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { openHidDevice } from '../drivers/hid/open.ts';
import { openCaptureSpec } from '../drivers/capture/open.ts';
import { openPower } from '../drivers/power/open.ts';
import type { Power } from '../drivers/power/types.ts';
import { registerSecret } from './report/secrets.ts';
import type { HidDevice } from '../drivers/hid/types.ts';
import type { FrameSource } from '../drivers/capture/types.ts';
import { Recognizer, findText } from './vision/recognizer.ts';
import { runFlow } from './engine/runner.ts';
import { Progress, type LogLevel } from './engine/progress.ts';
import { EXIT, RunFailure, UsageError } from './engine/errors.ts';
import { outlivedDevice, readScenarioFacts, startBuiltinDevice, type BuiltinDevice } from './engine/builtin-device.ts';
import type { RunOptions, WifiSettings } from './engine/context.ts';
import type { ScreenId } from './vision/types.ts';
import { writeReport, type Expected } from './report/report.ts';
import { applyCalibration, loadCalibration, type Calibration } from './calibration/index.ts';
import { FileJournal, readJournal, refuseUnfinished, type RestoredRun, type StationSpec } from './engine/journal.ts';
import { reportBeforeFlow } from './engine/resume.ts';

export interface RunCommandOptions {
  hid?: string;
  capture?: string;
  flow: string;
  scenario?: string;
  speed?: string;
  simSerial?: 'tcp' | 'pty';
  station?: string;
  out?: string;
  expectOrganization?: string;
  expectProfile?: string;
  expectUser?: string;
  expectZtdid?: string;
  expectSerial?: string;
  wifiSsid?: string;
  wifiKey?: string;
  retries: string;
  reseal: boolean;
  timeout?: string;
  espTimeout?: string;
  screenTimeout?: string;
  pointer?: 'absolute' | 'none';
  allowReset?: boolean;
  windowsKeyOn?: string;
  logLevel: LogLevel;
  /** A station calibration profile (calibrate's calibration/NAME.json): pointer positions are corrected by it. */
  calibration?: string;
  /** The device's power (drivers/power spec). */
  power?: string;
  frozenTimeout?: string;
  /** A run folder whose agent died: go on with that run. */
  resume?: string;
}

function positiveNumber(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${option} '${value}': expected a number of 0 or more`);
  return n;
}

/** --windows-key-on: screens where Windows takes the five presses (screens.md: the sign-in page, the first setup pages). */
function windowsKeyScreens(value: string): ScreenId[] {
  const allowed = ['entra-signin', 'oobe-region', 'oobe-keyboard'];
  const screens = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = screens.find((s) => !allowed.includes(s));
  if (bad !== undefined || screens.length === 0) throw new UsageError(`--windows-key-on '${value}': expected screens among ${allowed.join(', ')}`);
  return screens as ScreenId[];
}

function defaultOutDir(): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return join('runs', stamp);
}

export async function runCommand(o: RunCommandOptions): Promise<number> {
  if (o.resume !== undefined) return resumeCommand(o);
  if (Boolean(o.hid) !== Boolean(o.capture)) {
    throw new UsageError('--hid and --capture go together: give both for a real station, or neither for the built-in virtual device');
  }
  const builtin = !o.hid;
  if (!builtin && (o.scenario || o.speed)) throw new UsageError('--scenario and --speed are for the built-in virtual device: leave out --hid and --capture');
  const scenario = o.scenario ?? 'win11';
  const facts = builtin ? readScenarioFacts(scenario) : {};
  const os = ['auto', 'win10', 'win11'].includes(o.flow) ? (o.flow as RunOptions['os']) : 'auto';
  const flow = ['auto', 'win10', 'win11'].includes(o.flow) ? 'technician' : o.flow;
  const outDir = resolve(o.out ?? defaultOutDir());
  const progress = new Progress(o.logLevel);
  refuseUnfinished(outDir);
  mkdirSync(outDir, { recursive: true });

  const expected: Expected = {};
  const d = facts.device ?? {};
  const pick = (flag: string | undefined, fromScenario: string | undefined) => flag ?? (builtin ? fromScenario : undefined);
  const org = pick(o.expectOrganization, d.organization);
  const profile = pick(o.expectProfile, d.profile);
  const user = pick(o.expectUser, d.user === undefined ? undefined : String(d.user));
  const ztdId = pick(o.expectZtdid, d.ztdId);
  const serial = pick(o.expectSerial, d.serial);
  if (org !== undefined) expected.organization = org;
  if (profile !== undefined) expected.profile = profile;
  if (user !== undefined) expected.user = user;
  if (ztdId !== undefined) expected.ztdId = ztdId;
  if (serial !== undefined) expected.serialNumber = serial;

  // The key comes from the environment first, so it stays out of shell history and process lists.
  const ssid = o.wifiSsid ?? (builtin && facts.network?.kind === 'wifi' ? facts.network.ssid : undefined);
  const key = process.env.AUTOPILOT_HIL_WIFI_KEY ?? o.wifiKey ?? (builtin && !o.wifiSsid ? facts.network?.key : undefined);
  if (o.wifiSsid && key === undefined) throw new UsageError('--wifi-ssid needs the key: set AUTOPILOT_HIL_WIFI_KEY (or give --wifi-key)');
  const wifi: WifiSettings | undefined = ssid ? { ssid, key: key ?? '' } : undefined;

  const options: RunOptions = {
    flow,
    os,
    station: o.station ?? (builtin ? `virtual:${scenario}` : 'station'),
    outDir,
    expected,
    wifi,
    retries: positiveNumber(o.retries, '--retries') ?? 1,
    reseal: o.reseal,
    timeouts: { run: positiveNumber(o.timeout, '--timeout'), esp: positiveNumber(o.espTimeout, '--esp-timeout'), screen: positiveNumber(o.screenTimeout, '--screen-timeout'), frozen: positiveNumber(o.frozenTimeout, '--frozen-timeout') },
    pointer: o.pointer ?? 'absolute',
    allowReset: o.allowReset ?? false,
    ...(o.windowsKeyOn ? { windowsKeyOn: windowsKeyScreens(o.windowsKeyOn) } : {}),
  };

  const started = new Date();
  const calibration = o.calibration ? loadCalibration(o.calibration) : null;
  // Journaled with the station, so a resumed run corrects the pointer the same way.
  const calibrationFile = { ...(o.calibration ? { calibration: resolve(o.calibration) } : {}), ...(o.power ? { power: o.power } : {}) };
  return execute(options, progress, started, null, async () => {
    if (!builtin) return { spec: { hid: o.hid!, capture: o.capture!, ...calibrationFile }, device: null, calibration };
    progress.info(`starting the built-in virtual device (scenario ${scenario})`);
    const device = await startBuiltinDevice({
      scenario, serial: o.simSerial ?? 'tcp', speed: positiveNumber(o.speed, '--speed'), logFile: join(outDir, 'device.log'),
    });
    const hid = device.endpoints.serial && o.simSerial === 'pty' ? `serial:${device.endpoints.serial}` : `tcp://${device.endpoints.tcp}`;
    return { spec: { hid, capture: device.endpoints.video, builtin: { scenario, endpoints: device.endpoints, pid: device.pid }, ...calibrationFile }, device, calibration };
  });
}

/** Options that describe a run: with --resume they come from its journal, so giving them again is a mistake. */
const RUN_DEFINING = ['hid', 'capture', 'scenario', 'speed', 'station', 'out', 'expectOrganization', 'expectProfile', 'expectUser',
  'expectZtdid', 'expectSerial', 'wifiSsid', 'timeout', 'espTimeout', 'screenTimeout', 'allowReset', 'windowsKeyOn', 'calibration', 'power', 'frozenTimeout'] as const;

/** Screens after the network one: a run that reached them will not be asked for the Wi-Fi key again. */
const PAST_NETWORK = /^(oobe-eula|entra-signin|provisioning-|esp$)/;

/** `run --resume DIR`: the same run, the same station, from the screen it shows now. */
async function resumeCommand(o: RunCommandOptions): Promise<number> {
  const given = RUN_DEFINING.filter((k) => o[k] !== undefined).map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  if (given.length > 0) {
    throw new UsageError(`--resume goes on with the options in the run's journal: leave out ${given.join(', ')} (only --wifi-key and --log-level go with it)`);
  }
  const dir = resolve(o.resume!);
  const run = readJournal(dir);
  const options: RunOptions = { ...run.options, outDir: dir, wifi: undefined };
  if (run.options.wifi) {
    const ssid = run.options.wifi.ssid;
    let key = process.env.AUTOPILOT_HIL_WIFI_KEY || o.wifiKey;
    if (key === undefined && run.station.builtin) {
      key = readScenarioFacts(run.station.builtin.scenario).network?.key;
    }
    const needed = (run.counters.wifiKeyTyped ?? 0) === 0 && !run.steps.some((s) => PAST_NETWORK.test(s.screen));
    if (key === undefined && needed) {
      throw new UsageError(`${run.file}: the run joins Wi-Fi "${ssid}" and has not passed the network screen: set AUTOPILOT_HIL_WIFI_KEY (or give --wifi-key) to resume it`);
    }
    options.wifi = { ssid, key: key ?? '' };
  }
  const progress = new Progress(o.logLevel);
  progress.setStart(Date.parse(run.startedAt));
  progress.info(`resuming ${dir} (journal ${run.file})`);
  // The built-in virtual device was the dead agent's own process: it is reached at its endpoints if it outlived it.
  return execute(options, progress, new Date(run.startedAt), run, async () => ({
    spec: run.station, device: outlivedDevice(run), calibration: run.station.calibration ? loadCalibration(run.station.calibration) : null,
  }));
}

interface StationStart { spec: StationSpec; device: BuiltinDevice | null; calibration?: Calibration | null }

/** Reaches the station, journals the run, runs the flow; whatever fails, a report says which part and why. */
async function execute(options: RunOptions, progress: Progress, started: Date, restored: RestoredRun | null,
  station: () => Promise<StationStart>): Promise<number> {
  const { outDir } = options;
  let device: BuiltinDevice | null = null;
  let hid: HidDevice | null = null;
  let capture: FrameSource | null = null;
  let recognizer: Recognizer | null = null;
  let power: Power | null = null;
  let journal: FileJournal | null = null;
  // Every report file is masked against the key, however it was given (environment, --wifi-key, a scenario).
  registerSecret(options.wifi?.key);
  let ended = false;
  try {
    const reached = await station();
    device = reached.device;
    const { hid: hidSpec, capture: captureSpec } = reached.spec;
    journal = restored ? FileJournal.resume(restored) : FileJournal.start(outDir, options, reached.spec, started);
    progress.info(`keyboard board: ${hidSpec}; video: ${captureSpec}; report: ${outDir}`);
    const parts = await Promise.allSettled([openHidDevice(hidSpec), openCaptureSpec(captureSpec), Recognizer.create()]);
    hid = parts[0].status === 'fulfilled' ? (reached.calibration ? applyCalibration(parts[0].value, reached.calibration) : parts[0].value) : null;
    capture = parts[1].status === 'fulfilled' ? parts[1].value : null;
    recognizer = parts[2].status === 'fulfilled' ? parts[2].value : null;
    const broken = parts.find((p): p is PromiseRejectedResult => p.status === 'rejected');
    if (broken || !hid || !capture || !recognizer) {
      const why = (broken?.reason as Error | undefined)?.message ?? 'a part did not open';
      if (restored?.station.builtin) {
        throw new RunFailure('infrastructure', `the built-in virtual device of this run (${hidSpec}, ${captureSpec}) cannot be reached: it no longer runs (it is a process of its own, started by the agent that stopped; a run on it can be resumed only while it runs) (${why})`);
      }
      throw broken?.reason ?? new Error(why);
    }
    if (reached.spec.power) {
      // The board's power button needs the board itself, not the calibrated wrapper.
      const board = parts[0].status === 'fulfilled' ? parts[0].value : null;
      power = await openPower(reached.spec.power, { station: options.station, board });
    }
    const { report, reportPath } = await runFlow({ hid, capture, reader: recognizer, findText, ...(power ? { power } : {}) }, options, progress, journal);
    ended = true;
    progress.close();
    const dev = report.device;
    progress.info(`result: ${report.result}${report.failure ? ` (${report.failure.message})` : ''}`);
    progress.info(`device: organization ${dev.organization ?? '?'}, profile ${dev.profile ?? '?'}, ZtdId ${dev.ztdId ?? '?'}, serial ${dev.serialNumber ?? '?'}`);
    process.stdout.write(`${report.result}: ${reportPath}\n`);
    return EXIT[report.result];
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // A part failed before the flow could start: still leave a report that says which and why.
    const f = err instanceof RunFailure ? err : new RunFailure('infrastructure', (err as Error).message);
    const reportPath = writeReport(outDir, reportBeforeFlow(options, started, restored, { category: f.category, message: f.message }));
    progress.close();
    progress.line('error', `result: ${f.category} (${f.message})`);
    process.stdout.write(`${f.category}: ${reportPath}\n`);
    return EXIT[f.category];
  } finally {
    progress.close();
    journal?.close();
    await Promise.allSettled([hid?.close(), capture?.close(), recognizer?.close(), power?.close()]);
    // A resumed run that could not go on leaves the device as it is, so the run can be resumed again.
    if (ended || !restored) await device?.stop();
  }
}
