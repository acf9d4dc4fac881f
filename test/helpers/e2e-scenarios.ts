// The built-in scenarios and the verdict the agent must reach on each: shared by the pty and TCP suites.
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runAgent, startSim, type AgentResult, type SimProcess, type SimState } from './processes.ts';

export const SPEED = '600';

export interface Expectation {
  scenario: string;
  result: 'passed' | 'product';
  exit: number;
  /** The Wi-Fi key the device was given, when it joins Wi-Fi: the only thing ever typed. */
  wifiKey?: string;
  reachesSignin: boolean;
  errorCode?: string;
  attempts?: number;
  failureMatches?: RegExp;
}

const CONTOSO = { organization: 'Contoso', profile: 'Lab pre-provisioning' };

export const SCENARIOS: Expectation[] = [
  { scenario: 'win11', result: 'passed', exit: 0, wifiKey: 'autopilot-lab-2026', reachesSignin: true, attempts: 1 },
  { scenario: 'win11-wired', result: 'passed', exit: 0, reachesSignin: true, attempts: 1 },
  { scenario: 'win10', result: 'passed', exit: 0, wifiKey: 'autopilot-lab-2026', reachesSignin: true, attempts: 1 },
  { scenario: 'win10-wired', result: 'passed', exit: 0, reachesSignin: true, attempts: 1 },
  { scenario: 'esp-failure', result: 'product', exit: 1, wifiKey: 'autopilot-lab-2026', reachesSignin: true, errorCode: '0x800705B4', attempts: 2 },
  { scenario: 'retry-success', result: 'passed', exit: 0, wifiKey: 'autopilot-lab-2026', reachesSignin: true, attempts: 2 },
  { scenario: 'no-profile', result: 'product', exit: 1, wifiKey: 'autopilot-lab-2026', reachesSignin: false, failureMatches: /Autopilot profile/ },
];

export interface ScenarioRun { agent: AgentResult; report: any; state: SimState; out: string }

export interface ScenarioRunOptions {
  /** More arguments for the virtual device, e.g. ['--line-corrupt', '0.01', '--line-drop', '0.005']. */
  simArgs?: string[];
  /**
   * Runs beside the agent (given the agent's result to come), e.g. restarts the board once the device shows a
   * screen; the device keeps running until it ends. Its error fails the run.
   */
  during?: (sim: SimProcess, agent: Promise<AgentResult>) => Promise<void>;
}

/** Starts the virtual device with the scenario, runs the agent against it over `transport`, reads both sides. */
export async function runScenario(e: Expectation, transport: 'pty' | 'tcp', extraArgs: string[] = [], opts: ScenarioRunOptions = {}): Promise<ScenarioRun> {
  const sim = await startSim(['--scenario', e.scenario, '--serial', transport, '--speed', SPEED, ...(opts.simArgs ?? [])]);
  try {
    const out = mkdtempSync(join(tmpdir(), `ahil-${e.scenario}-`));
    const hid = transport === 'pty' ? `serial:${sim.info.serial}` : `tcp://${sim.info.tcp}`;
    const args = ['run', '--hid', hid, '--capture', sim.info.video, '--out', out, '--log-level', 'warn',
      '--expect-organization', CONTOSO.organization, '--expect-profile', CONTOSO.profile, ...extraArgs];
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

const windowsKeyDowns = (state: SimState) =>
  state.hid.filter((ev) => ev.type === 'key' && ev.down === true && (ev.code === 'MetaLeft' || ev.code === 'MetaRight')).length;

/** What a lab engineer would check after the run: verdict, exit code, report fields, and the device's own record. */
export function checkScenario(e: Expectation, run: ScenarioRun): void {
  const { agent, report, state } = run;
  const context = `${e.scenario}: ${JSON.stringify(report.failure ?? null)} ${agent.stderr.slice(-2000)}`;
  expect(report.result, context).toBe(e.result);
  expect(agent.code, context).toBe(e.exit);
  expect(windowsKeyDowns(state), context).toBe(e.reachesSignin ? 5 : 0);
  // Nothing but the Wi-Fi key is ever typed: in particular no sign-in at the Entra page.
  expect(state.typed, context).toBe(e.wifiKey ?? '');
  if (e.attempts !== undefined) expect(report.attempts, context).toBe(e.attempts);
  if (e.result === 'passed') {
    expect(state.resealed, context).toBe(true);
    expect(report.device.organization).toBe('Contoso');
    expect(report.device.profile).toBe('Lab pre-provisioning');
    expect(report.device.serialNumber).toBe('PF3X9K2L');
    expect(report.device.ztdId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(report.device.elapsed).toMatch(/^\d+:\d\d:\d\d$/);
  } else {
    expect(state.resealed, context).toBe(false);
    expect(report.failure.category).toBe(e.result);
  }
  if (e.errorCode) {
    expect(report.device.errorCode).toBe(e.errorCode);
    expect(report.failure.code).toBe(e.errorCode);
  }
  if (e.failureMatches) expect(report.failure.message).toMatch(e.failureMatches);
  // The key never reaches the report.
  expect(JSON.stringify(report)).not.toContain('autopilot-lab-2026');
}
