// The keyboard/mouse board on a serial line (reference/serial-hid-protocol.md), as a HidDevice.
// Every request is acknowledged; a lost or garbled answer is fetched again with REPEAT rather than by
// sending the command twice, so no key is pressed twice by a retry.
import {
  Command,
  FRAME_LENGTH,
  PongFlag,
  REQUEST_MAGIC,
  RESPONSE_MAGIC,
  ResponseCode,
  encodeRequest,
  frameCrcOk,
  keyPayload,
  legacyResponseCrcOk,
  mouseButtonPayload,
  mouseMovePayload,
  type MouseButton,
} from './protocol.ts';
import { findKey, type KeyInfo } from './keymap.ts';
import { parseHidSpec, type ByteTransport } from './transport.ts';
import { SerialTransport } from './transport-serial.ts';
import { TcpTransport } from './transport-tcp.ts';
import type { BoardStatus, HidDevice } from './types.ts';
import { usStrokes } from './us-layout.ts';

export interface SerialBoardOptions {
  /** How long to wait for a response before asking for it again with REPEAT. */
  responseTimeoutMs?: number;
  /** Further attempts after the first, each `retryDelayMs` apart, before a request fails. */
  retries?: number;
  retryDelayMs?: number;
  /** PING when idle this often to notice a lost board or device; 0 turns it off. */
  pingIntervalMs?: number;
  /** Pause after each character typed by type(). */
  keyGapMs?: number;
  /** Pause after Shift goes down and before it comes up, so the device sees Shift around the key. */
  shiftGapMs?: number;
}

export interface OpenHidOptions extends SerialBoardOptions {
  /** How long openHid keeps sending PING before it gives up on the board. */
  openTimeoutMs?: number;
  baudRate?: number;
  connectTimeoutMs?: number;
}

export type BoardEvent =
  | { type: 'done'; command: string; response: string; attempts: number; ms: number }
  | { type: 'repeat'; command: string; reason: string }
  | { type: 'resend'; command: string; reason: string }
  | { type: 'failed'; command: string; error: string }
  | { type: 'status'; status: BoardStatus }
  | { type: 'lost'; error: string }
  | { type: 'back' };

export interface BoardCounters {
  /** Requests made (each counted once however many attempts it took), pings included. */
  requests: number;
  pings: number;
  /** REPEAT frames sent to fetch a lost or garbled response. */
  repeats: number;
  /** Commands sent again (CRC_ERROR, TIMEOUT_ERROR, or NONE after a REPEAT). */
  resends: number;
  /** Requests that failed after every retry. */
  failures: number;
}

/** A response read from the line: a valid frame, or what was wrong with it. */
type Reply =
  | { ok: true; code: number; legacy: boolean; bytes: Buffer }
  | { ok: false; why: string; bytes: Buffer };

const REPEAT_FRAME = encodeRequest(Command.REPEAT);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');

export class SerialBoard implements HidDevice {
  readonly description: string;
  private readonly responseTimeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly pingIntervalMs: number;
  private readonly keyGapMs: number;
  private readonly shiftGapMs: number;

  private queue: Promise<unknown> = Promise.resolve();
  private busy = 0;
  private lastActivity = Date.now();
  private pingTimer: NodeJS.Timeout | null = null;
  private closing = false;
  private lost = false;
  private closeCause: Error | null = null;
  private current: BoardStatus | null = null;
  private readonly statusListeners: Array<(status: BoardStatus) => void> = [];
  private readonly lostListeners: Array<(error: Error) => void> = [];
  private readonly eventListeners: Array<(event: BoardEvent) => void> = [];
  private readonly count: BoardCounters = { requests: 0, pings: 0, repeats: 0, resends: 0, failures: 0 };

  constructor(
    private readonly transport: ByteTransport,
    options: SerialBoardOptions = {},
  ) {
    this.description = `serial HID board on ${transport.description}`;
    this.responseTimeoutMs = options.responseTimeoutMs ?? 2000;
    this.retries = options.retries ?? 5;
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.pingIntervalMs = options.pingIntervalMs ?? 250;
    this.keyGapMs = options.keyGapMs ?? 5;
    this.shiftGapMs = options.shiftGapMs ?? 30;
    transport.onClose((cause) => {
      this.closeCause = cause ?? null;
      if (cause && !this.closing) this.markLost(cause);
      this.stopPinging();
    });
  }

  /** Counters since open, for reports. */
  get counters(): BoardCounters {
    return { ...this.count };
  }

  /** The status of the last PONG (null before the first, or with an old firmware that sends no flags). */
  get lastStatus(): BoardStatus | null {
    return this.current ? { ...this.current } : null;
  }

  onStatus(listener: (status: BoardStatus) => void): void {
    this.statusListeners.push(listener);
  }

  /** Called when a request fails after every retry or the link closes; the board is then pinged until it is back. */
  onLost(listener: (error: Error) => void): void {
    this.lostListeners.push(listener);
  }

  /** Every request's outcome, retries, status changes, loss and recovery. */
  onEvent(listener: (event: BoardEvent) => void): void {
    this.eventListeners.push(listener);
  }

  // --- Keyboard -------------------------------------------------------------------------------------

  async tap(chord: string | string[]): Promise<void> {
    const keys = parseChord(chord);
    await this.exclusive(async () => {
      const pressed: KeyInfo[] = [];
      try {
        for (const key of keys) {
          await this.key(key, true);
          pressed.push(key);
        }
        for (const key of [...pressed].reverse()) {
          await this.key(key, false);
          pressed.pop();
        }
      } catch (error) {
        await this.releaseBestEffort(pressed);
        throw error;
      }
    });
  }

  async down(name: string): Promise<void> {
    const key = resolveKey(name);
    await this.exclusive(() => this.key(key, true));
  }

  async up(name: string): Promise<void> {
    const key = resolveKey(name);
    await this.exclusive(() => this.key(key, false));
  }

  async type(text: string): Promise<void> {
    const strokes = usStrokes(text); // refuses untypeable text before anything is sent
    const shift = resolveKey('ShiftLeft');
    await this.exclusive(async () => {
      for (const [i, stroke] of strokes.entries()) {
        // Typed text may be a secret (a Wi-Fi key): events and errors name the position, never the key.
        const press = (key: KeyInfo, down: boolean) =>
          this.request(Command.KEY, keyPayload(key.mcu, down), `KEY (typing character ${i + 1} of ${strokes.length}) ${down ? 'down' : 'up'}`, true);
        if (stroke.shift) {
          await press(shift, true);
          await sleep(this.shiftGapMs);
        }
        try {
          await press(resolveKey(stroke.code), true);
          await press(resolveKey(stroke.code), false);
        } catch (error) {
          if (stroke.shift) await press(shift, false).catch(() => {});
          throw error;
        }
        if (stroke.shift) {
          await sleep(this.shiftGapMs);
          await press(shift, false);
        }
        if (this.keyGapMs > 0) await sleep(this.keyGapMs);
      }
    });
  }

  async releaseAll(): Promise<void> {
    await this.exclusive(() => this.request(Command.CLEAR_HID, [], 'CLEAR_HID'));
  }

  async status(): Promise<BoardStatus> {
    const reply = await this.exclusive(() => this.ping());
    return reply.legacy ? legacyStatus() : statusFromCode(reply.code);
  }

  // --- Pointer --------------------------------------------------------------------------------------

  async move(x: number, y: number): Promise<void> {
    if (!(x >= 0 && x <= 1 && y >= 0 && y <= 1)) {
      throw new Error(`pointer position must be 0..1 on each axis, got x=${x}, y=${y}`);
    }
    const label = `MOUSE_MOVE ${x.toFixed(3)},${y.toFixed(3)}`;
    await this.exclusive(() => this.request(Command.MOUSE_MOVE, mouseMovePayload(x, y), label));
  }

  async click(button: MouseButton = 'left'): Promise<void> {
    await this.exclusive(async () => {
      await this.request(Command.MOUSE_BUTTON, mouseButtonPayload(button, true), `MOUSE_BUTTON ${button} down`);
      await this.request(Command.MOUSE_BUTTON, mouseButtonPayload(button, false), `MOUSE_BUTTON ${button} up`);
    });
  }

  // --- Life cycle -----------------------------------------------------------------------------------

  /**
   * Sends PING until the board answers (it may still be starting), then nothing else. The error says what
   * was sent, for how long, and the last thing that came back.
   */
  async waitForBoard(timeoutMs: number): Promise<BoardStatus> {
    return this.exclusive(async () => {
      const started = Date.now();
      const deadline = started + timeoutMs;
      let pings = 0;
      let last: Reply | null = null;
      this.count.requests++;
      this.count.pings++;
      while (true) {
        const left = deadline - Date.now();
        if (left <= 0 && pings > 0) break;
        await this.transport.drain();
        await this.transport.write(encodeRequest(Command.PING));
        pings++;
        const reply = await this.readReply(Math.max(100, Math.min(this.responseTimeoutMs, left)));
        if (reply.ok && (reply.legacy || reply.code & ResponseCode.PONG)) {
          if (!reply.legacy) this.noteStatus(statusFromCode(reply.code));
          return reply.legacy ? legacyStatus() : statusFromCode(reply.code);
        }
        if (reply.ok || reply.bytes.length) last = reply;
        // A quick wrong answer (e.g. CRC_ERROR while the line settles) is not worth hammering.
        if (Date.now() < deadline) await sleep(Math.min(100, Math.max(0, deadline - Date.now())));
      }
      const waited = ((Date.now() - started) / 1000).toFixed(1);
      const got = last ? `the last answer was ${describeReply(last)}` : 'nothing came back';
      throw new Error(
        `no answer from the HID board on ${this.transport.description}: sent PING ${pings} times over ${waited} s and ${got}. ` +
          'Is the board connected to this port and flashed with the serial HID firmware?',
      );
    });
  }

  startPinging(): void {
    if (this.pingIntervalMs <= 0 || this.pingTimer || this.closing || this.transport.closed) return;
    const tick = () => {
      this.pingTimer = null;
      if (this.closing || this.transport.closed) return;
      if (this.busy === 0 && Date.now() - this.lastActivity >= this.pingIntervalMs) {
        // Failures are reported through onLost; the loop keeps going to notice the board coming back.
        this.exclusive(() => this.ping()).catch(() => {});
      }
      this.pingTimer = setTimeout(tick, this.pingIntervalMs);
      this.pingTimer.unref();
    };
    this.pingTimer = setTimeout(tick, this.pingIntervalMs);
    this.pingTimer.unref();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.stopPinging();
    await this.queue.catch(() => {});
    if (!this.lost && !this.transport.closed) {
      // Leave no key held down; one quick attempt, since the caller is leaving anyway.
      try {
        await this.transport.drain();
        await this.transport.write(encodeRequest(Command.CLEAR_HID));
        await this.readReply(Math.min(this.responseTimeoutMs, 500));
      } catch {
        // The link is going away; nothing more to do.
      }
    }
    await this.transport.close();
  }

  // --- Requests -------------------------------------------------------------------------------------

  /** Runs `job` alone on the line: requests never interleave, and a chord or a text is not split by others. */
  private exclusive<T>(job: () => Promise<T>): Promise<T> {
    if (this.closing || this.transport.closed) {
      const why = this.closeCause ? ` (${this.closeCause.message})` : '';
      return Promise.reject(new Error(`${this.description} is closed${why}`));
    }
    this.busy++;
    const run = this.queue.then(async () => {
      try {
        if (this.lost && !this.transport.closed) await this.recover();
        return await job();
      } finally {
        this.busy--;
        this.lastActivity = Date.now();
      }
    });
    this.queue = run.catch(() => {});
    return run;
  }

  /** After a loss, keys may be stuck down on the board: release them all before anything else. */
  private async recover(): Promise<void> {
    await this.request(Command.CLEAR_HID, [], 'CLEAR_HID (after the board was lost)');
    this.lost = false;
    this.emit({ type: 'back' });
  }

  private async ping(): Promise<Extract<Reply, { ok: true }>> {
    this.count.pings++;
    return this.request(Command.PING, [], 'PING');
  }

  private key(key: KeyInfo, down: boolean): Promise<unknown> {
    return this.request(Command.KEY, keyPayload(key.mcu, down), `KEY ${key.code} ${down ? 'down' : 'up'}`);
  }

  /** One acknowledged request, following the protocol's "Host behaviour that makes it safe". */
  private async request(
    command: number,
    payload: number[],
    label: string,
    secret = false,
  ): Promise<Extract<Reply, { ok: true }>> {
    this.count.requests++;
    const frame = encodeRequest(command, payload);
    const started = Date.now();
    const trail: string[] = [];
    let sendRepeat = false;
    try {
      for (let attempt = 1; attempt <= this.retries + 1; attempt++) {
        if (attempt > 1) await sleep(this.retryDelayMs);
        await this.transport.drain();
        if (sendRepeat) this.count.repeats++;
        else if (attempt > 1) this.count.resends++;
        await this.transport.write(sendRepeat ? REPEAT_FRAME : frame);
        const reply = await this.readReply(this.responseTimeoutMs);
        const sent = sendRepeat ? `REPEAT (${hex(REPEAT_FRAME)})` : secret ? label : `${label} (${hex(frame)})`;
        trail.push(`sent ${sent}, got ${describeReply(reply)}`);

        if (!reply.ok) {
          // The command may have run: ask for its answer again, never send it twice.
          this.emit({ type: 'repeat', command: label, reason: reply.why });
          sendRepeat = true;
          continue;
        }
        const code = reply.code;
        if (reply.legacy || code & ResponseCode.PONG) {
          if (!reply.legacy) this.noteStatus(statusFromCode(code));
          this.emit({ type: 'done', command: label, response: describeReply(reply), attempts: attempt, ms: Date.now() - started });
          return reply;
        }
        if (code === ResponseCode.INVALID_ERROR) {
          // The line works; the board's firmware lacks this command. Not a lost board.
          const error = new Error(`the board does not know ${label}${secret ? '' : ` (${hex(frame)})`}: it answered INVALID_ERROR`);
          this.count.failures++;
          this.emit({ type: 'failed', command: label, error: error.message });
          throw Object.assign(error, { boardAnswered: true });
        }
        if (code === ResponseCode.NONE || code === ResponseCode.CRC_ERROR || code === ResponseCode.TIMEOUT_ERROR) {
          // NONE to a REPEAT: the board restarted and lost the command. CRC/TIMEOUT_ERROR: it ran nothing.
          // (Sending KEY, MOUSE_MOVE or MOUSE_BUTTON again is also harmless: they set a state, not a step.)
          this.emit({ type: 'resend', command: label, reason: responseName(code) });
          sendRepeat = false;
          continue;
        }
        // A well-formed frame with a code the protocol does not have: treat it as garbled.
        this.emit({ type: 'repeat', command: label, reason: `unknown response code 0x${code.toString(16)}` });
        sendRepeat = true;
      }
      throw new Error(
        `${label} failed on ${this.transport.description} after ${this.retries + 1} attempts in ${Date.now() - started} ms: ${trail.join('; ')}`,
      );
    } catch (error) {
      if ((error as { boardAnswered?: boolean }).boardAnswered) throw error;
      const err = error instanceof Error ? error : new Error(String(error));
      const wrapped = err.message.includes(label) ? err : new Error(`${label} failed: ${err.message}`);
      this.count.failures++;
      this.emit({ type: 'failed', command: label, error: wrapped.message });
      this.markLost(wrapped);
      throw wrapped;
    }
  }

  /** Reads 4 bytes, and 4 more when the first is the response magic (an old firmware sends only 4). */
  private async readReply(timeoutMs: number): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    const head = await this.transport.read(4, timeoutMs);
    if (head.length < 4) {
      return { ok: false, why: head.length ? `only ${head.length} bytes within ${timeoutMs} ms` : `no answer within ${timeoutMs} ms`, bytes: head };
    }
    if (head[0] === RESPONSE_MAGIC) {
      const tail = await this.transport.read(FRAME_LENGTH - 4, Math.max(100, deadline - Date.now()));
      const bytes = Buffer.concat([head, tail]);
      if (bytes.length < FRAME_LENGTH) return { ok: false, why: `a cut-off response of ${bytes.length} bytes`, bytes };
      if (!frameCrcOk(bytes)) return { ok: false, why: 'a response with a bad CRC', bytes };
      return { ok: true, code: bytes[1], legacy: false, bytes };
    }
    if (head[0] === REQUEST_MAGIC) {
      if (!legacyResponseCrcOk(head)) return { ok: false, why: 'a 4-byte response with a bad CRC', bytes: head };
      return { ok: true, code: head[1], legacy: head[1] === ResponseCode.OK_LEGACY, bytes: head };
    }
    return { ok: false, why: `bytes that are not a response (first byte 0x${head[0].toString(16)})`, bytes: head };
  }

  private noteStatus(status: BoardStatus): void {
    const before = this.current;
    this.current = status;
    if (before && sameStatus(before, status)) return;
    this.emit({ type: 'status', status });
    if (before) for (const listener of this.statusListeners) listener({ ...status });
  }

  private markLost(error: Error): void {
    if (this.closing) return;
    const first = !this.lost;
    this.lost = true;
    if (!first) return;
    this.emit({ type: 'lost', error: error.message });
    for (const listener of this.lostListeners) listener(error);
  }

  private async releaseBestEffort(keys: KeyInfo[]): Promise<void> {
    for (const key of [...keys].reverse()) {
      try {
        await this.key(key, false);
      } catch {
        return; // the link is down; recover() clears every key once it is back
      }
    }
  }

  private stopPinging(): void {
    if (this.pingTimer) clearTimeout(this.pingTimer);
    this.pingTimer = null;
  }

  private emit(event: BoardEvent): void {
    for (const listener of this.eventListeners) listener(event);
  }
}

/**
 * Opens the board named by `spec` (serial:/dev/ttyACM0, /dev/..., tcp://host:port), waits until it answers
 * PING, releases every key, and starts the idle PING loop.
 */
export async function openHid(spec: string, options: OpenHidOptions = {}): Promise<SerialBoard> {
  const where = parseHidSpec(spec);
  const transport =
    where.kind === 'serial'
      ? await SerialTransport.open(where.path, { baudRate: options.baudRate })
      : await TcpTransport.open(where.host, where.port, { connectTimeoutMs: options.connectTimeoutMs });
  const board = new SerialBoard(transport, options);
  try {
    await board.waitForBoard(options.openTimeoutMs ?? 10_000);
    await board.releaseAll();
  } catch (error) {
    await transport.close();
    throw error;
  }
  board.startPinging();
  return board;
}

function resolveKey(name: string): KeyInfo {
  const key = findKey(name);
  if (!key) {
    throw new Error(`unknown key '${name}': use W3C code names (KeyA, Enter, MetaLeft, ArrowDown, F10) or DuckyScript names (GUI, CTRL, ENTER)`);
  }
  return key;
}

/** A chord as a list, or as one string: "ControlLeft+ShiftLeft+KeyD" or DuckyScript "CTRL SHIFT d". */
function parseChord(chord: string | string[]): KeyInfo[] {
  const names = Array.isArray(chord) ? chord : chord.split(/[\s+]+/).filter(Boolean);
  if (names.length === 0) throw new Error(`empty key chord ${JSON.stringify(chord)}`);
  return names.map(resolveKey);
}

function statusFromCode(code: number): BoardStatus {
  return {
    keyboardOnline: !(code & PongFlag.KEYBOARD_OFFLINE),
    capsLock: !!(code & PongFlag.CAPS_LOCK),
    numLock: !!(code & PongFlag.NUM_LOCK),
    scrollLock: !!(code & PongFlag.SCROLL_LOCK),
    resetRequired: !!(code & PongFlag.RESET_REQUIRED),
  };
}

/** An old firmware answers a bare OK with no flags: assume the device reads the keyboard. */
function legacyStatus(): BoardStatus {
  return { keyboardOnline: true, capsLock: false, numLock: false, scrollLock: false, resetRequired: false };
}

function sameStatus(a: BoardStatus, b: BoardStatus): boolean {
  return (
    a.keyboardOnline === b.keyboardOnline &&
    a.capsLock === b.capsLock &&
    a.numLock === b.numLock &&
    a.scrollLock === b.scrollLock &&
    a.resetRequired === b.resetRequired
  );
}

function responseName(code: number): string {
  if (code & ResponseCode.PONG) {
    const flags = Object.entries(PongFlag)
      .filter(([, bit]) => code & bit)
      .map(([name]) => name);
    return flags.length ? `PONG ${flags.join('|')}` : 'PONG';
  }
  for (const [name, value] of Object.entries(ResponseCode)) if (value === code) return name;
  return `unknown code 0x${code.toString(16).padStart(2, '0')}`;
}

function describeReply(reply: Reply): string {
  if (!reply.ok) return reply.bytes.length ? `${reply.why} (${hex(reply.bytes)})` : reply.why;
  return `${reply.legacy ? 'OK (4-byte, old firmware)' : responseName(reply.code)} (${hex(reply.bytes)})`;
}
