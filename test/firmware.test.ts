// The board firmware (firmware/): the Pico's Python core under CPython, the Arduino sketch built to a .hex,
// and the Arduino protocol core built for this machine (core-on-pty) on a real pseudo-terminal, driven by
// the project's own serial driver. What the core would send the PC is read from its log of USB reports.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KEYS, findKey, type KeyInfo } from '../drivers/hid/keymap.ts';
import { Command, RESPONSE_MAGIC, ResponseCode, crc16, encodeRequest, encodeResponse } from '../drivers/hid/protocol.ts';
import { openHid, type BoardEvent, type SerialBoard } from '../drivers/hid/serial-board.ts';
import { startPty, type PtyBridge } from '../sim/pty.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const FIRMWARE = `${ROOT}firmware/`;
const CORE_ON_PTY = `${FIRMWARE}build/core-on-pty`;
const HEX = `${FIRMWARE}build/autopilot-hil.hex`;
const APT_HINT = 'apt-get install gcc-avr avr-libc arduino-core-avr arduino-mk';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hex = (bytes: ArrayLike<number>) => Array.from(bytes).map((b) => b.toString(16).padStart(2, '0')).join(' ');
const unhex = (text: string) => Buffer.from(text.split(' ').map((b) => parseInt(b, 16)));

/** A response frame with bytes 2..5 given (the extensions use bytes 4 and 5). */
function response(code: number, b2 = 0, b3 = 0, b4 = 0, b5 = 0): Buffer {
  const frame = Buffer.from([RESPONSE_MAGIC, code, b2, b3, b4, b5, 0, 0]);
  const crc = crc16(frame, 6);
  frame[6] = crc >> 8;
  frame[7] = crc & 0xff;
  return frame;
}

/** PONG as this board sends it: fixed outputs (keyboard USB, mouse USB absolute; has USB). */
const pong = (flags = 0, b4 = 0) => response(ResponseCode.PONG | flags, 0x09, 0x01, b4);

/** The boot report a PC reads while `held` are down, from keymap.tsv (via the driver's keymap). */
function bootReport(held: KeyInfo[]): string {
  const report = [0, 0, 0, 0, 0, 0, 0, 0];
  let slot = 2;
  for (const key of held) {
    if (key.modifierBit !== null) report[0] |= key.modifierBit;
    else report[slot++] = key.usage!;
  }
  return `keyboard ${hex(report)}`;
}

/** The reports of pressing keys in order and releasing them in reverse. */
function chordReports(names: string[]): string[] {
  const keys = names.map((name) => findKey(name)!);
  const out: string[] = [];
  for (let i = 1; i <= keys.length; i++) out.push(bootReport(keys.slice(0, i)));
  for (let i = keys.length - 1; i >= 0; i--) out.push(bootReport(keys.slice(0, i)));
  return out;
}

// --- The build (once for the file) ----------------------------------------------------------------

let build: { status: number | null; output: string };

beforeAll(() => {
  const result = spawnSync('npm', ['run', '--silent', 'firmware'], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
  build = { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}` };
});

function needCoreOnPty(): void {
  if (!existsSync(CORE_ON_PTY)) {
    throw new Error(`npm run firmware did not build ${CORE_ON_PTY} (exit ${build.status}):\n${build.output}`);
  }
}

describe('firmware build', () => {
  it('runs the Pico core tests under CPython', () => {
    const result = spawnSync('python3', ['-B', '-m', 'unittest'], { cwd: `${FIRMWARE}pico`, encoding: 'utf8', timeout: 60_000 });
    expect(result.status, `python3 -m unittest in firmware/pico failed:\n${result.stderr}${result.error ?? ''}`).toBe(0);
    expect(result.stderr).toMatch(/Ran \d+ tests/);
    expect(result.stderr).toMatch(/\nOK\s*$/);
  });

  it('builds the Arduino sketch to firmware/build/autopilot-hil.hex (needs the Debian AVR packages)', () => {
    const avrGcc = spawnSync('avr-gcc', ['--version'], { encoding: 'utf8' });
    if (avrGcc.error || avrGcc.status !== 0) {
      throw new Error(`avr-gcc is not installed, so the Arduino firmware cannot be built. Install the tools: ${APT_HINT}\n${build.output}`);
    }
    expect(build.status, `npm run firmware failed:\n${build.output}`).toBe(0);
    expect(existsSync(HEX), `${HEX} is missing after npm run firmware`).toBe(true);
    expect(statSync(HEX).mtimeMs).toBeGreaterThanOrEqual(statSync(`${FIRMWARE}arduino/autopilot-hil/hid_protocol.cpp`).mtimeMs);
    const lines = readFileSync(HEX, 'utf8').trim().split(/\r?\n/);
    expect(lines.every((line) => /^:[0-9A-F]+$/.test(line))).toBe(true); // Intel HEX records
    expect(lines.at(-1)).toBe(':00000001FF');
    const bytes = lines.reduce((sum, line) => sum + (line.slice(7, 9) === '00' ? parseInt(line.slice(1, 3), 16) : 0), 0);
    expect(bytes).toBeGreaterThan(4000); // the USB stack alone is a few kB
    expect(bytes).toBeLessThanOrEqual(28672); // the Leonardo's flash above its bootloader
  });

  it('maps every key byte of keymap.tsv to its USB usage in the Arduino core', () => {
    needCoreOnPty();
    const table = spawnSync(CORE_ON_PTY, ['--keymap'], { encoding: 'utf8' }).stdout.trim().split('\n');
    const expected = KEYS.map((key) => `${key.mcu} 0x${(key.usage ?? 0xe0 + Math.log2(key.modifierBit!)).toString(16).padStart(2, '0')}`);
    expect(table.sort()).toEqual(expected.sort());
  });
});

// --- The Arduino core on a pseudo-terminal ----------------------------------------------------------

/** core-on-pty on one pty; the test holds the other end of that line (`line`). */
class CoreOnPty {
  readonly log: { text: string; at: number }[] = [];
  private input = Buffer.alloc(0);
  /** When set, bytes from the core go here instead of collecting for readFrame(). */
  forward: ((bytes: Buffer) => void) | null = null;

  private constructor(
    readonly line: PtyBridge,
    readonly child: ChildProcess,
  ) {
    line.stream.on('data', (data: Buffer) => {
      if (this.forward) this.forward(data);
      else this.input = Buffer.concat([this.input, data]);
    });
    createInterface({ input: child.stdout! }).on('line', (text) => this.log.push({ text, at: Date.now() }));
  }

  static async start(args: string[] = []): Promise<CoreOnPty> {
    needCoreOnPty();
    const line = await startPty();
    const child = spawn(CORE_ON_PTY, [line.path, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const core = new CoreOnPty(line, child);
    await core.waitFor((text) => text.startsWith('ready'), 'the ready line');
    return core;
  }

  lines(prefix: string, from = 0): string[] {
    return this.log.slice(from).map((l) => l.text).filter((text) => text.startsWith(prefix));
  }

  /** Waits until a log line matches; returns its index. */
  async waitFor(match: (text: string) => boolean, what: string, from = 0, timeoutMs = 2000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const i = this.log.findIndex((l, index) => index >= from && match(l.text));
      if (i >= 0) return i;
      if (Date.now() > deadline || this.child.exitCode !== null) {
        throw new Error(`core-on-pty did not log ${what} within ${timeoutMs} ms; its log: ${JSON.stringify(this.log.map((l) => l.text))}`);
      }
      await sleep(5);
    }
  }

  /** Waits for `count` lines with `prefix` after `from`, then a little longer to catch any extra one. */
  async reports(prefix: string, count: number, from: number): Promise<string[]> {
    const deadline = Date.now() + 2000;
    while (this.lines(prefix, from).length < count && Date.now() < deadline) await sleep(5);
    await sleep(60);
    return this.lines(prefix, from);
  }

  write(bytes: Buffer): void {
    this.line.stream.write(bytes);
  }

  async readFrame(timeoutMs = 1000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.input.length < 8) {
      if (Date.now() > deadline) throw new Error(`no 8-byte response within ${timeoutMs} ms (got ${hex(this.input)})`);
      await sleep(2);
    }
    const frame = this.input.subarray(0, 8);
    this.input = this.input.subarray(8);
    return Buffer.from(frame);
  }

  async request(frame: Buffer): Promise<Buffer> {
    this.write(frame);
    return this.readFrame();
  }

  signal(name: 'SIGUSR1' | 'SIGUSR2'): void {
    this.child.kill(name);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    await this.line.close();
  }
}

/**
 * The driver on a second pty, joined to the core's line by this process, which passes whole request
 * frames one way and responses the other, and can damage one request or lose one response on the way.
 */
class Link {
  corruptNextRequest: ((frame: Buffer) => boolean) | null = null;
  dropNextResponseTo: ((frame: Buffer) => boolean) | null = null;
  private pending = Buffer.alloc(0);
  private dropping = false;
  private outgoing = Buffer.alloc(0);

  private constructor(
    readonly driverLine: PtyBridge,
    readonly core: CoreOnPty,
  ) {
    driverLine.stream.on('data', (data: Buffer) => this.fromDriver(data));
    core.forward = (data) => this.fromCore(data);
  }

  static async join(core: CoreOnPty): Promise<Link> {
    return new Link(await startPty(), core);
  }

  private fromDriver(data: Buffer): void {
    this.pending = Buffer.concat([this.pending, data]);
    while (this.pending.length >= 8) {
      const frame = Buffer.from(this.pending.subarray(0, 8));
      this.pending = this.pending.subarray(8);
      if (this.corruptNextRequest?.(frame)) {
        this.corruptNextRequest = null;
        frame[2] ^= 0x01; // one bit flipped on the line: another key, and a CRC that no longer fits
      }
      if (this.dropNextResponseTo?.(frame)) {
        this.dropNextResponseTo = null;
        this.dropping = true;
      }
      this.core.write(frame);
    }
  }

  private fromCore(data: Buffer): void {
    this.outgoing = Buffer.concat([this.outgoing, data]);
    while (this.outgoing.length >= 8) {
      const frame = this.outgoing.subarray(0, 8);
      this.outgoing = this.outgoing.subarray(8);
      if (this.dropping) {
        this.dropping = false; // lost on the way back
        continue;
      }
      this.driverLine.stream.write(Buffer.from(frame));
    }
  }

  async close(): Promise<void> {
    this.core.forward = null;
    await this.driverLine.close();
  }
}

describe('the Arduino protocol core on a pseudo-terminal, raw frames', () => {
  let core: CoreOnPty;

  afterEach(async () => {
    await core?.stop();
  });

  it('answers REPEAT right after start with NONE, then the reference vectors', async () => {
    core = await CoreOnPty.start();
    expect(hex(await core.request(encodeRequest(Command.REPEAT)))).toBe(hex(encodeResponse(ResponseCode.NONE)));

    expect(hex(await core.request(unhex('33 01 00 00 00 00 18 38')))).toBe(hex(pong())); // PING
    const from = core.log.length;
    expect(hex(await core.request(unhex('33 11 50 01 00 00 1b b9')))).toBe(hex(pong())); // KEY MetaLeft down
    expect(hex(await core.request(unhex('33 11 50 00 00 00 db e8')))).toBe(hex(pong())); // KEY MetaLeft up
    expect(await core.reports('keyboard', 2, from)).toEqual(['keyboard 08 00 00 00 00 00 00 00', 'keyboard 00 00 00 00 00 00 00 00']);

    const moves = core.log.length;
    await core.request(encodeRequest(Command.MOUSE_MOVE, [0x80, 0x00, 0x80, 0x00])); // top left
    expect(hex(await core.request(unhex('33 12 00 00 00 00 db bd')))).toBe(hex(pong())); // MOUSE_MOVE 0,0
    expect(await core.reports('pointer', 2, moves)).toEqual(['pointer 00 00 00 00 00 00', 'pointer 00 00 40 00 40 00']);

    // REPEAT gives the last answer again and runs nothing.
    const repeats = core.log.length;
    expect(hex(await core.request(encodeRequest(Command.REPEAT)))).toBe(hex(pong()));
    expect(await core.reports('pointer', 0, repeats)).toEqual([]);
  });

  it('answers a request cut short with TIMEOUT_ERROR 100 ms after its first byte', async () => {
    core = await CoreOnPty.start();
    const frame = encodeRequest(Command.KEY, [findKey('KeyA')!.mcu, 1]);
    const from = core.log.length;
    const started = Date.now();
    core.write(frame.subarray(0, 3));
    const answer = await core.readFrame(1000);
    const waited = Date.now() - started;
    expect(hex(answer)).toBe(hex(encodeResponse(ResponseCode.TIMEOUT_ERROR)));
    expect(waited).toBeGreaterThanOrEqual(95);
    expect(waited).toBeLessThan(250);
    // Nothing was pressed: at most an all-released report (the core may re-send its idle state).
    expect(core.lines('keyboard', from).filter((l) => l !== 'keyboard 00 00 00 00 00 00 00 00')).toEqual([]);
    // In step again: the whole request runs.
    expect(hex(await core.request(frame))).toBe(hex(pong()));
  });

  it('answers a bad CRC with CRC_ERROR and unknown commands with INVALID_ERROR', async () => {
    core = await CoreOnPty.start();
    const bad = encodeRequest(Command.KEY, [4, 1]);
    bad[7] ^= 0xff;
    expect(hex(await core.request(bad))).toBe(hex(encodeResponse(ResponseCode.CRC_ERROR)));
    expect(hex(await core.request(encodeRequest(0x2f)))).toBe(hex(encodeResponse(ResponseCode.INVALID_ERROR)));
    expect(hex(await core.request(encodeRequest(Command.MOUSE_RELATIVE, [1, 1])))).toBe(hex(encodeResponse(ResponseCode.INVALID_ERROR)));
    expect(hex(await core.request(encodeRequest(Command.SET_KEYBOARD, [0x01])))).toBe(hex(pong()));
    expect(hex(await core.request(encodeRequest(Command.SET_KEYBOARD, [0x03])))).toBe(hex(encodeResponse(ResponseCode.INVALID_ERROR)));
  });

  it('presses the power button: short press, long press, hold and release (extension 0x20), and reports its version (0x21)', async () => {
    core = await CoreOnPty.start(['--long-press-ms', '200']);
    let from = core.log.length;
    expect(hex(await core.request(encodeRequest(0x20, [2])))).toBe(hex(pong(0, 1)));
    let pressed = await core.waitFor((t) => t === 'power pressed', 'power pressed', from);
    let released = await core.waitFor((t) => t === 'power released', 'power released', from);
    let held = core.log[released].at - core.log[pressed].at;
    expect(held).toBeGreaterThanOrEqual(280);
    expect(held).toBeLessThan(700);

    from = core.log.length;
    expect(hex(await core.request(encodeRequest(0x20, [3])))).toBe(hex(pong(0, 1)));
    pressed = await core.waitFor((t) => t === 'power pressed', 'power pressed', from);
    released = await core.waitFor((t) => t === 'power released', 'power released', from);
    held = core.log[released].at - core.log[pressed].at;
    expect(held).toBeGreaterThanOrEqual(180);
    expect(held).toBeLessThan(600);

    from = core.log.length;
    expect(hex(await core.request(encodeRequest(0x20, [1])))).toBe(hex(pong(0, 1)));
    await sleep(250);
    expect(core.lines('power', from)).toEqual(['power pressed']);
    expect(hex(await core.request(encodeRequest(0x20, [0])))).toBe(hex(pong(0, 0)));
    await core.waitFor((t) => t === 'power released', 'power released', from);

    expect(hex(await core.request(encodeRequest(0x20, [7])))).toBe(hex(encodeResponse(ResponseCode.INVALID_ERROR)));
    const version = await core.request(encodeRequest(0x21));
    expect(version[1]).toBe(ResponseCode.PONG);
    expect([...version.subarray(2, 6)]).toEqual([1, 0, 0, 0]); // 1.0.0, board kind 0 = host build
  });
});

describe('the Arduino protocol core driven by the TypeScript driver', () => {
  let core: CoreOnPty;
  let link: Link;
  let board: SerialBoard;
  const events: BoardEvent[] = [];

  beforeAll(async () => {
    core = await CoreOnPty.start();
    link = await Link.join(core);
    board = await openHid(`serial:${link.driverLine.path}`, { responseTimeoutMs: 300, retryDelayMs: 20, openTimeoutMs: 3000 });
    board.onEvent((event) => events.push(event));
  });

  afterAll(async () => {
    await board?.close();
    await link?.close();
    await core?.stop();
  });

  it('answers PING with the keyboard online and no lock lit', async () => {
    expect(await board.status()).toMatchObject({ keyboardOnline: true, capsLock: false, numLock: false, scrollLock: false, resetRequired: false });
  });

  it('taps a key and a chord: modifiers as bits, released in reverse', async () => {
    let from = core.log.length;
    await board.tap('Enter');
    expect(await core.reports('keyboard', 2, from)).toEqual(chordReports(['Enter']));
    expect(chordReports(['Enter'])[0]).toBe('keyboard 00 00 28 00 00 00 00 00');

    from = core.log.length;
    await board.tap(['ControlLeft', 'ShiftLeft', 'KeyD']);
    const expected = chordReports(['ControlLeft', 'ShiftLeft', 'KeyD']);
    expect(expected).toEqual([
      'keyboard 01 00 00 00 00 00 00 00',
      'keyboard 03 00 00 00 00 00 00 00',
      'keyboard 03 00 07 00 00 00 00 00',
      'keyboard 03 00 00 00 00 00 00 00',
      'keyboard 01 00 00 00 00 00 00 00',
      'keyboard 00 00 00 00 00 00 00 00',
    ]);
    expect(await core.reports('keyboard', expected.length, from)).toEqual(expected);

    from = core.log.length;
    await board.tap('GUI r'); // DuckyScript names
    expect(await core.reports('keyboard', 4, from)).toEqual(chordReports(['MetaLeft', 'KeyR']));
  });

  it('types text with Shift around the shifted characters', async () => {
    const from = core.log.length;
    await board.type('Hi!');
    const expected = [
      ...chordReports(['ShiftLeft', 'KeyH']),
      ...chordReports(['KeyI']),
      ...chordReports(['ShiftLeft', 'Digit1']),
    ];
    expect(await core.reports('keyboard', expected.length, from)).toEqual(expected);
  });

  it('moves the absolute pointer and clicks', async () => {
    const from = core.log.length;
    await board.move(0.25, 0.75);
    await board.click();
    await board.click('right');
    // x = -16384 on the line = 8192 on USB (0x2000); y = 16383 = 24575 (0x5fff).
    expect(await core.reports('pointer', 5, from)).toEqual([
      'pointer 00 00 20 ff 5f 00',
      'pointer 01 00 20 ff 5f 00',
      'pointer 00 00 20 ff 5f 00',
      'pointer 02 00 20 ff 5f 00',
      'pointer 00 00 20 ff 5f 00',
    ]);
  });

  it('a corrupted request gets CRC_ERROR, the driver sends it again, and the key is pressed once', async () => {
    events.length = 0;
    const from = core.log.length;
    link.corruptNextRequest = (frame) => frame[1] === Command.KEY;
    await board.tap('KeyA');
    expect(events.filter((e) => e.type === 'resend').map((e) => (e as { reason: string }).reason)).toEqual(['CRC_ERROR']);
    expect(await core.reports('keyboard', 2, from)).toEqual(chordReports(['KeyA'])); // not KeyB (the flipped bit), not twice
  });

  it('a lost response is fetched with REPEAT and the key is pressed once', async () => {
    events.length = 0;
    const from = core.log.length;
    link.dropNextResponseTo = (frame) => frame[1] === Command.KEY && frame[3] === 1;
    await board.tap('KeyB');
    expect(events.filter((e) => e.type === 'repeat')).toHaveLength(1);
    expect(events.some((e) => e.type === 'resend')).toBe(false);
    expect(await core.reports('keyboard', 2, from)).toEqual(chordReports(['KeyB']));
  });

  it('reports the PC lighting Caps Lock', async () => {
    await board.tap('CapsLock');
    await core.waitFor((t) => t === 'leds 02', 'the PC lighting Caps Lock');
    expect(await board.status()).toMatchObject({ keyboardOnline: true, capsLock: true });
    const from = core.log.length;
    await board.tap('CapsLock');
    await core.waitFor((t) => t === 'leds 00', 'the PC putting Caps Lock out', from);
    expect((await board.status()).capsLock).toBe(false);
  });

  it('flags the keyboard offline while the PC is not reading it, and re-sends the held keys when it is back', async () => {
    const shift = findKey('ShiftLeft')!;
    let from = core.log.length;
    await board.down('ShiftLeft');
    expect(await core.reports('keyboard', 1, from)).toEqual([bootReport([shift])]);

    // The PC reboots while Shift is held: once it reads the keyboard again it is told about Shift.
    from = core.log.length;
    core.signal('SIGUSR1');
    await core.waitFor((t) => t === 'online 0', 'the PC going offline', from);
    expect(await board.status()).toMatchObject({ keyboardOnline: false });
    core.signal('SIGUSR2');
    await core.waitFor((t) => t === 'online 1', 'the PC coming back', from);
    expect(await core.reports('keyboard', 1, from)).toEqual([bootReport([shift])]);
    expect(await board.status()).toMatchObject({ keyboardOnline: true });

    // A key pressed while the PC is away reaches it when it is back.
    from = core.log.length;
    core.signal('SIGUSR1');
    await core.waitFor((t) => t === 'online 0', 'the PC going offline', from);
    await board.down('KeyA');
    expect(await core.reports('keyboard', 0, from)).toEqual([]); // nothing reaches a PC that is not there
    expect(core.lines('wake', from)).toEqual(['wake']); // a sleeping PC is asked to wake up
    core.signal('SIGUSR2');
    await core.waitFor((t) => t === 'online 1', 'the PC coming back', from);
    expect(await core.reports('keyboard', 1, from)).toEqual([bootReport([shift, findKey('KeyA')!])]);

    from = core.log.length;
    await board.releaseAll();
    expect(await core.reports('keyboard', 1, from)).toEqual(['keyboard 00 00 00 00 00 00 00 00']);
    expect(board.counters.failures).toBe(0);
  });
});
