// The built-in scenarios and the verdict the agent must reach on each: shared by the pty, TCP and branch
// suites. What is checked is what a lab engineer would check after the run: the verdict, the exit code, the
// report's fields and evidence, and the device's own record of what it was given (/state).
import { readFileSync, mkdtempSync, readdirSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { expect } from 'vitest';
import { runAgent, startSim, type AgentResult, type SimProcess, type SimState } from './processes.ts';

export const SPEED = '600';
export const WIFI_KEY = 'autopilot-lab-2026';

export interface Expectation {
  scenario: string;
  os: 'win10' | 'win11';
  result: 'passed' | 'product' | 'flow';
  exit: number;
  /** The device joins Wi-Fi with this key: the only thing ever typed (once per setup). */
  wifiKey?: string;
  /** The device reaches the sign-in page, where the Windows key goes (once per setup). */
  reachesSignin: boolean;
  errorCode?: string;
  attempts?: number;
  failureMatches?: RegExp;
  /** Red screens seen, each with its diagnostics collected and exported. */
  failures?: number;
  /** Refresh presses on the configuration page. */
  refreshes?: number;
  /** Reset presses (only with --allow-reset); each means one more setup. */
  resets?: number;
  /** The run may see no screen that tells the OS. */
  osUnknown?: boolean;
}

export const CONTOSO = { organization: 'Contoso', profile: 'Lab pre-provisioning' };

const wifi = { wifiKey: WIFI_KEY };

export const SCENARIOS: Expectation[] = [
  { scenario: 'win11', os: 'win11', result: 'passed', exit: 0, ...wifi, reachesSignin: true, attempts: 1 },
  { scenario: 'win11-wired', os: 'win11', result: 'passed', exit: 0, reachesSignin: true, attempts: 1 },
  { scenario: 'win10', os: 'win10', result: 'passed', exit: 0, ...wifi, reachesSignin: true, attempts: 1 },
  { scenario: 'win10-wired', os: 'win10', result: 'passed', exit: 0, reachesSignin: true, attempts: 1 },
  { scenario: 'esp-failure', os: 'win11', result: 'product', exit: 1, ...wifi, reachesSignin: true, errorCode: '0x800705B4', attempts: 2, failures: 2 },
  { scenario: 'win10-esp-failure', os: 'win10', result: 'product', exit: 1, ...wifi, reachesSignin: true, errorCode: '0x800705B4', attempts: 2, failures: 2 },
  { scenario: 'retry-success', os: 'win11', result: 'passed', exit: 0, ...wifi, reachesSignin: true, attempts: 2, failures: 1 },
  { scenario: 'win10-retry-success', os: 'win10', result: 'passed', exit: 0, ...wifi, reachesSignin: true, attempts: 2, failures: 1 },
  { scenario: 'no-profile', os: 'win11', result: 'product', exit: 1, ...wifi, reachesSignin: false, failureMatches: /consumer setup.*Autopilot profile/ },
  { scenario: 'win10-no-profile', os: 'win10', result: 'product', exit: 1, ...wifi, reachesSignin: false, failureMatches: /consumer setup.*Autopilot profile/ },
  { scenario: 'eula', os: 'win11', result: 'passed', exit: 0, reachesSignin: true, attempts: 1 },
  { scenario: 'win10-eula', os: 'win10', result: 'passed', exit: 0, ...wifi, reachesSignin: true, attempts: 1 },
  { scenario: 'late-profile', os: 'win11', result: 'passed', exit: 0, reachesSignin: true, attempts: 1, refreshes: 2 },
  { scenario: 'win10-late-profile', os: 'win10', result: 'passed', exit: 0, reachesSignin: true, attempts: 1, refreshes: 1 },
  { scenario: 're-enrollment-blocked', os: 'win11', result: 'product', exit: 1, reachesSignin: true, errorCode: '0x80180014', attempts: 1, failures: 1, failureMatches: /Retry cannot help/ },
  { scenario: 'win10-re-enrollment-blocked', os: 'win10', result: 'product', exit: 1, reachesSignin: true, errorCode: '0x80180014', attempts: 1, failures: 1, failureMatches: /Retry cannot help/ },
  { scenario: 'set-up', os: 'win11', result: 'product', exit: 1, reachesSignin: false, osUnknown: true, failureMatches: /Windows sign-in screen.*not fresh/ },
  { scenario: 'win10-set-up', os: 'win10', result: 'product', exit: 1, reachesSignin: false, osUnknown: true, failureMatches: /Windows sign-in screen.*not fresh/ },
];

export function scenario(name: string): Expectation {
  const e = SCENARIOS.find((s) => s.scenario === name);
  if (!e) throw new Error(`no expectation for scenario ${name}`);
  return e;
}

export interface ScenarioRun { agent: AgentResult; report: any; state: SimState; out: string }

export interface ScenarioRunOptions {
  /** More arguments for the virtual device, e.g. ['--line-corrupt', '0.01', '--line-drop', '0.005']. */
  simArgs?: string[];
  /** The virtual device's own options in place of the scenario's (e.g. another --speed). */
  speed?: string;
  /**
   * Runs beside the agent (given the agent's result to come), e.g. restarts the board once the device shows a
   * screen; the device keeps running until it ends. Its error fails the run.
   */
  during?: (sim: SimProcess, agent: Promise<AgentResult>) => Promise<void>;
  /** Leave out the scenario's --expect-organization/--expect-profile (the caller gives its own). */
  noExpectations?: boolean;
}

/** Starts the virtual device with the scenario, runs the agent against it over `transport`, reads both sides. */
export async function runScenario(e: Expectation, transport: 'pty' | 'tcp', extraArgs: string[] = [], opts: ScenarioRunOptions = {}): Promise<ScenarioRun> {
  const sim = await startSim(['--scenario', e.scenario, '--serial', transport, '--speed', opts.speed ?? SPEED, ...(opts.simArgs ?? [])]);
  try {
    const out = mkdtempSync(join(tmpdir(), `ahil-${basename(e.scenario, '.yaml')}-`));
    const hid = transport === 'pty' ? `serial:${sim.info.serial}` : `tcp://${sim.info.tcp}`;
    const args = ['run', '--hid', hid, '--capture', sim.info.video, '--out', out, '--log-level', 'warn',
      ...(opts.noExpectations ? [] : ['--expect-organization', CONTOSO.organization, '--expect-profile', CONTOSO.profile]), ...extraArgs];
    if (e.wifiKey) args.push('--wifi-ssid', 'LabNet');
    const agentRun = runAgent(args, e.wifiKey ? { AUTOPILOT_HIL_WIFI_KEY: e.wifiKey } : {});
    const [agent] = await Promise.all([agentRun, opts.during?.(sim, agentRun)]);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    const state = await sim.state();
    return { agent, report, state, out };
  } finally {
    await sim.stop();
  }
}

export const windowsKeyDowns = (state: SimState) =>
  state.hid.filter((ev) => ev.type === 'key' && ev.down === true && (ev.code === 'MetaLeft' || ev.code === 'MetaRight')).length;

/** Every file under `dir`, as bytes. */
function filesUnder(dir: string): { path: string; data: Buffer }[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [{ path, data: readFileSync(path) }];
  });
}

/** The secret in no file of the run folder, in any byte form a program could leave it (UTF-8, UTF-16). */
export function expectSecretNowhere(dir: string, secret: string): void {
  const forms = [Buffer.from(secret, 'utf8'), Buffer.from(secret, 'utf16le')];
  const files = filesUnder(dir);
  expect(files.length).toBeGreaterThan(3);
  for (const f of files) for (const form of forms) expect(f.data.includes(form), `${f.path} holds the Wi-Fi key`).toBe(false);
}

interface StateHistory { history: { screen: string }[]; attempts: number; diagnosticsExported: number }

/** What a lab engineer would check after the run: verdict, exit code, report fields, evidence, and the device's own record. */
export function checkScenario(e: Expectation, run: ScenarioRun): void {
  const { agent, report, state, out } = run;
  const context = `${e.scenario}: ${JSON.stringify(report.failure ?? null)} ${agent.stderr.slice(-2000)}`;
  const st = state as unknown as SimState & StateHistory;
  const setups = 1 + (e.resets ?? 0);
  expect(report.result, context).toBe(e.result);
  expect(agent.code, context).toBe(e.exit);
  // The Windows sign-in screen looks the same on both: unless a boot screen told it, the OS stays unknown.
  if (e.osUnknown) expect([null, e.os], context).toContain(report.os);
  else expect(report.os, context).toBe(e.os);
  // Five Windows-key presses per setup that reached the sign-in page, and nowhere else.
  expect(windowsKeyDowns(state), context).toBe(e.reachesSignin ? 5 * setups : 0);
  // Nothing but the Wi-Fi key is ever typed: in particular no sign-in at the Entra page.
  expect(state.typed, context).toBe((e.wifiKey ?? '').repeat(setups));
  if (e.attempts !== undefined) expect(report.attempts, context).toBe(e.attempts);
  if (e.attempts !== undefined) expect(st.attempts, context).toBe(e.attempts);
  // Every step keeps the frame it was taken on, and the file is there.
  for (const step of report.steps) {
    expect(step.frameBefore, context).toMatch(/^frames\/\d{3}-[a-z-]+-(before|after|seen)\.(jpg|png)$/);
    expect(existsSync(join(out, step.frameBefore)), step.frameBefore).toBe(true);
  }
  if (e.result === 'passed') {
    expect(state.resealed, context).toBe(true);
    expect(report.failure).toBeUndefined();
    expect(report.device.organization).toBe('Contoso');
    expect(report.device.profile).toBe('Lab pre-provisioning');
    expect(report.device.serialNumber).toBe('PF3X9K2L');
    expect(report.device.ztdId).toBe('6f1d0b3e-8c2a-4e57-9b1d-3a7c5e9f2d41');
    expect(report.device.elapsed).toMatch(/^\d+:\d\d:\d\d$/);
    expect(report.steps.at(-1).action).toMatch(/^device dark after Reseal/);
    // The ESP timeline: phase by phase, each item with its state and since when it has had it.
    expect(report.esp.length, context).toBeGreaterThan(2);
    const lastSample = report.esp.at(-1);
    expect(lastSample.phases.map((p: any) => p.name)).toEqual(['Device preparation', 'Device setup', 'Account setup']);
    expect(lastSample.phases[1].state).toBe('complete');
    const items = report.esp.flatMap((s: any) => s.phases.flatMap((p: any) => p.items));
    expect(items.length).toBeGreaterThan(3);
    for (const item of items) expect(Date.parse(item.since) <= Date.parse(report.esp.at(-1).at) + 1).toBe(true);
    expect(new Set(items.map((i: any) => i.since)).size, 'items change at different times').toBeGreaterThan(2);
  } else {
    expect(state.resealed, context).toBe(false);
    expect(report.failure.category).toBe(e.result);
    expect(report.failure.frame, context).toMatch(/^frames\//);
    expect(existsSync(join(out, report.failure.frame))).toBe(true);
  }
  if (e.errorCode) {
    expect(report.device.errorCode).toBe(e.errorCode);
    expect(report.failure.code).toBe(e.errorCode);
  }
  if (e.failureMatches) expect(report.failure.message).toMatch(e.failureMatches);
  // Diagnostics first on every red screen: the export, with the screens kept as evidence.
  const exports = report.steps.filter((s: any) => /^press Export logs/.test(s.action));
  expect(exports.length, context).toBe(e.failures ?? 0);
  expect(st.diagnosticsExported, context).toBe(e.failures ?? 0);
  for (const s of exports) {
    expect(s.note).toMatch(/logs were saved/);
    expect(s.frameAfter).toMatch(/^frames\//);
  }
  // Refresh only as often as the profile needed it.
  const refreshes = report.steps.filter((s: any) => s.screen === 'provisioning-config' && /^press Refresh/.test(s.action)).length;
  expect(refreshes, context).toBe(e.refreshes ?? 0);
  // Never a Reset unless asked: the device never went back to setup after a red screen.
  const firstRed = st.history.findIndex((h) => h.screen === 'provisioning-failure');
  const backToSetup = firstRed < 0 ? [] : st.history.slice(firstRed).filter((h) => /^oobe-(region|network|keyboard)$/.test(h.screen));
  expect(backToSetup.length > 0, context).toBe((e.resets ?? 0) > 0);
  expect(report.steps.filter((s: any) => /^press Reset/.test(s.action)).length).toBe(e.resets ?? 0);
  // The key never reaches any file of the run.
  expectSecretNowhere(out, WIFI_KEY);
}
