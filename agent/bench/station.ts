// One station of a bench, from its config to its parts: the virtual device started (virtual: SCENARIO) or
// the real board and capture named; the board and the capture opened; the run's options (flow, expectations,
// Wi-Fi from the environment, retries, timeouts). Opening never throws: what failed comes back as a check.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openHidDevice } from '../../drivers/hid/open.ts';
import { openCaptureSpec } from '../../drivers/capture/open.ts';
import { openPower } from '../../drivers/power/open.ts';
import type { Power } from '../../drivers/power/types.ts';
import type { HidDevice } from '../../drivers/hid/types.ts';
import type { FrameSource } from '../../drivers/capture/types.ts';
import type { CheckResult } from '../checks/types.ts';
import { outlivedDevice, readScenarioFacts, startBuiltinDevice, type BuiltinDevice, type ScenarioFacts } from '../engine/builtin-device.ts';
import type { RestoredRun } from '../engine/journal.ts';
import type { RunOptions, WifiSettings } from '../engine/context.ts';
import { UsageError } from '../engine/errors.ts';
import { registerSecret } from '../report/secrets.ts';
import type { Expected } from '../report/report.ts';
import type { StationConfig } from './bench-file.ts';

/** Default seconds of each self-test check (opening the board, the first frame). */
export const DEFAULT_SELF_TEST_S = 10;

export interface OpenedStation {
  config: StationConfig;
  hidSpec: string | null;
  captureSpec: string | null;
  /** The built-in virtual device, for virtual stations. */
  device: BuiltinDevice | null;
  hid: HidDevice | null;
  capture: FrameSource | null;
  /** The device's power, when the station names one. */
  power: Power | null;
  /** What could not be opened (board, capture, virtual device), as failed checks. */
  failed: CheckResult[];
  /** Closes the parts; the virtual device is stopped too unless `keepDevice` (a run that may be resumed again). */
  close(keepDevice?: boolean): Promise<void>;
}

/** The scenario of a virtual station: a file beside the bench file, or a built-in name. */
export function scenarioOf(config: StationConfig): string {
  const file = resolve(config.baseDir, config.virtual!);
  return existsSync(file) ? file : config.virtual!;
}

/** The Wi-Fi of a station: its ssid and the key from the environment variable it names (checked up front). */
export function wifiOf(config: StationConfig, facts: ScenarioFacts): WifiSettings | undefined {
  if (config.wifi) {
    const key = process.env[config.wifi.keyEnv];
    if (key === undefined) {
      const at = config.keyEnvAt ?? { line: config.line, field: 'wifi.keyEnv' };
      throw new UsageError(`${config.file}:${at.line}: ${at.field}: the environment variable ${config.wifi.keyEnv} is not set (station ${config.name} needs the key of "${config.wifi.ssid}" from it)`);
    }
    registerSecret(key);
    return { ssid: config.wifi.ssid, key };
  }
  if (config.virtual && facts.network?.kind === 'wifi' && facts.network.ssid) {
    registerSecret(facts.network.key);
    return { ssid: facts.network.ssid, key: facts.network.key ?? '' };
  }
  return undefined;
}

/** What the run checks on the configuration screen: the station's expect, else (virtual) the scenario's device. */
export function expectedOf(config: StationConfig, facts: ScenarioFacts): Expected {
  if (config.expect) return { ...config.expect };
  if (!config.virtual) return {};
  const d = facts.device ?? {};
  const out: Expected = {};
  if (d.organization !== undefined) out.organization = d.organization;
  if (d.profile !== undefined) out.profile = d.profile;
  if (d.user !== undefined) out.user = String(d.user);
  if (d.ztdId !== undefined) out.ztdId = d.ztdId;
  if (d.serial !== undefined) out.serialNumber = d.serial;
  return out;
}

export function factsOf(config: StationConfig): ScenarioFacts {
  return config.virtual ? readScenarioFacts(scenarioOf(config)) : {};
}

export function runOptionsOf(config: StationConfig, runDir: string, facts = factsOf(config)): RunOptions {
  return {
    flow: 'technician',
    os: config.flow,
    station: config.name,
    outDir: runDir,
    expected: expectedOf(config, facts),
    wifi: wifiOf(config, facts),
    retries: config.retries ?? 1,
    reseal: config.reseal ?? true,
    timeouts: { run: config.timeouts?.run, esp: config.timeouts?.esp, frozen: config.timeouts?.frozen },
  };
}

/**
 * Starts the station's virtual device (if any) and opens its board and capture. A station whose run is resumed
 * (`restored`) is reached as its journal says: its virtual device is the one that outlived the bench process.
 */
export async function openStation(config: StationConfig, runDir: string, restored?: RestoredRun): Promise<OpenedStation> {
  const timeoutMs = (config.timeouts?.selfTest ?? DEFAULT_SELF_TEST_S) * 1000;
  const failed: CheckResult[] = [];
  let device: BuiltinDevice | null = null;
  let hidSpec = config.hid ?? null;
  let captureSpec = config.capture ?? null;
  if (restored) {
    hidSpec = restored.station.hid;
    captureSpec = restored.station.capture;
    if (restored.station.builtin) {
      device = outlivedDevice(restored);
      if (!device) {
        failed.push({
          name: `virtual device ${config.virtual ?? restored.station.builtin.scenario}`, ok: false,
          detail: 'no longer runs: it was a process of the bench that stopped, and a run on it can be resumed only while it runs',
          fix: 'start the station anew: bench run with another --out',
        });
        hidSpec = captureSpec = null;
      }
    }
  } else if (config.virtual) {
    try {
      device = await startBuiltinDevice({
        scenario: scenarioOf(config), serial: config.serial ?? 'tcp', speed: config.speed, logFile: join(runDir, 'device.log'),
        ...(config.size ? { size: config.size } : {}),
      });
      hidSpec = config.serial === 'pty' && device.endpoints.serial ? `serial:${device.endpoints.serial}` : `tcp://${device.endpoints.tcp}`;
      captureSpec = device.endpoints.video;
    } catch (err) {
      failed.push({ name: `virtual device ${config.virtual}`, ok: false, detail: `did not start: ${(err as Error).message}`, fix: `see ${join(runDir, 'device.log')}` });
    }
  }
  let hid: HidDevice | null = null;
  let capture: FrameSource | null = null;
  if (hidSpec && captureSpec) {
    const [h, c] = await Promise.allSettled([
      openHidDevice(hidSpec, { openTimeoutMs: timeoutMs }),
      openCaptureSpec(captureSpec, { openTimeoutMs: timeoutMs }),
    ]);
    if (h.status === 'fulfilled') hid = h.value;
    else failed.push({ name: `board ${hidSpec}`, ok: false, detail: `cannot be reached: ${(h.reason as Error).message}`, fix: 'check the board, its cable or adapter, and the spec in the bench file' });
    if (c.status === 'fulfilled') capture = c.value;
    else failed.push({ name: `frames ${captureSpec}`, ok: false, detail: `no stream: ${(c.reason as Error).message}`, fix: 'check the grabber (its cable, the URL or device) and the spec in the bench file' });
  }
  // Power is only built here (nothing is switched): the flow decides when to use it.
  let power: Power | null = null;
  if (config.power !== undefined && hid) {
    try {
      power = await openPower(config.power, { station: config.name, board: hid });
    } catch (err) {
      failed.push({ name: 'power', ok: false, detail: (err as Error).message, fix: 'check the power spec in the bench file' });
    }
  }
  return {
    config, hidSpec, captureSpec, device, hid, capture, power, failed,
    close: async (keepDevice = false) => {
      await Promise.allSettled([hid?.close(), capture?.close(), power?.close()]);
      if (!keepDevice) await device?.stop();
    },
  };
}
