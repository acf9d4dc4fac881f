// The flow's use of a station's power: a device that is off when the run starts is powered on through the
// board's power button (and only then), and a flow that says so powers a failed device off. Real programs and
// parts: the virtual device as its own process, the agent as `autopilot-hil run`, the board over TCP.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ROOT, runAgent, startSim } from './helpers/processes.ts';
import { openHidDevice } from '../drivers/hid/open.ts';
import { openCaptureSpec } from '../drivers/capture/open.ts';
import { openPower } from '../drivers/power/open.ts';
import { Recognizer, findText } from '../agent/vision/recognizer.ts';
import { runFlow } from '../agent/engine/runner.ts';
import { Progress } from '../agent/engine/progress.ts';

const EXPECT = ['--expect-organization', 'Contoso', '--expect-profile', 'Lab pre-provisioning'];

describe('power in the flow', () => {
  it('powers a dark device on at the start with --power board, then runs it to a resealed end; never on again', async () => {
    const sim = await startSim(['--scenario', 'win11-wired', '--serial', 'tcp', '--speed', '600', '--powered-off']);
    try {
      const out = mkdtempSync(join(tmpdir(), 'ahil-power-'));
      const agent = await runAgent(['run', '--hid', `tcp://${sim.info.tcp}`, '--capture', sim.info.video, '--power', 'board',
        '--out', out, '--log-level', 'warn', ...EXPECT]);
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
      const state = await sim.state();
      const context = `${JSON.stringify(report.failure ?? null)} ${agent.stderr.slice(-1500)}`;
      expect(report.result, context).toBe('passed');
      expect(agent.code).toBe(0);
      const powerSteps = report.steps.filter((s: { action: string }) => /^power on/.test(s.action));
      expect(powerSteps).toHaveLength(1);
      expect(powerSteps[0].screen).toBe('no-signal');
      // Reseal shut it down, and the agent left it off.
      expect(state.resealed).toBe(true);
      expect(state.poweredOn).toBe(false);
      const journal = readFileSync(join(out, 'journal.jsonl'), 'utf8');
      expect(journal).toContain('"power-on"');
    } finally {
      await sim.stop();
    }
  }, 240_000);

  it('leaves a booting device alone, and powers it off after a failure when the flow says offAfterFailure', async () => {
    const sim = await startSim(['--scenario', 'esp-failure', '--serial', 'tcp', '--speed', '600']);
    const flowFile = join(mkdtempSync(join(tmpdir(), 'ahil-flow-')), 'off-after-failure.yaml');
    const flow = parse(readFileSync(join(ROOT, 'flows/technician.yaml'), 'utf8'));
    flow.power = { onAtStart: true, offAfterFailure: true };
    writeFileSync(flowFile, stringify(flow));
    const hid = await openHidDevice(`tcp://${sim.info.tcp}`);
    const capture = await openCaptureSpec(sim.info.video);
    const reader = await Recognizer.create();
    const power = await openPower('board', { station: 'p', board: hid });
    try {
      const out = mkdtempSync(join(tmpdir(), 'ahil-power-off-'));
      const { report } = await runFlow({ hid, capture, reader, findText, power }, {
        flow: flowFile, os: 'auto', station: 'p', outDir: out, expected: { organization: 'Contoso' },
        wifi: { ssid: 'LabNet', key: 'autopilot-lab-2026' }, retries: 0, reseal: true,
      }, new Progress('silent'));
      expect(report.result, JSON.stringify(report.failure)).toBe('product');
      expect(report.steps.at(-1)!.action).toMatch(/^power off after the failure/);
      expect(report.steps.at(-1)!.note).toBeUndefined();
      // The device was booting (dark for a moment, not off): its power button was left alone at the start.
      expect(report.steps.some((s: { action: string }) => /^power on/.test(s.action))).toBe(false);
      const state = await sim.state();
      expect(state.poweredOn).toBe(false);
      expect(state.resealed).toBe(false);
    } finally {
      await Promise.allSettled([hid.close(), capture.close(), reader.close(), power.close()]);
      await sim.stop();
    }
  }, 240_000);
});
