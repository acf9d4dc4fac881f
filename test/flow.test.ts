// The flow is data: the shipped one loads, covers every screen of the path, and a broken one is refused clearly.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labelFor, loadFlow } from '../agent/engine/flow.ts';

describe('flows/technician.yaml', () => {
  it('has a step for every screen of the technician path and every off-path screen', () => {
    const flow = loadFlow('technician');
    for (const screen of ['no-signal', 'oobe-busy', 'oobe-region', 'oobe-keyboard', 'oobe-keyboard-second', 'oobe-network',
      'oobe-eula', 'entra-signin', 'provisioning-options', 'provisioning-config', 'esp', 'provisioning-success',
      'provisioning-failure', 'oobe-consumer-setup', 'msa-signin', 'oobe-device-name', 'oobe-privacy', 'windows-login']) {
      expect(flow.screens[screen], screen).toBeDefined();
    }
    expect(flow.screens['entra-signin'].do).toBe('windows-key-x5');
    expect(labelFor(flow.screens['provisioning-options'].option, 'win10')).toBe('Windows Autopilot provisioning');
    expect(labelFor(flow.screens['provisioning-options'].option, 'win11')).toBe('Pre-provision with Windows Autopilot');
    expect(labelFor(flow.screens['provisioning-config'].button, 'win10')).toBe('Provision');
    expect(flow.screens['esp'].timeout).toBe(5400);
  });

  it('refuses a flow file with a bad field, naming the file and the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ahil-flow-'));
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'name: broken\ntimeouts: { run: 10, unknownGrace: 5, confirm: 5, defaultScreen: 5 }\n' +
      'retries: { action: 1, windowsKey: 1, refresh: 0 }\nscreens:\n  oobe-region: { do: dance }\n');
    expect(() => loadFlow(file)).toThrowError(/broken\.yaml: field 'screens\.oobe-region\.do'/);
  });
});
