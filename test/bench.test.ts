// A bench as a lab runs it overnight: `autopilot-hil bench run` drives several stations at once in one
// process, with faults injected into the virtual devices on the way (a capture that goes black, freezes or
// changes size, a device that restarts during the ESP, a board unplugged, a brief freeze). Each station must end with the
// right verdict and category, its own run folder and report, and one station's fault must never stop the
// others. A station whose self-test fails is marked bad and skipped until a self-test passes again.
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { runAgent, startSim } from './helpers/processes.ts';

const SPEED = 600;

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
const screensOf = (state: { history: { screen: string }[] }) => state.history.map((h) => h.screen);

describe('a bench of four virtual stations with faults injected', () => {
  it('ends each station with its own verdict while the others pass', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ahil-bench-'));
    const file = join(dir, 'bench.yaml');
    writeFileSync(file, [
      'name: night-shift',
      'defaults:',
      `  speed: ${SPEED}`,
      // Byte-identical frames for 15 s: a hung grabber (a live picture at this speed changes within seconds).
      '  timeouts: { frozen: 15 }',
      'stations:',
      '  - name: resize-reboot',
      '    virtual: win11-wired',
      '    faults:',
      '      - { at: entra-signin, fault: resize, size: 1280x720 }',
      '      - { at: esp, fault: reboot }',
      '  - name: black',
      '    virtual: win11-wired',
      '    faults:',
      '      - { at: entra-signin, fault: black, ms: 5000 }',
      '  - name: frozen',
      '    virtual: win11-wired',
      '    faults:',
      '      - { at: esp, fault: freeze, ms: 90000 }',
      '  - name: unplug',
      '    virtual: win11',
      '    faults:',
      '      - { at: oobe-network, fault: unplug, ms: 3000 }',
      // A brief freeze is ridden through.
      '      - { at: entra-signin, fault: freeze, ms: 3000 }',
    ].join('\n'));
    const out = join(dir, 'run');
    const agent = await runAgent(['bench', 'run', file, '--out', out]);
    const context = `${agent.stdout}\n${agent.stderr.slice(-3000)}`;

    // The frozen capture is infrastructure: the bench's exit code is that of its worst category.
    expect(agent.code, context).toBe(2);
    const summary = readJson(join(out, 'summary.json'));
    expect(summary.bench).toBe('night-shift');
    expect(Date.parse(summary.startedAt)).not.toBeNaN();
    expect(summary.durationMs).toBeGreaterThan(0);
    const byName = Object.fromEntries(summary.stations.map((s: { name: string }) => [s.name, s]));
    expect(Object.keys(byName).sort()).toEqual(['black', 'frozen', 'resize-reboot', 'unplug']);

    for (const name of ['resize-reboot', 'black', 'unplug']) {
      expect(byName[name].result, `${name}: ${byName[name].message} ${context}`).toBe('passed');
      expect(byName[name].category).toBeUndefined();
    }
    expect(byName.frozen.result, context).toBe('infrastructure');
    expect(byName.frozen.category).toBe('infrastructure');
    expect(byName.frozen.message).toMatch(/frozen: the same frame, byte for byte, for \d+ s/);

    // Every fault was really asked for, and answered by its device.
    const faultsOf = (name: string) => byName[name].faults.map((f: { fault: string; status: number }) => `${f.fault} ${f.status}`);
    expect(faultsOf('resize-reboot')).toEqual(['resize 200', 'reboot 200']);
    expect(faultsOf('black')).toEqual(['black 200']);
    expect(faultsOf('frozen')).toEqual(['freeze 200']);
    expect(faultsOf('unplug')).toEqual(['unplug 202', 'freeze 200']);

    // One run folder per station, each with its report, frames, logs and self-test.
    for (const s of summary.stations) {
      const runDir = join(out, s.reportDir);
      const report = readJson(join(runDir, 'report.json'));
      expect(report.station).toBe(s.name);
      expect(report.result).toBe(s.result);
      expect(readdirSync(join(runDir, 'frames')).length).toBeGreaterThan(3);
      expect(existsSync(join(runDir, 'run.log'))).toBe(true);
      expect(readJson(join(runDir, 'selftest.json')).ok).toBe(true);
      // Journaled like a single run (resumable with run --resume), and ended with the station's verdict.
      const journal = readFileSync(join(runDir, 'journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(journal[0]).toMatchObject({ kind: 'start', station: { builtin: { scenario: expect.any(String) } } });
      expect(journal.at(-1)).toMatchObject({ kind: 'end', result: s.result });
      expect(s.selfTest.checks.map((c: { name: string }) => c.name.split(' ')[0])).toEqual(['board', 'frames', 'ocr']);
      if (s.result === 'passed') {
        expect(report.device.organization).toBe('Contoso');
        expect(report.device.serialNumber).toBe('PF3X9K2L');
      }
    }
    // The device that restarted during the ESP came back to it, and the run followed it to the end.
    const rebooted = readJson(join(out, 'resize-reboot', 'device-state.json'));
    const screens = screensOf(rebooted);
    const firstEsp = screens.indexOf('esp');
    expect(screens.slice(firstEsp, firstEsp + 3), screens.join(' ')).toEqual(['esp', 'no-signal', 'oobe-busy']);
    expect(screens.lastIndexOf('esp')).toBeGreaterThan(firstEsp + 1);
    expect(rebooted.resealed).toBe(true);
    // After the resolution change the run went on at the new size.
    const frames = readdirSync(join(out, 'resize-reboot', 'frames')).sort();
    const last = await sharp(join(out, 'resize-reboot', 'frames', frames.at(-1)!)).metadata();
    expect(`${last.width}x${last.height}`).toBe('1280x720');
    // The dark 5 s were waited through.
    expect(readJson(join(out, 'black', 'report.json')).steps.some((st: { screen: string }) => st.screen === 'no-signal')).toBe(true);

    // JUnit: one suite per station.
    const junit = readFileSync(join(out, 'junit.xml'), 'utf8');
    expect(junit.match(/<testsuite /g)?.length).toBe(4);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('3 of 4 passed');

    // Health beside the bench file: all four passed their self-test.
    const health = readJson(join(dir, '.autopilot-hil', 'health.json'));
    for (const name of Object.keys(byName)) {
      expect(health.stations[name].state).toBe('good');
      expect(health.stations[name].lastRun.result).toBe(byName[name].result);
    }
    // The overview named each station with its result.
    for (const name of Object.keys(byName)) expect(agent.stderr).toMatch(new RegExp(`${name}\\s+${byName[name].result}`));
  }, 400_000);
});

describe('station health', () => {
  it('marks a station whose self-test fails bad and skips it, until it passes again; leaves maintenance alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ahil-health-'));
    const file = join(dir, 'bench.yaml');
    const bench = (hid: string, capture: string) => writeFileSync(file, [
      'health: state',
      'stations:',
      '  - name: lab-1',
      `    hid: ${hid}`,
      `    capture: ${capture}`,
      '    expect: { organization: Contoso, profile: Lab pre-provisioning }',
      '    wifi: { ssid: LabNet, keyEnv: AHIL_TEST_WIFI_KEY }',
      '    timeouts: { selfTest: 3 }',
      '  - name: spare',
      '    virtual: win11',
    ].join('\n'));
    const env = { AHIL_TEST_WIFI_KEY: 'autopilot-lab-2026' };
    const status = async () => {
      const r = await runAgent(['bench', 'status', file, '--json']);
      expect(r.code, r.stderr).toBe(0);
      return Object.fromEntries(JSON.parse(r.stdout).stations.map((s: { name: string }) => [s.name, s]));
    };

    // Nothing listens where lab-1's board and grabber should be; spare is taken out by hand.
    bench('tcp://127.0.0.1:9', 'http://127.0.0.1:9/stream');
    const set = await runAgent(['bench', 'status', file, '--set', 'spare=maintenance:grabber replaced']);
    expect(set.code, set.stderr).toBe(0);
    const first = await runAgent(['bench', 'run', file, '--out', join(dir, 'run-1'), '--log-level', 'warn'], env);
    expect(first.code, first.stderr).toBe(2);
    let summary = readJson(join(dir, 'run-1', 'summary.json'));
    const [lab1, spare] = summary.stations;
    expect(lab1).toMatchObject({ name: 'lab-1', result: 'skipped', category: 'infrastructure', health: 'bad' });
    expect(lab1.message).toMatch(/self-test failed.*board tcp:\/\/127\.0\.0\.1:9.*frames http:\/\/127\.0\.0\.1:9\/stream/);
    expect(readJson(join(dir, 'run-1', 'lab-1', 'report.json')).failure.category).toBe('infrastructure');
    expect(spare).toMatchObject({ name: 'spare', result: 'skipped', health: 'maintenance' });
    expect(spare.category).toBeUndefined();
    let health = await status();
    expect(health['lab-1'].state).toBe('bad');
    expect(health['lab-1'].reason).toMatch(/ECONNREFUSED/);
    expect(health.spare).toMatchObject({ state: 'maintenance', reason: 'grabber replaced', setBy: 'hand' });

    // The station is mended (its parts now answer): the next self-test passes and the station runs again.
    const sim = await startSim(['--scenario', 'no-profile', '--serial', 'tcp', '--speed', String(SPEED)]);
    try {
      bench(`tcp://${sim.info.tcp}`, sim.info.video);
      const second = await runAgent(['bench', 'run', file, '--out', join(dir, 'run-2'), '--log-level', 'warn'], env);
      // The device has no Autopilot profile: the run itself ends with product, exit 1 (spare does not count).
      expect(second.code, second.stderr).toBe(1);
      summary = readJson(join(dir, 'run-2', 'summary.json'));
      expect(summary.stations[0]).toMatchObject({ name: 'lab-1', result: 'product', category: 'product', health: 'good' });
      expect(summary.stations[1]).toMatchObject({ name: 'spare', result: 'skipped', health: 'maintenance' });
      health = await status();
      expect(health['lab-1'].state).toBe('good');
      expect(health['lab-1'].lastRun.result).toBe('product');
      // The key came from the environment variable the bench file names, and went nowhere else.
      expect((await sim.state()).typed).toBe('autopilot-lab-2026');
      for (const f of ['summary.json', 'lab-1/report.json', 'lab-1/progress.log', 'lab-1/run.log']) {
        expect(readFileSync(join(dir, 'run-2', f), 'utf8'), f).not.toContain('autopilot-lab-2026');
      }
      expect(readFileSync(join(dir, 'state', 'health.json'), 'utf8')).not.toContain('autopilot-lab-2026');
    } finally {
      await sim.stop();
    }

    // Back from maintenance by hand.
    expect((await runAgent(['bench', 'status', file, '--set', 'spare=good'])).code).toBe(0);
    expect((await status()).spare.state).toBe('good');
  }, 300_000);
});
