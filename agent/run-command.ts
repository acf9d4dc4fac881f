// `autopilot-hil run`: one technician flow on one station (or on the built-in virtual device), ending with
// a report and an exit code. Whatever part fails, a report is written that says which part and why.
import { join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { openHid } from '../drivers/hid/serial-board.ts';
import { openCapture } from '../drivers/capture/mjpeg-http.ts';
import type { HidDevice } from '../drivers/hid/types.ts';
import type { FrameSource } from '../drivers/capture/types.ts';
import { Recognizer, findText } from './vision/recognizer.ts';
import { runFlow } from './engine/runner.ts';
import { Progress, type LogLevel } from './engine/progress.ts';
import { EXIT, RunFailure, UsageError } from './engine/errors.ts';
import { readScenarioFacts, startBuiltinDevice, type BuiltinDevice } from './engine/builtin-device.ts';
import type { RunOptions, WifiSettings } from './engine/context.ts';
import { emptyDevice, writeReport, type Expected } from './report/report.ts';

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
  logLevel: LogLevel;
}

function positiveNumber(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${option} '${value}': expected a number of 0 or more`);
  return n;
}

function defaultOutDir(): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return join('runs', stamp);
}

export async function runCommand(o: RunCommandOptions): Promise<number> {
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
    timeouts: { run: positiveNumber(o.timeout, '--timeout'), esp: positiveNumber(o.espTimeout, '--esp-timeout') },
  };

  let device: BuiltinDevice | null = null;
  let hid: HidDevice | null = null;
  let capture: FrameSource | null = null;
  let recognizer: Recognizer | null = null;
  const started = new Date();
  try {
    let hidSpec = o.hid!;
    let captureSpec = o.capture!;
    if (builtin) {
      progress.info(`starting the built-in virtual device (scenario ${scenario})`);
      device = await startBuiltinDevice({
        scenario, serial: o.simSerial ?? 'tcp', speed: positiveNumber(o.speed, '--speed'), logFile: join(outDir, 'device.log'),
      });
      hidSpec = device.endpoints.serial && o.simSerial === 'pty' ? `serial:${device.endpoints.serial}` : `tcp://${device.endpoints.tcp}`;
      captureSpec = device.endpoints.video;
    }
    progress.info(`keyboard board: ${hidSpec}; video: ${captureSpec}; report: ${outDir}`);
    const parts = await Promise.allSettled([openHid(hidSpec), openCapture(captureSpec), Recognizer.create()]);
    hid = parts[0].status === 'fulfilled' ? parts[0].value : null;
    capture = parts[1].status === 'fulfilled' ? parts[1].value : null;
    recognizer = parts[2].status === 'fulfilled' ? parts[2].value : null;
    const broken = parts.find((p): p is PromiseRejectedResult => p.status === 'rejected');
    if (broken || !hid || !capture || !recognizer) throw broken?.reason ?? new Error('a part did not open');
    const { report, reportPath } = await runFlow({ hid, capture, reader: recognizer, findText }, options, progress);
    const dev = report.device;
    progress.info(`result: ${report.result}${report.failure ? ` (${report.failure.message})` : ''}`);
    progress.info(`device: organization ${dev.organization ?? '?'}, profile ${dev.profile ?? '?'}, ZtdId ${dev.ztdId ?? '?'}, serial ${dev.serialNumber ?? '?'}`);
    process.stdout.write(`${report.result}: ${reportPath}\n`);
    return EXIT[report.result];
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // A part failed before the flow could start: still leave a report that says which and why.
    const f = err instanceof RunFailure ? err : new RunFailure('infrastructure', (err as Error).message);
    const reportPath = writeReport(outDir, {
      result: f.category, flow, os: os === 'auto' ? null : os, station: options.station, startedAt: started.toISOString(),
      durationMs: Date.now() - started.getTime(), device: emptyDevice(), expected, steps: [], esp: [], attempts: 0,
      failure: { category: f.category, message: f.message },
    });
    progress.line('error', `result: ${f.category} (${f.message})`);
    process.stdout.write(`${f.category}: ${reportPath}\n`);
    return EXIT[f.category];
  } finally {
    await Promise.allSettled([hid?.close(), capture?.close(), recognizer?.close()]);
    await device?.stop();
  }
}
