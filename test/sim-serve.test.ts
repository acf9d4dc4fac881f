// The virtual device's outside interfaces, used the way the agent uses them: real protocol frames over a
// real pseudo-terminal (serialport) and over TCP, video and state over real HTTP, the CLI as a process.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { prepareZXingModule, readBarcodes } from 'zxing-wasm/reader';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findKey } from '../drivers/hid/keymap.ts';
import {
  Command, PongFlag, ResponseCode, encodeRequest, frameCrcOk, keyPayload, mouseButtonPayload, mouseMovePayload,
} from '../drivers/hid/protocol.ts';
import { startSim, type RunningSim } from '../sim/main.ts';
import { layoutScreen } from '../sim/render/layout.ts';
import { ScenarioError, parseScenario } from '../sim/scenario.ts';
import type { SimState } from '../sim/device.ts';
import type { HitTarget, SimScreenId } from '../sim/view.ts';

const W = 800, H = 600;

/** One host end of a serial line: sends a request, reads the 8-byte response. */
class Line {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | null = null;

  constructor(private readonly write: (b: Buffer) => void, subscribe: (on: (d: Buffer) => void) => void) {
    subscribe((d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
  }

  async read(n: number, timeoutMs = 2000): Promise<Buffer> {
    const until = Date.now() + timeoutMs;
    while (this.buf.length < n) {
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no response within ${timeoutMs} ms (have ${this.buf.length} bytes)`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => { clearTimeout(t); resolve(); };
      });
      this.wake = null;
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  async send(bytes: Buffer): Promise<Buffer> {
    this.buf = Buffer.alloc(0); // drain stale input, as the host does
    this.write(bytes);
    const response = await this.read(8);
    expect(response[0]).toBe(0x34);
    expect(frameCrcOk(response)).toBe(true);
    return response;
  }

  request(command: number, payload: number[] = []): Promise<Buffer> {
    return this.send(encodeRequest(command, payload));
  }

  async key(name: string, down: boolean): Promise<number> {
    const r = await this.request(Command.KEY, keyPayload(findKey(name)!.mcu, down));
    expect(r[1] & 0x80).toBe(0x80);
    return r[1];
  }

  async tap(...chord: string[]): Promise<void> {
    for (const k of chord) await this.key(k, true);
    for (const k of [...chord].reverse()) await this.key(k, false);
  }
}

async function openPty(path: string): Promise<{ line: Line; close: () => Promise<void> }> {
  const port = new SerialPort({ path, baudRate: 115200 });
  await new Promise<void>((resolve, reject) => port.once('open', resolve).once('error', reject));
  const line = new Line((b) => port.write(b), (on) => port.on('data', on));
  return { line, close: () => new Promise((resolve) => port.close(() => resolve())) };
}

async function openTcp(address: string): Promise<{ line: Line; socket: Socket }> {
  const [host, port] = address.split(':');
  const socket = connect(Number(port), host);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return { line: new Line((b) => socket.write(b), (on) => socket.on('data', on)), socket };
}

async function getState(sim: RunningSim): Promise<SimState> {
  const res = await fetch(sim.info.state);
  expect(res.headers.get('content-type')).toBe('application/json');
  return (await res.json()) as SimState;
}

async function waitForScreen(sim: RunningSim, screen: SimScreenId, timeoutMs = 20_000): Promise<SimState> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await getState(sim);
    if (s.screen === screen) return s;
    if (Date.now() > until) throw new Error(`still on ${s.screen}, waiting for ${screen}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const offline = (code: number) => (code & PongFlag.KEYBOARD_OFFLINE) !== 0;

describe('virtual device served: win11-wired over a pty and TCP', () => {
  let sim: RunningSim;
  let pty: Awaited<ReturnType<typeof openPty>>;
  let tcp: Awaited<ReturnType<typeof openTcp>>;

  beforeAll(async () => {
    sim = await startSim({ scenario: 'win11-wired', speed: 3000, serial: 'pty', width: W, height: H, fps: 10 });
    expect(sim.info.serial).toMatch(/^\/dev\/pts\/\d+$/);
    expect(sim.info.tcp).toMatch(/^127\.0\.0\.1:\d+$/);
    pty = await openPty(sim.info.serial!);
    tcp = await openTcp(sim.info.tcp);
  });

  afterAll(async () => {
    tcp?.socket.destroy();
    await pty?.close();
    await sim?.close();
  });

  it('answers PING with PONG, keyboard offline while booting and rebooting, online on the sign-in page', async () => {
    const first = await pty.line.request(Command.PING);
    expect(first[1] & 0xe0).toBe(ResponseCode.PONG);
    expect(offline(first[1])).toBe(true); // the device is still in its firmware
    expect(first[2]).toBe(0x09); // keyboard USB, mouse USB absolute

    // Watch the flag from power-on to the sign-in page: offline, online (busy), offline (reboot), online.
    const seen: boolean[] = [];
    const until = Date.now() + 20_000;
    while ((await getState(sim)).screen !== 'entra-signin') {
      if (Date.now() > until) throw new Error('no sign-in page');
      const r = await pty.line.request(Command.PING);
      if (seen.at(-1) !== offline(r[1])) seen.push(offline(r[1]));
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(seen).toEqual([true, false, true, false]);
    const history = (await getState(sim)).history.map((h) => h.screen);
    expect(history).toEqual(['no-signal', 'oobe-busy', 'no-signal', 'oobe-busy', 'entra-signin']);
    const r = await tcp.line.request(Command.PING);
    expect(offline(r[1])).toBe(false);
  });

  it('puts KEY events from both lines into /state in order, and the typed characters', async () => {
    await waitForScreen(sim, 'entra-signin');
    const before = (await getState(sim)).hid.length;
    await pty.line.tap('ShiftLeft', 'KeyT');
    await tcp.line.tap('KeyE');
    await pty.line.tap('Digit2');
    await tcp.line.tap('ShiftLeft', 'Digit2');
    const s = await getState(sim);
    const keys = s.hid.slice(before).map((e) => (e.type === 'key' ? `${e.code}${e.down ? '+' : '-'}` : e.type));
    expect(keys).toEqual([
      'ShiftLeft+', 'KeyT+', 'KeyT-', 'ShiftLeft-', 'KeyE+', 'KeyE-', 'Digit2+', 'Digit2-', 'ShiftLeft+', 'Digit2+', 'Digit2-', 'ShiftLeft-',
    ]);
    expect(s.typed.endsWith('Te2@')).toBe(true);
    // Typed into the focused e-mail box, as Windows would.
    expect(sim.device.view().input?.value).toBe('Te2@');
    for (let i = 0; i < 4; i++) await tcp.line.tap('Backspace');
    expect(sim.device.view().input?.value).toBe('');
  });

  it('lights Caps Lock on the device: the PONG flag follows', async () => {
    const on = await pty.line.key('CapsLock', true);
    await pty.line.key('CapsLock', false);
    expect(on & PongFlag.CAPS_LOCK).toBe(PongFlag.CAPS_LOCK);
    expect((await getState(sim)).capsLock).toBe(true);
    await pty.line.tap('CapsLock');
    const r = await pty.line.request(Command.PING);
    expect(r[1] & PongFlag.CAPS_LOCK).toBe(0);
  });

  it('speaks the protocol on bad lines: CRC_ERROR, TIMEOUT_ERROR, REPEAT, INVALID_ERROR, NONE after a restart', async () => {
    const bad = encodeRequest(Command.PING);
    bad[3] ^= 0x10;
    expect((await tcp.line.send(bad))[1]).toBe(ResponseCode.CRC_ERROR);

    const partial = encodeRequest(Command.PING).subarray(0, 3);
    const t0 = Date.now();
    expect((await tcp.line.send(Buffer.from(partial)))[1]).toBe(ResponseCode.TIMEOUT_ERROR);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);

    const pong = await tcp.line.request(Command.PING);
    const again = await tcp.line.request(Command.REPEAT);
    expect(again).toEqual(pong);
    // 0x20 (POWER_BUTTON) and 0x21 (FIRMWARE_VERSION) are this project's extensions; 0x22 and up are not on this board.
    expect((await tcp.line.request(0x22))[1]).toBe(ResponseCode.INVALID_ERROR);
    expect((await tcp.line.request(0x20, [7]))[1]).toBe(ResponseCode.INVALID_ERROR);
    expect((await tcp.line.request(Command.SET_KEYBOARD, [0x01]))[1]).toBe(ResponseCode.INVALID_ERROR);

    for (const board of sim.boards()) board.restart();
    expect((await tcp.line.request(Command.REPEAT))[1]).toBe(ResponseCode.NONE);
    expect((await pty.line.request(Command.REPEAT))[1]).toBe(ResponseCode.NONE);
    expect((await getState(sim)).hid.at(-1)).toMatchObject({ type: 'clear' });
  });

  it('serves /snapshot as a JPEG of the configured size and /stream as several multipart JPEG parts', async () => {
    const snap = await fetch(sim.info.snapshot);
    expect(snap.headers.get('content-type')).toBe('image/jpeg');
    const meta = await sharp(Buffer.from(await snap.arrayBuffer())).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: W, height: H });

    const parts = await new Promise<Buffer[]>((resolve, reject) => {
      const req = get(sim.info.video, (res) => {
        const type = res.headers['content-type'] ?? '';
        const boundary = /boundary=(\S+)/.exec(type)?.[1];
        if (!type.startsWith('multipart/x-mixed-replace') || !boundary) return reject(new Error(`content-type ${type}`));
        let buf = Buffer.alloc(0);
        const found: Buffer[] = [];
        res.on('data', (d: Buffer) => {
          buf = Buffer.concat([buf, d]);
          for (;;) {
            const head = buf.indexOf('\r\n\r\n');
            if (head < 0) break;
            const headers = buf.subarray(0, head).toString();
            expect(headers).toContain(`--${boundary}`);
            expect(headers).toContain('Content-Type: image/jpeg');
            const len = Number(/Content-Length: (\d+)/.exec(headers)?.[1]);
            if (buf.length < head + 4 + len + 2) break;
            found.push(buf.subarray(head + 4, head + 4 + len));
            buf = buf.subarray(head + 4 + len + 2);
          }
          if (found.length >= 3) {
            req.destroy();
            resolve(found);
          }
        });
      });
      req.on('error', (e) => { if (!req.destroyed) reject(e); });
      setTimeout(() => reject(new Error('fewer than 3 parts in 5 s')), 5000);
    });
    for (const p of parts) {
      expect(p[0]).toBe(0xff);
      expect(p[1]).toBe(0xd8);
      expect((await sharp(p).metadata()).width).toBe(W);
    }
  });

  it('presses the button under the pointer (MOUSE_MOVE, MOUSE_BUTTON), and goes dark after Reseal', async () => {
    await waitForScreen(sim, 'entra-signin');
    for (let i = 0; i < 5; i++) await pty.line.tap('MetaLeft');
    await waitForScreen(sim, 'provisioning-options');
    const click = async (target: HitTarget) => {
      const layout = layoutScreen(sim.device.view(), W, H);
      const hit = layout.targets.find((t) => JSON.stringify(t.target) === JSON.stringify(target));
      if (!hit) throw new Error(`no ${JSON.stringify(target)} on ${sim.device.view().screen}`);
      const x = (hit.rect.x + hit.rect.width / 2) / W, y = (hit.rect.y + hit.rect.height / 2) / H;
      await tcp.line.request(Command.MOUSE_MOVE, mouseMovePayload(x, y));
      await tcp.line.request(Command.MOUSE_BUTTON, mouseButtonPayload('left', true));
      await tcp.line.request(Command.MOUSE_BUTTON, mouseButtonPayload('left', false));
    };
    await click({ kind: 'list-item', index: 0 });
    expect(sim.device.view().list?.selected).toBe(0);
    await click({ kind: 'button', id: 'next' });
    await waitForScreen(sim, 'provisioning-config');

    // The configuration page's QR code, read off the video: the scenario's device.
    const wasm = readFileSync(createRequire(import.meta.url).resolve('zxing-wasm/reader/zxing_reader.wasm'));
    prepareZXingModule({ overrides: { wasmBinary: wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength) as ArrayBuffer } });
    const frame = new Uint8Array(await (await fetch(sim.info.snapshot)).arrayBuffer());
    const codes = await readBarcodes(frame, { formats: ['QRCode'] });
    expect(codes).toHaveLength(1);
    expect(JSON.parse(codes[0].text)).toMatchObject({
      Version: '1.0.0', ZtdId: '6f1d0b3e-8c2a-4e57-9b1d-3a7c5e9f2d41', SerialNumber: 'PF3X9K2L', PKID: '', SequenceBlockNumber: 1, TotalBlocks: 1,
    });

    await click({ kind: 'button', id: 'next' });
    const success = await waitForScreen(sim, 'provisioning-success');
    expect(success.hid.filter((e) => e.type === 'button').length).toBeGreaterThanOrEqual(6);
    await pty.line.tap('Enter'); // Reseal has focus
    const off = await getState(sim);
    expect(off).toMatchObject({ screen: 'no-signal', resealed: true, poweredOn: false, keyboardOnline: false });
    const r = await pty.line.request(Command.PING);
    expect(offline(r[1])).toBe(true);
    const snap = await sharp(Buffer.from(await (await fetch(sim.info.snapshot)).arrayBuffer())).stats();
    expect(Math.max(...snap.channels.map((c) => c.max))).toBeLessThan(40); // black
  });
});

describe('virtual device: bad scenarios and the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-scenario-'));
  const badFile = join(dir, 'bad.yaml');
  writeFileSync(badFile, [
    'os: win11',
    'device:',
    '  serial: PF3X9K2L',
    '  ztdId: not-a-guid',
    '  organization: Contoso',
    '  profile: Lab',
    'network: { kind: wired }',
    '',
  ].join('\n'));

  it('rejects a bad scenario file with the file, line and field', async () => {
    const err = await startSim({ scenario: badFile, serial: 'tcp' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as ScenarioError).message).toBe(`${badFile}:4: device.ztdId: must be a GUID such as 6f1d0b3e-8c2a-4e57-9b1d-3a7c5e9f2d41`);
    expect((err as ScenarioError).field).toBe('device.ztdId');
  });

  it('names the line and field of other mistakes: unknown key, missing field, unknown ESP item, bad extends', () => {
    const problem = (text: string) => {
      try {
        parseScenario(text, 'lab.yaml');
      } catch (err) {
        return (err as Error).message.split('\n')[0];
      }
      throw new Error('accepted');
    };
    expect(problem('extends: win11\ndevice:\n  serail: X\n')).toBe('lab.yaml:3: device.serail: unknown key "serail"');
    expect(problem('os: win11\ndevice:\n  ztdId: 6f1d0b3e-8c2a-4e57-9b1d-3a7c5e9f2d41\n  organization: C\n  profile: P\nnetwork: { kind: wired }\n'))
      .toBe('lab.yaml:2: device.serial: missing (expected string)');
    expect(problem('extends: win11\nfailures:\n  - phase: deviceSetup\n    item: Apz\n    code: 0x800705B4\n'))
      .toMatch(/^lab\.yaml:4: failures\.0\.item: no ESP item "Apz" in deviceSetup/);
    expect(problem('extends: win12\n')).toMatch(/^lab\.yaml:1: extends: no scenario "win12"/);
    const device = 'device: { serial: X, ztdId: 6f1d0b3e-8c2a-4e57-9b1d-3a7c5e9f2d41, organization: C, profile: P }';
    expect(problem(`os: win11\n${device}\nnetwork: { kind: wifi, ssid: LabNet }\n`))
      .toBe('lab.yaml:3: network.key: missing: a secured network needs its key (or say secured: false)');
  });

  function run(args: string[]) {
    const child = spawn(process.execPath, ['bin/autopilot-hil-sim.js', ...args], { cwd: join(import.meta.dirname, '..') });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exit, out: () => stdout, err: () => stderr };
  }

  it('exits 64 naming the field of a bad scenario', async () => {
    const p = run(['--json', '--scenario', badFile]);
    expect(await p.exit).toBe(64);
    expect(p.err()).toContain(`${badFile}:4: device.ztdId`);
    expect(p.out()).toBe('');
  });

  it('prints one JSON line when ready and exits cleanly on SIGTERM, taking its pty along', async () => {
    const p = run(['--json', '--size', '640x480', '--speed', '600']);
    const until = Date.now() + 20_000;
    while (!p.out().includes('\n')) {
      if (Date.now() > until) throw new Error(`no JSON line; stderr: ${p.err()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const info = JSON.parse(p.out().trim());
    expect(Object.keys(info)).toEqual(expect.arrayContaining(['serial', 'tcp', 'video', 'snapshot', 'state']));
    expect(info.video).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/stream$/);
    expect(existsSync(info.serial)).toBe(true);
    const state = await (await fetch(info.state)).json();
    expect(state.scenario).toBe('win11');
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(0);
    expect(existsSync(info.serial)).toBe(false);
    await expect(fetch(info.state)).rejects.toThrow();
  });
});
