// PiKVM stations: the PiKVM keyboard/pointer, capture and ATX drivers against the virtual device presented as a
// PiKVM (its HTTP API on real HTTP), and a whole technician flow run through `autopilot-hil run --hid pikvm:…
// --capture pikvm:…` as a lab with PiKVMs would run it.
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCaptureSpec } from '../drivers/capture/open.ts';
import { openHidDevice } from '../drivers/hid/open.ts';
import { PikvmClient } from '../drivers/hid/pikvm-api.ts';
import { openPikvmHid, PikvmHid } from '../drivers/hid/pikvm.ts';
import { openPower } from '../drivers/power/open.ts';
import { startSim, type RunningSim } from '../sim/main.ts';
import { runAgent, startSim as startSimProcess } from './helpers/processes.ts';

const USER = 'technician';
const PASSWORD = 'pikvm-secret-2026';
const ENV = { AUTOPILOT_HIL_PIKVM_USER: USER, AUTOPILOT_HIL_PIKVM_PASSWORD: PASSWORD };

interface DeviceState {
  poweredOn: boolean;
  keyboardOnline: boolean;
  screen: string;
  typed: string;
  capsLock: boolean;
  hid: { type: string; code?: string; down?: boolean; x?: number; y?: number; button?: string }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The line of `doctor --json` output whose check name passes `named`. */
const doctorLine = (stdout: string, named: (name: string) => boolean) =>
  stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { name: string; ok: boolean; detail: string }).find((r) => named(r.name));

describe('PiKVM drivers on the virtual device', () => {
  let sim: RunningSim;
  let spec: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    process.env.AUTOPILOT_HIL_PIKVM_USER = USER;
    process.env.AUTOPILOT_HIL_PIKVM_PASSWORD = PASSWORD;
    sim = await startSim({ serial: 'tcp', scenario: 'win11', speed: 600, poweredOff: true, pikvm: { user: USER, password: PASSWORD } });
    spec = `pikvm:${sim.info.pikvm}`;
  });
  afterAll(async () => {
    process.env.AUTOPILOT_HIL_PIKVM_USER = saved.AUTOPILOT_HIL_PIKVM_USER;
    process.env.AUTOPILOT_HIL_PIKVM_PASSWORD = saved.AUTOPILOT_HIL_PIKVM_PASSWORD;
    if (saved.AUTOPILOT_HIL_PIKVM_USER === undefined) delete process.env.AUTOPILOT_HIL_PIKVM_USER;
    if (saved.AUTOPILOT_HIL_PIKVM_PASSWORD === undefined) delete process.env.AUTOPILOT_HIL_PIKVM_PASSWORD;
    await sim?.close();
  });

  const state = async () => (await (await fetch(sim.info.state)).json()) as DeviceState;
  /** Each test can run alone: the device is powered on (through ATX) and reads the keyboard. */
  const ensureOn = async () => {
    if (!(await state()).poweredOn) {
      const power = await openPower(spec);
      await power.on();
      await power.close();
    }
    for (let i = 0; i < 300 && !(await state()).keyboardOnline; i++) await sleep(100);
    expect((await state()).keyboardOnline).toBe(true);
  };

  it('refuses without credentials or with wrong ones, naming the variables and never the password', async () => {
    await expect(openPikvmHid(spec, { env: {} })).rejects.toThrow(
      /PiKVM http:\/\/127\.0\.0\.1:\d+ asks for credentials \(401 Unauthorized\): set the environment variables AUTOPILOT_HIL_PIKVM_USER and AUTOPILOT_HIL_PIKVM_PASSWORD \(AUTOPILOT_HIL_PIKVM_USER is not set\)/,
    );
    const wrong = await openPikvmHid(`${spec},user-env=KVM_B_USER,password-env=KVM_B_PASS`, { env: { KVM_B_USER: USER, KVM_B_PASS: 'guess' } })
      .then(() => null, (e: Error) => e);
    expect(wrong?.message).toMatch(/refused the user 'technician' from KVM_B_USER \(403 Forbidden\): wrong user or password in KVM_B_USER\/KVM_B_PASS/);
    expect(wrong?.message).not.toContain('guess');
    // A bad spec is bad usage, not a failing PiKVM.
    await expect(openHidDevice('pikvm:ftp://kvm')).rejects.toMatchObject({ name: 'UsageError', message: expect.stringMatching(/is not an http\(s\) URL/) });
    await expect(openHidDevice(`${spec},fast`)).rejects.toThrow(/'fast' is not understood; expected pikvm:https:\/\/HOST\[,insecure\]/);
  });

  it('powers the device on and off through ATX, confirmed by the power LED', async () => {
    const power = await openPower(spec);
    try {
      expect(power.description).toBe(`ATX power of PiKVM ${sim.info.pikvm}`);
      expect(await power.state()).toBe('off');
      await power.on();
      expect(await power.state()).toBe('on');
      expect((await state()).poweredOn).toBe(true);
      await power.on(); // kvmd's "on" does nothing when it is on
      expect((await state()).poweredOn).toBe(true);
    } finally {
      await power.close();
    }
  });

  it('types, taps chords and moves the pointer through the PiKVM, and reports the keyboard and its LEDs', async () => {
    await ensureOn();
    const hid = await openHidDevice(spec, { layout: 'de' });
    try {
      expect(hid).toBeInstanceOf(PikvmHid);
      expect(hid.description).toBe(`keyboard and pointer of PiKVM ${sim.info.pikvm}`);
      const changes: boolean[] = [];
      hid.onStatus((s) => changes.push(s.keyboardOnline));
      expect((await hid.status()).keyboardOnline).toBe(true);

      const before = (await state()).hid.length;
      await hid.type('Zy@1', { layout: 'de' }); // German layout: Z is KeyY, @ is AltGr+KeyQ
      await hid.tap('CTRL SHIFT d');
      await hid.move(0.25, 0.75);
      await hid.click('left');
      const s = await state();
      const events = s.hid.slice(before);
      const downs = events.filter((e) => e.type === 'key' && e.down).map((e) => e.code);
      // The device reads them with its own layout (US, as setup starts), so the keys are what to check here.
      expect(downs).toEqual(['ShiftLeft', 'KeyY', 'KeyZ', 'AltRight', 'KeyQ', 'Digit1', 'ControlLeft', 'ShiftLeft', 'KeyD']);
      const move = events.find((e) => e.type === 'move')!;
      expect(move.x).toBeCloseTo(0.25, 4);
      expect(move.y).toBeCloseTo(0.75, 4);
      expect(events.filter((e) => e.type === 'button').map((e) => `${e.button} ${e.down ? 'down' : 'up'}`)).toEqual(['left down', 'left up']);

      await hid.tap('CapsLock');
      expect((await hid.status()).capsLock).toBe(true);
      await hid.tap('CapsLock');
      expect((await hid.status()).capsLock).toBe(false);
      // A character the layout cannot type is refused before anything is sent, and a secret is not repeated.
      const typedBefore = (await state()).typed;
      const refused = await hid.type('pw→x', { secret: true }).then(() => null, (e: Error) => e);
      expect(refused?.message).toMatch(/cannot type 1 character of the secret text \(at position 3\) with the DE keyboard layout; nothing was sent/);
      expect(refused?.message).not.toContain('→');
      expect((await state()).typed).toBe(typedBefore);
      expect(changes).not.toContain(false);

      // A secret goes whole in the body of /api/hid/print, never key by key in URLs (a web server logs those).
      const stats = sim.pikvmStats!();
      await hid.type('wifi-Key', { secret: true, layout: 'us' });
      const after = sim.pikvmStats!();
      expect(after.requests['POST /api/hid/print']).toBe((stats.requests['POST /api/hid/print'] ?? 0) + 1);
      expect(after.requests['POST /api/hid/events/send_key']).toBe(stats.requests['POST /api/hid/events/send_key']);
      expect((await state()).typed.endsWith('wifi-Key')).toBe(true);
    } finally {
      await hid.close();
    }
  });

  it('`keys` and `doctor` take a PiKVM: keys sent after the Caps Lock check, its keyboard and LEDs reported', async () => {
    await ensureOn();
    const from = (await state()).hid.length;
    const keys = await runAgent(['keys', '--hid', spec, '--check', 'STRING Hi'], ENV);
    expect(keys.stderr).toBe('');
    expect(keys.code).toBe(0);
    expect(keys.stdout).toContain("check passed: the device turned Caps Lock on and off again (the PiKVM's keyboard LEDs)");
    expect(keys.stdout).toContain(`sent 6 key events to keyboard and pointer of PiKVM ${sim.info.pikvm}, each acknowledged`);
    const downs = (await state()).hid.slice(from).filter((e) => e.type === 'key' && e.down).map((e) => e.code);
    expect(downs).toEqual(['CapsLock', 'CapsLock', 'ShiftLeft', 'KeyH', 'KeyI']);
    expect((await state()).capsLock).toBe(false);
    // A spec that cannot be a PiKVM is bad usage, and nothing is sent.
    const bad = await runAgent(['keys', '--hid', 'pikvm:ftp://kvm', 'STRING a'], ENV);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/is not an http\(s\) URL/);

    const doctor = await runAgent(['doctor', '--json', '--hid', spec, '--timeout', '2'], ENV);
    expect(doctorLine(doctor.stdout, (n) => n === `board ${spec}`)).toMatchObject({ ok: true, detail: expect.stringMatching(/^answers its HID state in \d+ ms; keyboard online \(the device reads it\); LEDs: Caps Lock off/) });
    // Wrong credentials: a failed check line that names the variables, never the password; exit 2.
    const refused = await runAgent(['doctor', '--json', '--hid', `${spec},user-env=KVM_B_USER,password-env=KVM_B_PASS`, '--timeout', '2'],
      { KVM_B_USER: USER, KVM_B_PASS: 'guess-2026' });
    expect(refused.code).toBe(2);
    expect(doctorLine(refused.stdout, (n) => n.startsWith('board pikvm:'))).toMatchObject({ ok: false, detail: expect.stringMatching(/refused the user 'technician' from KVM_B_USER \(403 Forbidden\)/) });
    expect(refused.stdout + refused.stderr).not.toContain('guess-2026');
    // An address where nothing answers fails within --timeout, with a check line, not a hang.
    const silent = (await import('node:net')).createServer(() => { /* accepts, never answers */ });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (silent.address() as { port: number }).port;
      const t0 = Date.now();
      const mute = await runAgent(['doctor', '--json', '--hid', `pikvm:http://127.0.0.1:${port}`, '--timeout', '1'], ENV);
      expect(mute.code).toBe(2);
      expect(doctorLine(mute.stdout, (n) => n.startsWith('board pikvm:'))).toMatchObject({ ok: false, detail: expect.stringMatching(/cannot be reached: .*no answer within 1000 ms/) });
      expect(Date.now() - t0).toBeLessThan(30_000);
    } finally {
      silent.close();
    }
  }, 60_000);

  it('can type whole texts through /api/hid/print with the layout\'s keymap', async () => {
    await ensureOn();
    const hid = new PikvmHid(new PikvmClient({ url: sim.info.pikvm! }), { typeVia: 'print' });
    try {
      const before = await state();
      await hid.type('Lab-Key 1!');
      expect((await state()).typed).toBe(`${before.typed}Lab-Key 1!`);
      const printed = () => sim.pikvmStats!().requests['POST /api/hid/print'] ?? 0;
      const keyEvents = () => sim.pikvmStats!().requests['POST /api/hid/events/send_key'] ?? 0;
      expect(printed()).toBeGreaterThan(0);
      const keysBefore = keyEvents();
      // French keymap: a and z are where a US keyboard has q and w.
      const count = (await state()).hid.length;
      await hid.type('az', { layout: 'fr' });
      const downs = (await state()).hid.slice(count).filter((e) => e.type === 'key' && e.down).map((e) => e.code);
      expect(downs).toEqual(['KeyQ', 'KeyW']);
      expect(keyEvents()).toBe(keysBefore); // all of it through /api/hid/print
    } finally {
      await hid.close();
    }
  });

  it('delivers video from the MJPEG stream and from snapshots', async () => {
    for (const capture of [spec, `${spec},snapshots=4`]) {
      const source = await openCaptureSpec(capture);
      try {
        const first = await source.latest();
        const second = await source.next(first.seq);
        expect(second.seq).toBeGreaterThan(first.seq);
        expect(await sharp(second.data).metadata()).toMatchObject({ format: 'jpeg', width: 1920, height: 1080 });
        expect(source.description).not.toContain(PASSWORD);
      } finally {
        await source.close();
      }
    }
    await expect(openCaptureSpec(`${spec},snapshots=0`)).rejects.toMatchObject({ name: 'UsageError' });
  });

  it('forces the device off with ATX (a long press)', async () => {
    await ensureOn();
    const power = await openPower({ kind: 'pikvm', url: sim.info.pikvm! });
    try {
      expect(await power.state()).toBe('on');
      await power.off(true);
      expect(await power.state()).toBe('off');
      expect(await state()).toMatchObject({ poweredOn: false, screen: 'no-signal' });
    } finally {
      await power.close();
    }
  }, 60_000);
});

describe('a PiKVM station end to end', () => {
  it('runs the technician flow with --hid pikvm: and --capture pikvm: and passes', async () => {
    // The virtual PiKVM takes these credentials (a child process inherits them); the agent gets them its own way.
    process.env.AUTOPILOT_HIL_SIM_PIKVM_USER = USER;
    process.env.AUTOPILOT_HIL_SIM_PIKVM_PASSWORD = PASSWORD;
    const sim = await startSimProcess(['--scenario', 'win11', '--serial', 'tcp', '--speed', '600', '--pikvm']).finally(() => {
      delete process.env.AUTOPILOT_HIL_SIM_PIKVM_USER;
      delete process.env.AUTOPILOT_HIL_SIM_PIKVM_PASSWORD;
    });
    try {
      const pikvm = (sim.info as { pikvm?: string }).pikvm;
      expect(pikvm).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const out = mkdtempSync(join(tmpdir(), 'ahil-pikvm-run-'));
      const agent = await runAgent([
        'run', '--hid', `pikvm:${pikvm}`, '--capture', `pikvm:${pikvm}`, '--out', out, '--log-level', 'warn',
        '--expect-organization', 'Contoso', '--expect-profile', 'Lab pre-provisioning', '--wifi-ssid', 'LabNet',
      ], { AUTOPILOT_HIL_WIFI_KEY: 'autopilot-lab-2026', ...ENV });
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
      const context = `${JSON.stringify(report.failure ?? null)} ${agent.stderr.slice(-2000)}`;
      expect(report.result, context).toBe('passed');
      expect(agent.code, context).toBe(0);
      const device = await sim.state();
      expect(device.resealed).toBe(true);
      expect(device.typed).toBe('autopilot-lab-2026'); // the Wi-Fi key, and nothing else
      expect(report.device).toMatchObject({ organization: 'Contoso', profile: 'Lab pre-provisioning', serialNumber: 'PF3X9K2L' });
      // Neither the Wi-Fi key nor the PiKVM's password reaches the run folder's files or the terminal.
      const files = readdirSync(out, { recursive: true, encoding: 'utf8' }).filter((n) => /\.(json|xml|html|log|jsonl|txt)$/.test(n));
      expect(files).toContain('report.json');
      for (const name of files) {
        const text = readFileSync(join(out, name), 'utf8');
        expect(text, name).not.toContain('autopilot-lab-2026');
        expect(text, name).not.toContain(PASSWORD);
      }
      expect(agent.stdout + agent.stderr).not.toContain(PASSWORD);
    } finally {
      await sim.stop();
    }
  }, 300_000);
});
