// The branches of the technician flow that run options choose, end to end on the virtual device (separate
// processes, TCP serial line): keys only (no pointer), the Windows key on the first setup screens, Reset,
// a grabber with black bars, expectations that do not match, screens the flow does not expect, timeouts.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { CONTOSO, checkScenario, runScenario, scenario, windowsKeyDowns, type Expectation } from './helpers/e2e-scenarios.ts';
import type { SimState } from './helpers/processes.ts';

const T = 240_000;
const pointerEvents = (state: SimState) => state.hid.filter((ev) => ev.type === 'move' || ev.type === 'button').length;
const keyDowns = (state: SimState, code: string) => state.hid.filter((ev) => ev.type === 'key' && ev.down && ev.code === code).length;
const history = (state: SimState) => (state.history as { screen: string }[]).map((h) => h.screen);

/** The shipped flow, changed by `edit`, as a file of its own. */
function flowFile(edit: (flow: any) => void): string {
  const flow = parse(readFileSync(new URL('../flows/technician.yaml', import.meta.url), 'utf8'));
  edit(flow);
  const file = join(mkdtempSync(join(tmpdir(), 'ahil-flow-')), 'edited.yaml');
  writeFileSync(file, stringify(flow));
  return file;
}

describe('choosing by keys, with no pointer (--pointer none)', () => {
  for (const name of ['win11', 'win10']) {
    it(`${name}: passes with keys only, the option selected on screen before the button is pressed`, async () => {
      const e = scenario(name);
      const run = await runScenario(e, 'tcp', ['--pointer', 'none']);
      checkScenario(e, run);
      expect(pointerEvents(run.state)).toBe(0);
      expect(keyDowns(run.state, 'ArrowDown')).toBeGreaterThanOrEqual(2); // the network and the option
      const steps = run.report.steps as any[];
      const choose = steps.findIndex((s) => s.screen === 'provisioning-options' && /^press (Next|Continue) \(keys Enter\)/.test(s.action));
      expect(choose).toBeGreaterThan(0);
      // The press was taken on a frame that showed the wanted option selected.
      expect(steps[choose].fields.selected).toBe(name === 'win11' ? 'Pre-provision with Windows Autopilot' : 'Windows Autopilot provisioning');
      expect(steps[choose - 1].action).toMatch(/keys ArrowDown/);
    }, T);
  }
});

describe('the Windows key on the first setup screens (--windows-key-on)', () => {
  const cases: [string, string, string[]][] = [
    ['win11', 'oobe-region', []],
    ['win10', 'oobe-keyboard', ['--pointer', 'none']],
  ];
  for (const [name, on, extra] of cases) {
    it(`${name}: five evenly spaced presses on ${on} open the options; setup goes on through the network to the configuration`, async () => {
      const e = scenario(name);
      const run = await runScenario(e, 'tcp', ['--windows-key-on', on, ...extra]);
      checkScenario(e, run);
      const seen = history(run.state);
      expect(seen[seen.indexOf('provisioning-options') - 1]).toBe(on);
      expect(seen).not.toContain('entra-signin');
      const press = (run.report.steps as any[]).find((s) => /^Windows key ×5/.test(s.action));
      expect(press.screen).toBe(on);
      const at = press.fields.pressesAtMs as number[];
      expect(at).toHaveLength(5);
      at.forEach((t, i) => expect(t).toBeGreaterThanOrEqual(i * 400));
      // On the device too: five separate presses, not a burst.
      const downs = run.state.hid.filter((ev: any) => ev.type === 'key' && ev.down && ev.code === 'MetaLeft').map((ev: any) => ev.t as number);
      for (let i = 1; i < downs.length; i++) expect(downs[i] - downs[i - 1]).toBeGreaterThanOrEqual(250);
    }, T);
  }
});

describe('Reset only with --allow-reset, after the retries, then setup again', () => {
  for (const name of ['retry-success', 'win10-retry-success']) {
    it(`${name} with --retries 0 --allow-reset: diagnostics, Reset, setup from the start, the second attempt passes`, async () => {
      const base = scenario(name);
      const e: Expectation = { ...base, resets: 1, attempts: 2, failures: 1 };
      const run = await runScenario(e, 'tcp', ['--retries', '0', '--allow-reset']);
      checkScenario(e, run);
      const actions = (run.report.steps as any[]).map((s) => s.action);
      expect(actions.filter((a) => /provision#\d/.test(a)).map((a) => /provision#(\d)/.exec(a)![1])).toEqual(['1', '2']);
      expect(actions.some((a) => /^press Retry/.test(a))).toBe(false);
      // Diagnostics came before the Reset.
      expect(actions.findIndex((a) => /^press Export logs/.test(a))).toBeLessThan(actions.findIndex((a) => /^press Reset/.test(a)));
    }, T);
  }
});

describe('clicks through a grabber with black bars', () => {
  it('maps click points into the active picture (win11, bars on every side), with every expectation given', async () => {
    const e = scenario('win11-wired');
    const run = await runScenario(e, 'tcp', ['--expect-ztdid', '6f1d0b3e-8c2a-4e57-9b1d-3a7c5e9f2d41', '--expect-serial', 'PF3X9K2L', '--expect-user', ''],
      { simArgs: ['--border', '0.05,0.05,0.12,0.12'] });
    checkScenario(e, run);
    expect(pointerEvents(run.state)).toBeGreaterThan(0);
    expect(run.report.expected).toEqual({ ...CONTOSO, user: '', ztdId: '6f1d0b3e-8c2a-4e57-9b1d-3a7c5e9f2d41', serialNumber: 'PF3X9K2L' });
  }, T);
});

describe('a configuration that does not match is never provisioned', () => {
  it('win10: Refresh while the profile is not the expected one (bounded), then exit 1, product, both values', async () => {
    const e = scenario('win10-late-profile');
    const run = await runScenario(e, 'tcp', ['--expect-organization', 'Contoso', '--expect-profile', 'Kiosk devices'], { noExpectations: true });
    expect(run.agent.code).toBe(1);
    expect(run.report.result).toBe('product');
    expect(run.report.failure.message).toContain('"Kiosk devices"');
    expect(run.report.failure.message).toContain('"Lab pre-provisioning"');
    expect(run.report.expected.profile).toBe('Kiosk devices');
    expect(run.report.device.profile).toBe('Lab pre-provisioning');
    const refreshes = (run.report.steps as any[]).filter((s) => /^press Refresh/.test(s.action));
    expect(refreshes).toHaveLength(2); // the flow's bound
    expect((run.state as any).attempts).toBe(0);
    expect(run.state.screen).toBe('provisioning-config');
    expect(windowsKeyDowns(run.state)).toBe(5);
  }, T);

  it('win11: a serial number that the QR code does not hold', async () => {
    const e = scenario('win11-wired');
    const run = await runScenario(e, 'tcp', ['--expect-serial', 'ZZ999999']);
    expect(run.agent.code).toBe(1);
    expect(run.report.result).toBe('product');
    expect(run.report.failure.message).toMatch(/serialNumber: expected "ZZ999999", the screen shows "PF3X9K2L"/);
    expect((run.state as any).attempts).toBe(0);
  }, T);
});

describe('screens the flow does not expect', () => {
  it('a screen the flow does not list (the license terms) ends the run: flow, the frame, what was expected', async () => {
    const file = flowFile((f) => {
      delete f.screens['oobe-eula'];
      f.start = f.start.filter((s: string) => s !== 'oobe-eula');
      for (const s of Object.values(f.screens) as any[]) if (s.next) s.next = s.next.filter((n: string) => n !== 'oobe-eula');
    });
    const run = await runScenario(scenario('eula'), 'tcp', ['--flow', file]);
    expect(run.agent.code).toBe(1);
    expect(run.report.result).toBe('flow');
    expect(run.report.failure.message).toMatch(/screen oobe-eula \(win11\) is not part of flow technician; expected next: oobe-region, .*entra-signin$/);
    expect(run.report.failure.frame).toMatch(/^frames\/\d{3}-oobe-eula-/);
  }, T);

  it('a screen that may not come after the current one ends the run the same way', async () => {
    const file = flowFile((f) => { f.screens['oobe-keyboard-second'].next = ['entra-signin']; });
    const run = await runScenario(scenario('win10'), 'tcp', ['--flow', file]);
    expect(run.report.result).toBe('flow');
    expect(run.agent.code).toBe(1);
    expect(run.report.failure.message).toBe('screen oobe-network is not expected after oobe-keyboard-second; expected next: entra-signin');
    expect(run.state.typed).toBe('');
  }, T);
});

describe('timeouts end the run with the last frame and what was expected next', () => {
  it('--screen-timeout: a boot screen that stays longer', async () => {
    const run = await runScenario(scenario('win11-wired'), 'tcp', ['--screen-timeout', '2'], { speed: '5' });
    expect(run.agent.code).toBe(1);
    expect(run.report.result).toBe('flow');
    expect(run.report.failure.message).toMatch(/stayed on (oobe-busy|no-signal) for more than 2 s; expected next: oobe-region, oobe-keyboard, oobe-network/);
    expect(run.report.failure.frame).toMatch(/^frames\//);
  }, T);

  it('--esp-timeout: an Enrollment Status Page that takes longer', async () => {
    const run = await runScenario(scenario('win10-wired'), 'tcp', ['--esp-timeout', '1'], { speed: '60' });
    expect(run.report.result).toBe('flow');
    expect(run.report.failure.message).toBe('the Enrollment Status Page took longer than 1 s (--esp-timeout); expected next: provisioning-success, provisioning-failure');
    expect(run.report.failure.frame).toMatch(/^frames\/\d{3}-esp-/);
    expect(run.state.resealed).toBe(false);
  }, T);

  it('--timeout: the whole run, kept inside an action too', async () => {
    const run = await runScenario(scenario('win11-wired'), 'tcp', ['--timeout', '3'], { speed: '5' });
    expect(run.report.result).toBe('flow');
    expect(run.agent.code).toBe(1);
    expect(run.report.failure.message).toMatch(/^the run took longer than 3 s \(--timeout\); expected next: /);
  }, T);
});
