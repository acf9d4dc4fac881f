// The command line as a lab engineer meets it: help, bad usage, the built-in device, and a wrong profile.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAgent, startSim } from './helpers/processes.ts';

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `ahil-${name}-`));

describe('autopilot-hil command', () => {
  it('shows its commands in --help', async () => {
    const r = await runAgent(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['run', 'classify', 'sim']) expect(r.stdout).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));
  });

  it('refuses --hid without --capture with exit 64 and says why', async () => {
    const r = await runAgent(['run', '--hid', 'tcp://127.0.0.1:9']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('--hid and --capture go together');
  });

  it('refuses an unknown scenario with exit 64, naming it', async () => {
    const r = await runAgent(['run', '--scenario', 'no-such-scenario', '--out', tmp('bad')]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("no-such-scenario");
  });

  it('refuses bad values of the flow options with exit 64, naming the option', async () => {
    const pointer = await runAgent(['run', '--pointer', 'relative', '--out', tmp('bad')]);
    expect(pointer.code).toBe(64);
    expect(pointer.stderr).toContain("'relative' is invalid");
    const keyOn = await runAgent(['run', '--windows-key-on', 'oobe-network', '--out', tmp('bad')]);
    expect(keyOn.code).toBe(64);
    expect(keyOn.stderr).toContain("--windows-key-on 'oobe-network': expected screens among entra-signin, oobe-region, oobe-keyboard");
    const timeout = await runAgent(['run', '--screen-timeout', 'soon', '--out', tmp('bad')]);
    expect(timeout.code).toBe(64);
    expect(timeout.stderr).toContain("--screen-timeout 'soon'");
  });

  it('shows the flow options in run --help', async () => {
    const r = await runAgent(['run', '--help']);
    for (const opt of ['--pointer', '--allow-reset', '--screen-timeout', '--windows-key-on', '--esp-timeout', '--retries']) expect(r.stdout).toContain(opt);
  });

  it('refuses an unknown option with exit 64', async () => {
    const r = await runAgent(['run', '--no-such-option']);
    expect(r.code).toBe(64);
  });

  it('runs the whole Windows 11 flow on the built-in virtual device (the quick start)', async () => {
    const out = tmp('builtin');
    const r = await runAgent(['run', '--scenario', 'win11', '--speed', '600', '--out', out, '--log-level', 'warn']);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.result, r.stderr).toBe('passed');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(join(out, 'report.json'));
    expect(report.os).toBe('win11');
    expect(report.device).toMatchObject({ organization: 'Contoso', profile: 'Lab pre-provisioning', serialNumber: 'PF3X9K2L' });
    expect(report.steps.length).toBeGreaterThan(8);
    // Every action step keeps the frame it acted on, and the key stays masked.
    for (const step of report.steps) expect(step.frameBefore).toMatch(/^frames\//);
    expect(readFileSync(join(out, 'run.log'), 'utf8')).not.toContain('autopilot-lab-2026');
  }, 240_000);

  it('never provisions a device that shows another profile than expected', async () => {
    const sim = await startSim(['--scenario', 'win11-wired', '--serial', 'tcp', '--speed', '600']);
    try {
      const out = tmp('wrong-profile');
      const r = await runAgent(['run', '--hid', `tcp://${sim.info.tcp}`, '--capture', sim.info.video, '--out', out,
        '--expect-organization', 'Contoso', '--expect-profile', 'Kiosk devices', '--log-level', 'warn']);
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
      expect(r.code).toBe(1);
      expect(report.result).toBe('product');
      expect(report.failure.message).toContain('Kiosk devices');
      expect(report.failure.message).toContain('Lab pre-provisioning');
      expect(report.expected.profile).toBe('Kiosk devices');
      expect(report.device.profile).toBe('Lab pre-provisioning');
      // Refresh was tried (bounded by the flow), Provision never.
      expect(report.steps.filter((st: any) => /^press Refresh/.test(st.action))).toHaveLength(2);
      expect(report.steps.some((st: any) => /provision#/.test(st.action))).toBe(false);
      const state = await sim.state();
      expect(state.screen).toBe('provisioning-config');
      expect(state.attempts).toBe(0);
      expect(state.resealed).toBe(false);
    } finally {
      await sim.stop();
    }
  }, 240_000);
});
