// The serial board driver against a board played by the test over a real pseudo-terminal pair (socat)
// and over real TCP: the frames on the line are checked byte for byte, and the board's answers are scripted.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { SerialPort } from 'serialport';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Command, PongFlag, ResponseCode, commandName, crc16, encodeResponse, frameCrcOk } from '../drivers/hid/protocol.ts';
import { keyByMcu } from '../drivers/hid/keymap.ts';
import { openHid, type SerialBoard, type OpenHidOptions } from '../drivers/hid/serial-board.ts';
import { parseHidSpec } from '../drivers/hid/transport.ts';

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A request frame as a person would read it: "KEY MetaLeft down", "PING", "REPEAT". */
function describeFrame(frame: Buffer): string {
  const name = commandName(frame[1]);
  if (frame[1] === Command.KEY) return `KEY ${keyByMcu(frame[2])?.code ?? frame[2]} ${frame[3] ? 'down' : 'up'}`;
  return name;
}

type Answer = { send: Buffer | null; remember?: Buffer };

/**
 * The board's side of the line: splits what arrives into 8-byte requests, records them, and answers like
 * the protocol says (PONG with the current flags, REPEAT replays the last answer, a bad CRC gets CRC_ERROR),
 * unless a scripted answer is queued for the next request of a command.
 */
class TestBoard {
  frames: Buffer[] = [];
  flags = 0;
  silent = false;
  private last: Buffer = encodeResponse(ResponseCode.NONE);
  private pending = Buffer.alloc(0);
  private scripted = new Map<number, Array<(frame: Buffer) => Answer>>();

  constructor(private readonly write: (bytes: Buffer) => void) {}

  feed(data: Buffer): void {
    this.pending = Buffer.concat([this.pending, data]);
    while (this.pending.length >= 8) {
      const frame = this.pending.subarray(0, 8);
      this.pending = this.pending.subarray(8);
      this.handle(Buffer.from(frame));
    }
  }

  /** The next request with `command` gets this answer instead of the normal one. */
  once(command: number, answer: (frame: Buffer) => Answer): void {
    const list = this.scripted.get(command) ?? [];
    list.push(answer);
    this.scripted.set(command, list);
  }

  reset(): void {
    this.frames = [];
    this.flags = 0;
    this.silent = false;
    this.scripted.clear();
    this.pending = Buffer.alloc(0);
  }

  pong(): Buffer {
    return encodeResponse(ResponseCode.PONG | this.flags);
  }

  get sent(): string[] {
    return this.frames.map(describeFrame);
  }

  private handle(frame: Buffer): void {
    this.frames.push(frame);
    if (this.silent) return;
    const script = this.scripted.get(frame[1])?.shift();
    let answer: Answer;
    if (script) answer = script(frame);
    else if (!frameCrcOk(frame)) answer = { send: encodeResponse(ResponseCode.CRC_ERROR) };
    else if (frame[1] === Command.REPEAT) answer = { send: this.last, remember: this.last };
    else answer = { send: this.pong() };
    this.last = answer.remember ?? answer.send ?? this.last;
    if (answer.send) this.write(answer.send);
  }
}

/** A response as it would arrive after a bit flipped on the line. */
function corrupted(frame: Buffer): Buffer {
  const copy = Buffer.from(frame);
  copy[7] ^= 0x01;
  return copy;
}

function legacyOk(): Buffer {
  const frame = Buffer.from([0x33, ResponseCode.OK_LEGACY, 0, 0]);
  const crc = crc16(frame, 2);
  frame[2] = crc >> 8;
  frame[3] = crc & 0xff;
  return frame;
}

const FAST: OpenHidOptions = { responseTimeoutMs: 300, retryDelayMs: 20, pingIntervalMs: 0, openTimeoutMs: 3000 };

async function startPtyPair(): Promise<{ socat: ChildProcess; driverEnd: string; boardEnd: string }> {
  const socat = spawn('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const names: string[] = [];
  await new Promise<void>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`socat printed no pty names: ${text}`)), 5000);
    socat.stderr!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      for (const m of text.matchAll(/PTY is (\/dev\/pts\/\d+)/g)) if (!names.includes(m[1])) names.push(m[1]);
      if (names.length === 2 && /starting data transfer loop/.test(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    socat.once('exit', (code) => reject(new Error(`socat exited with ${code}: ${text}`)));
  });
  return { socat, driverEnd: names[0], boardEnd: names[1] };
}

describe('serial HID board over a pseudo-terminal', () => {
  let socat: ChildProcess;
  let driverEnd: string;
  let boardPort: SerialPort;
  let board: TestBoard;
  let hid: SerialBoard | null = null;

  beforeAll(async () => {
    const pair = await startPtyPair();
    socat = pair.socat;
    driverEnd = pair.driverEnd;
    boardPort = new SerialPort({ path: pair.boardEnd, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => boardPort.open((err) => (err ? reject(err) : resolve())));
    board = new TestBoard((bytes) => boardPort.write(bytes));
    boardPort.on('data', (data: Buffer) => board.feed(data));
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => boardPort.close(() => resolve()));
    socat.kill();
  });

  beforeEach(() => board.reset());
  afterEach(async () => {
    await hid?.close();
    hid = null;
  });

  async function open(options: OpenHidOptions = {}): Promise<SerialBoard> {
    hid = await openHid(`serial:${driverEnd}`, { ...FAST, ...options });
    board.frames = []; // the PING and CLEAR_HID of opening are checked in their own test
    return hid;
  }

  it('sends the reference test vectors byte for byte', async () => {
    hid = await openHid(driverEnd, FAST); // a bare /dev/pts path works too
    expect(hid.description).toContain(driverEnd);
    await hid.tap('MetaLeft');
    await hid.move(0.5, 0.5);
    expect(board.frames.map(hex)).toEqual([
      '33 01 00 00 00 00 18 38', // PING until the board answers
      '33 10 00 00 00 00 1b c4', // CLEAR_HID: start with no key held
      '33 11 50 01 00 00 1b b9', // KEY MetaLeft down
      '33 11 50 00 00 00 db e8', // KEY MetaLeft up
      '33 12 00 00 00 00 db bd', // MOUSE_MOVE to the centre: 0,0 on the absolute axes
    ]);
    expect(hid.counters).toMatchObject({ requests: 5, repeats: 0, resends: 0, failures: 0 });
  });

  it('asks for a garbled answer again with REPEAT and never presses the key twice', async () => {
    await open();
    board.once(Command.KEY, () => ({ send: corrupted(board.pong()), remember: board.pong() }));
    await hid!.tap('MetaLeft');
    expect(board.sent).toEqual(['KEY MetaLeft down', 'REPEAT', 'KEY MetaLeft up']);
    expect(board.frames.filter((f) => f[1] === Command.KEY && f[3] === 1)).toHaveLength(1);
    expect(hid!.counters).toMatchObject({ repeats: 1, resends: 0 });
  });

  it('asks again with REPEAT when no answer comes in time', async () => {
    await open();
    board.once(Command.KEY, () => ({ send: null, remember: board.pong() }));
    const started = Date.now();
    await hid!.down('Enter');
    expect(Date.now() - started).toBeGreaterThanOrEqual(280); // waited out the response timeout
    expect(board.sent).toEqual(['KEY Enter down', 'REPEAT']);
  });

  it('sends the command again when the board answers NONE to REPEAT (it restarted and lost it)', async () => {
    await open();
    board.once(Command.KEY, () => ({ send: null, remember: encodeResponse(ResponseCode.NONE) }));
    await hid!.tap('KeyD');
    expect(board.sent).toEqual(['KEY KeyD down', 'REPEAT', 'KEY KeyD down', 'KEY KeyD up']);
    expect(hid!.counters).toMatchObject({ repeats: 1, resends: 1 });
  });

  it('sends the command again after CRC_ERROR', async () => {
    await open();
    board.once(Command.KEY, () => ({ send: encodeResponse(ResponseCode.CRC_ERROR) }));
    await hid!.down('Tab');
    expect(board.sent).toEqual(['KEY Tab down', 'KEY Tab down']);
    expect(hid!.counters).toMatchObject({ repeats: 0, resends: 1 });
  });

  it('accepts the 4-byte OK of an old firmware and stays in step', async () => {
    await open();
    board.once(Command.KEY, () => ({ send: legacyOk() }));
    await hid!.tap('Escape');
    expect(await hid!.status()).toMatchObject({ keyboardOnline: true });
    expect(board.sent).toEqual(['KEY Escape down', 'KEY Escape up', 'PING']);
    expect(hid!.counters).toMatchObject({ repeats: 0, resends: 0 });
  });

  it('fails after its retries with what was sent and what came back, and reports the board lost', async () => {
    await open({ retries: 2 });
    const lost: string[] = [];
    hid!.onLost((err) => lost.push(err.message));
    board.silent = true;
    const error = await hid!.down('MetaLeft').then(() => null, (e: Error) => e);
    expect(error?.message).toMatch(/KEY MetaLeft down failed on serial \/dev\/pts\/\d+ after 3 attempts/);
    expect(error?.message).toContain('sent KEY MetaLeft down (33 11 50 01 00 00 1b b9), got no answer within 300 ms');
    expect(error?.message).toContain('sent REPEAT (33 02 00 00 00 00');
    expect(board.sent).toEqual(['KEY MetaLeft down', 'REPEAT', 'REPEAT']);
    expect(hid!.counters).toMatchObject({ repeats: 2, resends: 0, failures: 1 });
    expect(lost).toHaveLength(1);
    // Once the board answers again, every key is released before the next command.
    board.silent = false;
    board.frames = [];
    await hid!.tap('KeyA');
    expect(board.sent).toEqual(['CLEAR_HID', 'KEY KeyA down', 'KEY KeyA up']);
  });

  it('types text with Shift for capitals and symbols (US layout)', async () => {
    await open();
    await hid!.type('Ab1!');
    expect(board.sent).toEqual([
      'KEY ShiftLeft down', 'KEY KeyA down', 'KEY KeyA up', 'KEY ShiftLeft up',
      'KEY KeyB down', 'KEY KeyB up',
      'KEY Digit1 down', 'KEY Digit1 up',
      'KEY ShiftLeft down', 'KEY Digit1 down', 'KEY Digit1 up', 'KEY ShiftLeft up',
    ]);
  });

  it('refuses text it cannot type before sending anything, naming the characters', async () => {
    await open();
    await expect(hid!.type('café 5€')).rejects.toThrow(/'é' \(U\+00E9\), '€' \(U\+20AC\).*US keyboard layout; nothing was sent/);
    await sleep(100);
    expect(board.frames).toHaveLength(0);
  });

  it('taps a chord in order and releases it in reverse', async () => {
    await open();
    await hid!.tap('CTRL SHIFT d');
    await hid!.click('left');
    expect(board.sent).toEqual([
      'KEY ControlLeft down', 'KEY ShiftLeft down', 'KEY KeyD down',
      'KEY KeyD up', 'KEY ShiftLeft up', 'KEY ControlLeft up',
      'MOUSE_BUTTON', 'MOUSE_BUTTON',
    ]);
    expect(hex(board.frames[6]).slice(0, 11)).toBe('33 13 88 00'); // left select + down
    expect(hex(board.frames[7]).slice(0, 11)).toBe('33 13 80 00'); // left select, up
    await expect(hid!.tap('NoSuchKey')).rejects.toThrow(/unknown key 'NoSuchKey'/);
  });

  it('pings when idle, tells listeners when the keyboard goes offline, and notices a lost board', async () => {
    await open({ pingIntervalMs: 50, retries: 1 });
    const seen: boolean[] = [];
    hid!.onStatus((s) => seen.push(s.keyboardOnline));
    // Pings every 50 ms while idle: two come within a few intervals (waited for, not timed: a loaded CI machine is slow).
    const pings = () => board.sent.filter((s) => s === 'PING').length;
    for (let i = 0; i < 80 && pings() < 2; i++) await sleep(25);
    expect(pings()).toBeGreaterThanOrEqual(2);
    board.flags = PongFlag.KEYBOARD_OFFLINE | PongFlag.NUM_LOCK;
    for (let i = 0; i < 80 && seen.length === 0; i++) await sleep(25);
    expect(seen).toEqual([false]);
    expect(hid!.lastStatus).toMatchObject({ keyboardOnline: false, numLock: true });
    expect(await hid!.status()).toMatchObject({ keyboardOnline: false, numLock: true });

    const events: string[] = [];
    let framesWhenLost = -1;
    hid!.onEvent((e) => {
      if (e.type === 'lost') framesWhenLost = board.frames.length;
      if (e.type === 'lost' || e.type === 'back') events.push(e.type);
    });
    board.silent = true; // the board stops answering: the idle PING notices, no request needed
    for (let i = 0; i < 80 && !events.includes('lost'); i++) await sleep(25);
    expect(events).toEqual(['lost']);
    board.silent = false; // back: the loop releases every key before it pings again
    for (let i = 0; i < 80 && !events.includes('back'); i++) await sleep(25);
    expect(events).toEqual(['lost', 'back']);
    expect(board.sent[framesWhenLost]).toBe('CLEAR_HID');
  });

  it('names the port and the time waited when no board answers', async () => {
    board.silent = true;
    const started = Date.now();
    const error = await openHid(`serial:${driverEnd}`, { ...FAST, openTimeoutMs: 1000 }).then(() => null, (e: Error) => e);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(error?.message).toMatch(new RegExp(`no answer from the HID board on serial ${driverEnd}: sent PING \\d+ times over 1\\.\\d s and nothing came back`));
    expect(board.sent.every((s) => s === 'PING')).toBe(true);
  });

  it('names the path when the serial port cannot be opened', async () => {
    await expect(openHid('/dev/pts/9999', FAST)).rejects.toThrow(/cannot open serial port \/dev\/pts\/9999 \(115200 8N1\)/);
  });
});

describe('serial HID board over TCP (ser2net)', () => {
  let server: Server;
  let port: number;
  let board: TestBoard;
  let hid: SerialBoard | null = null;
  let socket: Socket | null = null;

  beforeAll(async () => {
    board = new TestBoard((bytes) => socket?.write(bytes));
    server = createServer((s) => {
      socket = s;
      s.on('data', (data: Buffer) => board.feed(data));
      s.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => board.reset());
  afterEach(async () => {
    await hid?.close();
    hid = null;
  });

  it('sends the test vectors and repeats a garbled answer instead of the key', async () => {
    hid = await openHid(`tcp://127.0.0.1:${port}`, FAST);
    expect(hid.description).toBe(`serial HID board on tcp 127.0.0.1:${port}`);
    board.once(Command.KEY, () => ({ send: corrupted(board.pong()), remember: board.pong() }));
    await hid.tap('MetaLeft');
    expect(board.frames.map(hex)).toEqual([
      '33 01 00 00 00 00 18 38',
      '33 10 00 00 00 00 1b c4',
      '33 11 50 01 00 00 1b b9',
      '33 02 00 00 00 00 18 7c', // REPEAT
      '33 11 50 00 00 00 db e8',
    ]);
  });

  it('sends the command again after TIMEOUT_ERROR and after NONE to REPEAT', async () => {
    hid = await openHid(`tcp://127.0.0.1:${port}`, FAST);
    board.frames = [];
    board.once(Command.KEY, () => ({ send: encodeResponse(ResponseCode.TIMEOUT_ERROR) }));
    board.once(Command.KEY, () => ({ send: null, remember: encodeResponse(ResponseCode.NONE) }));
    await hid.down('KeyQ');
    expect(board.sent).toEqual(['KEY KeyQ down', 'KEY KeyQ down', 'REPEAT', 'KEY KeyQ down']);
  });

  it('reports the board lost when the connection drops, and (told not to reopen) refuses requests naming why', async () => {
    hid = await openHid(`tcp://127.0.0.1:${port}`, { ...FAST, reopenTimeoutMs: 0 });
    const lost: string[] = [];
    hid.onLost((err) => lost.push(err.message));
    socket!.destroy();
    for (let i = 0; i < 100 && lost.length === 0; i++) await sleep(10);
    expect(lost).toEqual([`tcp 127.0.0.1:${port} was closed by the other end`]);
    await expect(hid.tap('Enter')).rejects.toThrow(`serial HID board on tcp 127.0.0.1:${port} is closed (tcp 127.0.0.1:${port} was closed by the other end)`);
  });

  it('names host:port when nothing listens there', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(openHid(`tcp://127.0.0.1:${freePort}`, FAST)).rejects.toThrow(
      new RegExp(`cannot connect to the HID board at tcp 127\\.0\\.0\\.1:${freePort}: .*ECONNREFUSED`),
    );
  });
});

describe('HID spec', () => {
  it('accepts serial paths and tcp addresses', () => {
    expect(parseHidSpec('serial:/dev/ttyACM0')).toEqual({ kind: 'serial', path: '/dev/ttyACM0' });
    expect(parseHidSpec('/dev/pts/4')).toEqual({ kind: 'serial', path: '/dev/pts/4' });
    expect(parseHidSpec('tcp://127.0.0.1:5000')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 5000 });
  });

  it('names the spec and the accepted forms when it is not understood', () => {
    expect(() => parseHidSpec('ttyACM0')).toThrow(/HID spec 'ttyACM0' is not understood; accepted forms: serial:\/dev\/ttyACM0, a bare \/dev\/\.\.\. path, or tcp:\/\/host:port/);
    expect(() => parseHidSpec('tcp://127.0.0.1')).toThrow(/HID spec 'tcp:\/\/127\.0\.0\.1' needs a port/);
    expect(() => parseHidSpec('serial:')).toThrow(/names no serial port/);
  });
});
