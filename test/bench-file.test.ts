// Bench files as a lab writes them, and as it gets them wrong: each mistake ends `bench run` with exit code
// 64 and a message that names the file, the line and the field, before any station is touched.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBench } from '../agent/bench/bench-file.ts';
import { runAgent } from './helpers/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'ahil-bench-file-'));
let n = 0;
function benchFile(text: string): string {
  const file = join(dir, `bench-${++n}.yaml`);
  writeFileSync(file, text);
  return file;
}

interface Bad { what: string; text: string; line: number; field: string; says: RegExp; env?: Record<string, string> }

const BAD: Bad[] = [
  {
    what: 'two stations with the same name',
    text: 'stations:\n  - name: a\n    virtual: win11\n  - name: b\n    virtual: win10\n  - name: a\n    virtual: win11-wired\n',
    line: 6, field: 'stations[2].name', says: /duplicate station name "a" \(also stations\[0\], line 2\)/,
  },
  {
    what: 'a Wi-Fi key written into the file',
    text: 'stations:\n  - name: a\n    hid: serial:/dev/ttyUSB0\n    capture: http://127.0.0.1:8080/stream\n    wifi:\n      ssid: LabNet\n      key: hunter2-secret\n',
    line: 7, field: 'stations[0].wifi.key', says: /never goes into the bench file.*environment variable/,
  },
  {
    what: 'an unknown key',
    text: 'stations:\n  - name: a\n    virtual: win11\n    colour: red\n',
    line: 4, field: 'stations[0].colour', says: /unknown key/,
  },
  {
    what: 'a real station without its capture',
    text: 'stations:\n  - name: a\n    virtual: win11\n  - name: b\n    hid: tcp://127.0.0.1:4001\n',
    line: 4, field: 'stations[1].capture', says: /missing: the video source/,
  },
  {
    what: 'a board spec that is no board',
    text: 'stations:\n  - name: a\n    hid: COM3\n    capture: /dev/video0\n',
    line: 3, field: 'stations[0].hid', says: /HID spec 'COM3' is not understood/,
  },
  {
    what: 'a virtual station that also names a board',
    text: 'stations:\n  - name: a\n    virtual: win11\n    hid: tcp://127.0.0.1:4001\n',
    line: 4, field: 'stations[0].hid', says: /a virtual station has no board/,
  },
  {
    what: 'a wrong type in the defaults',
    text: 'defaults:\n  retries: many\nstations:\n  - name: a\n    virtual: win11\n',
    line: 2, field: 'defaults.retries', says: /expected number/,
  },
  {
    what: 'a fault without what it needs',
    text: 'stations:\n  - name: a\n    virtual: win11\n    faults:\n      - { at: esp, fault: resize }\n',
    line: 5, field: 'stations[0].faults[0].size', says: /resize needs the new size/,
  },
  {
    what: 'a flow that does not exist',
    text: 'stations:\n  - name: a\n    virtual: win11\n    flow: win7\n',
    line: 4, field: 'stations[0].flow', says: /win11|win10|auto/,
  },
  {
    what: 'a power spec that is no power control',
    text: 'stations:\n  - name: a\n    hid: tcp://127.0.0.1:4001\n    capture: http://127.0.0.1:8080/stream\n    power: toaster\n',
    line: 5, field: 'stations[0].power', says: /toaster/,
  },
  {
    what: 'text that is not YAML',
    text: 'stations:\n  - name: a\n    virtual: [win11\n',
    line: 4, field: '', says: /not valid YAML/,
  },
  {
    what: 'an environment variable for the key that is not set',
    text: 'defaults:\n  wifi: { ssid: LabNet, keyEnv: AHIL_TEST_UNSET_KEY }\nstations:\n  - name: a\n    virtual: win11\n',
    line: 2, field: 'defaults.wifi.keyEnv', says: /environment variable AHIL_TEST_UNSET_KEY is not set/,
  },
];

describe('bench files that are wrong', () => {
  it('each ends `bench run` with exit 64, naming the file, the line and the field', async () => {
    const files = BAD.map((b) => benchFile(b.text));
    const runs = await Promise.all(files.map((f) => runAgent(['bench', 'run', f, '--out', join(dir, 'never'), '--log-level', 'silent'])));
    runs.forEach((r, i) => {
      const b = BAD[i];
      const context = `${b.what}: ${r.stderr}`;
      expect(r.code, context).toBe(64);
      const where = b.field ? `${files[i]}:${b.line}: ${b.field}: ` : `${files[i]}:`;
      expect(r.stderr, context).toContain(where);
      expect(r.stderr, context).toMatch(b.says);
      // The key written by mistake is never repeated back.
      expect(r.stderr).not.toContain('hunter2-secret');
    });
  }, 120_000);

  it('refuses an unknown station in --stations and a bad --set, with exit 64', async () => {
    const file = benchFile('stations:\n  - name: a\n    virtual: win11\n');
    const [unknown, badSet, badState] = await Promise.all([
      runAgent(['bench', 'run', file, '--stations', 'a,zz', '--log-level', 'silent']),
      runAgent(['bench', 'status', file, '--set', 'zz=maintenance']),
      runAgent(['bench', 'status', file, '--set', 'a=broken']),
    ]);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toMatch(/--stations: no station "zz".*\(stations: a\)/);
    expect(badSet.code).toBe(64);
    expect(badSet.stderr).toMatch(/no station "zz"/);
    expect(badState.code).toBe(64);
    expect(badState.stderr).toMatch(/state must be one of good, bad, maintenance/);
  }, 60_000);
});

describe('a bench file that is right', () => {
  it('gives each station its own keys over the defaults', () => {
    const bench = parseBench([
      'name: lab-2',
      'health: state',
      'defaults:',
      '  flow: win11',
      '  expect: { organization: Contoso, profile: Lab pre-provisioning }',
      '  wifi: { ssid: LabNet, keyEnv: LAB_WIFI_KEY }',
      '  timeouts: { run: 7200, frozen: 60 }',
      'stations:',
      '  - name: a',
      '    virtual: win11',
      '    speed: 300',
      '  - name: b',
      '    hid: serial:/dev/serial/by-id/usb-FTDI_FT232R_A10K1234-if00-port0',
      '    capture: /dev/video0',
      '    power: manual',
      '    expect: { serialNumber: PF3X9K2L }',
      '    timeouts: { esp: 3600 }',
      '    retries: 2',
      '    calibration: station-b',
    ].join('\n'), join(dir, 'lab.yaml'));
    expect(bench.name).toBe('lab-2');
    expect(bench.healthDir).toBe(join(dir, 'state'));
    const [a, b] = bench.stations;
    expect(a).toMatchObject({ name: 'a', virtual: 'win11', speed: 300, flow: 'win11', wifi: { ssid: 'LabNet', keyEnv: 'LAB_WIFI_KEY' } });
    expect(a.hid).toBeUndefined();
    expect(b).toMatchObject({
      name: 'b', hid: 'serial:/dev/serial/by-id/usb-FTDI_FT232R_A10K1234-if00-port0', capture: '/dev/video0', power: { kind: 'manual' },
      retries: 2, calibration: 'station-b',
      // Mappings merge key by key: the station's own keys win, the rest comes from the defaults.
      expect: { organization: 'Contoso', profile: 'Lab pre-provisioning', serialNumber: 'PF3X9K2L' },
      timeouts: { run: 7200, frozen: 60, esp: 3600 },
    });
    expect(b.virtual).toBeUndefined();
    expect(b.selfTest).toEqual({ enabled: true, keyboardOnline: false });
  });
});
