// The flow is data: the shipped one loads, covers every screen, says what may follow what; a broken one is
// refused naming file, line and field; the transition and timeout rules apply to what the recognizer reads.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLOWS_DIR, SCREEN_IDS, forOs, labelFor, loadFlow, mayFollow } from '../agent/engine/flow.ts';
import { ScreenTracker } from '../agent/engine/transitions.ts';
import type { RunOptions } from '../agent/engine/context.ts';
import type { Recognition, ScreenId } from '../agent/vision/types.ts';
import { RunFailure } from '../agent/engine/errors.ts';

const tmpFile = (name: string, text: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'ahil-flow-')), name);
  writeFileSync(file, text);
  return file;
};
const shipped = readFileSync(`${FLOWS_DIR}technician.yaml`, 'utf8');
const rec = (screen: ScreenId): Recognition => ({ screen, os: 'win11', confidence: 1, lines: [], fields: {}, width: 1280, height: 720, ms: 0 });
const options: RunOptions = { flow: 'technician', os: 'auto', station: 't', outDir: '/tmp', expected: {}, retries: 1, reseal: true };

describe('flows/technician.yaml', () => {
  const flow = loadFlow('technician');

  it('has a step for every screen of reference/screens.md, with labels and keys per OS', () => {
    for (const screen of SCREEN_IDS) expect(flow.screens[screen], screen).toBeDefined();
    expect(flow.screens['entra-signin']!.do).toBe('windows-key');
    expect(labelFor(flow.screens['provisioning-options']!.option, 'win10')).toBe('Windows Autopilot provisioning');
    expect(labelFor(flow.screens['provisioning-options']!.option, 'win11')).toBe('Pre-provision with Windows Autopilot');
    expect(labelFor(flow.screens['provisioning-config']!.controls!.button.label, 'win10')).toBe('Provision');
    expect(labelFor(flow.screens['provisioning-config']!.controls!.button.label, 'win11')).toBe('Next');
    // Windows 11 diagnostics are a chord, Windows 10's a button.
    const diag = flow.screens['provisioning-failure']!.controls!.diagnostics;
    expect(labelFor(diag.label, 'win11')).toBeUndefined();
    expect(forOs(diag.keys, 'win11')).toEqual(['ControlLeft+ShiftLeft+KeyD']);
    expect(labelFor(diag.label, 'win10')).toBe('View diagnostics');
    expect(flow.screens['esp']!.timeout).toBe(5400);
    expect(flow.windowsKey).toMatchObject({ presses: 5, on: ['entra-signin'] });
  });

  it('says what may follow what: listed screens, the same one, transient and off-path screens at any time', () => {
    expect(mayFollow(flow, null, 'oobe-region')).toBe(true);
    expect(mayFollow(flow, null, 'esp')).toBe(false);
    expect(mayFollow(flow, 'oobe-region', 'oobe-keyboard')).toBe(true);
    expect(mayFollow(flow, 'oobe-region', 'provisioning-options')).toBe(true); // the Windows key on the first page
    expect(mayFollow(flow, 'oobe-region', 'esp')).toBe(false);
    expect(mayFollow(flow, 'provisioning-config', 'esp')).toBe(true);
    expect(mayFollow(flow, 'provisioning-config', 'oobe-busy')).toBe(true);
    expect(mayFollow(flow, 'esp', 'no-signal')).toBe(true);
    expect(mayFollow(flow, 'esp', 'windows-login')).toBe(true);
    expect(mayFollow(flow, 'provisioning-success', 'esp')).toBe(false);
    expect(mayFollow(flow, 'esp', 'unknown')).toBe(false);
  });

  it('refuses a flow with a bad field, naming the file, the line and the field', () => {
    const file = tmpFile('broken.yaml', shipped.replace('  oobe-keyboard-second:\n    do: press', '  oobe-keyboard-second:\n    do: dance'));
    const line = shipped.split('\n').findIndex((l) => l.startsWith('  oobe-keyboard-second:')) + 2;
    expect(() => loadFlow(file)).toThrowError(new RegExp(`broken\\.yaml:${line}: field 'screens\\.oobe-keyboard-second\\.do'`));
  });

  it('refuses a next screen that has no step, a step without the control its action needs, and an unknown key', () => {
    const noStep = tmpFile('a.yaml', shipped.replace('next: [oobe-keyboard-second, provisioning-options]', 'next: [oobe-keyboard-second, oobe-lunch]'));
    expect(() => loadFlow(noStep)).toThrowError(/field 'screens\.oobe-keyboard\.next\.0|screens\.oobe-keyboard\.next\.1'/);
    const noControl = tmpFile('b.yaml', shipped.replace('controls: { button: { label: Skip, keys: [Enter] } }', 'timeout: 60'));
    expect(() => loadFlow(noControl)).toThrowError(/field 'screens\.oobe-keyboard-second\.controls\.button': missing: "do: press" needs this control/);
    const badChord = tmpFile('c.yaml', shipped.replace('label: Skip, keys: [Enter]', 'label: Skip, keys: ["Enter!"]'));
    expect(() => loadFlow(badChord)).toThrowError(/c\.yaml:\d+: field 'screens\.oobe-keyboard-second\.controls\.button\.keys/);
    const unknown = tmpFile('d.yaml', shipped.replace('  oobe-eula:\n', '  oobe-eula:\n    colour: red\n'));
    expect(() => loadFlow(unknown)).toThrowError(/d\.yaml:\d+: field 'screens\.oobe-eula\.colour'/);
  });
});

describe('ScreenTracker: transitions and timeouts on what is read', () => {
  const flow = loadFlow('technician');

  it('ends the run (flow) on a screen not allowed after the current one, saying what was expected', () => {
    const t = new ScreenTracker(flow, options);
    t.see(rec('no-signal'));
    t.see(rec('oobe-busy'));
    t.see(rec('oobe-region'));
    t.see(rec('oobe-busy')); // transient: still after oobe-region
    let err: unknown;
    try { t.see(rec('provisioning-config')); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(RunFailure);
    expect((err as RunFailure).category).toBe('flow');
    expect((err as RunFailure).message).toBe('screen provisioning-config is not expected after oobe-region; expected next: oobe-keyboard, provisioning-options');
  });

  it('takes the first screen of a resumed run as it is', () => {
    const t = new ScreenTracker(flow, options, true);
    expect(() => t.see(rec('esp'))).not.toThrow();
    expect(() => t.see(rec('provisioning-success'))).not.toThrow();
  });

  it('times a screen by the flow, --screen-timeout, and the ESP (with its reboots) by --esp-timeout', () => {
    const t0 = Date.now();
    const t = new ScreenTracker(flow, { ...options, timeouts: { screen: 10, esp: 100 } });
    t.see(rec('oobe-region'), t0);
    expect(() => t.see(rec('oobe-region'), t0 + 9_000)).not.toThrow();
    expect(() => t.see(rec('oobe-region'), t0 + 11_000)).toThrowError('the device stayed on oobe-region for more than 10 s; expected next: oobe-keyboard, provisioning-options');
    const e = new ScreenTracker(flow, { ...options, timeouts: { esp: 100 } }, true);
    e.see(rec('esp'), t0);
    e.see(rec('no-signal'), t0 + 50_000);
    expect(() => e.see(rec('esp'), t0 + 99_000)).not.toThrow();
    expect(() => e.see(rec('oobe-busy'), t0 + 101_000)).toThrowError(/Enrollment Status Page took longer than 100 s \(--esp-timeout\); expected next: provisioning-success, provisioning-failure/);
  });

  it('gives unrecognized frames a grace, then ends with what they read', () => {
    const t0 = Date.now();
    const t = new ScreenTracker(flow, options);
    t.see(rec('oobe-region'), t0);
    const odd = { ...rec('unknown'), lines: [{ text: 'Something else', box: { x0: 0, y0: 0, x1: 1, y1: 1 }, confidence: 1 }] };
    t.see(odd, t0 + 1000);
    expect(() => t.see(odd, t0 + 20_000)).not.toThrow();
    expect(() => t.see(odd, t0 + 32_000)).toThrowError(/unexpected screen stayed for 31 s: it reads "Something else"; expected next: oobe-keyboard/);
  });
});
