// The keyboard/mouse board on a serial line (reference/serial-hid-protocol.md), as a HidDevice.
// Every request is acknowledged; a lost or garbled answer is fetched again with REPEAT rather than by
// sending the command twice, so no key is pressed twice by a retry. A board that restarted (NONE to a
// REPEAT) gets the lost command again; a port that vanished is reopened (by path, address or USB id), the
// command that was not acknowledged goes again, and every key is released (CLEAR_HID).
import {
  Command,
  ExtensionCommand,
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
  PowerButtonAction,
  type MouseButton,
  type PowerButtonMode,
} from './protocol.ts';
import { findKey, type KeyInfo } from './keymap.ts';
import { findLayout, textToStrokes } from './layouts/index.ts';
import { linkOpener, type LinkOpener, type LinkOpenerOptions } from './link-opener.ts';
import type { ByteTransport } from './transport.ts';
import type { BoardStatus, HidDevice, TypeOptions } from './types.ts';

export interface SerialBoardOptions {
  /** How long to wait for the first byte of a response before asking for it again with REPEAT. */
  responseTimeoutMs?: number;
  /**
   * Once a response's first byte came, the rest must follow within this many ms, or the response was cut
   * (a byte lost on the line); also how long the line must be quiet after garbage before asking again.
   * USB-serial adapters deliver in bursts up to ~16 ms apart, hence the default of 50.
   */
  frameGapMs?: number;
  /** Attempts that got no answer at all, after the first, before a request fails and the board is lost. */
  retries?: number;
  /** Attempts of any kind (garbled answers, CRC or timeout errors included) before a request fails. */
  maxAttempts?: number;
  /** Pause after an attempt that got no answer at all. */
  retryDelayMs?: number;
  /** PING when idle this often to notice a lost board or device; 0 turns it off. */
  pingIntervalMs?: number;
  /** Pause after each character typed by type(). */
  keyGapMs?: number;
  /** Pause after Shift or AltGr goes down and before it comes up, so the device sees it around the key. */
  shiftGapMs?: number;
  /** Keyboard layout of the device for type(): us (default), uk, de, fr. */
  layout?: string;
  /** How long to wait for a vanished port to come back (reopening with backoff); 0: give up at once. */
  reopenTimeoutMs?: number;
  /** Opens the link again after it vanished (openHid gives one); without it a lost port stays lost. */
  opener?: LinkOpener;
}

export interface OpenHidOptions extends SerialBoardOptions, LinkOpenerOptions {
  /** How long openHid keeps sending PING before it gives up on the board. */
  openTimeoutMs?: number;
}

export type BoardEvent =
  | { type: 'done'; command: string; response: string; attempts: number; ms: number }
  | { type: 'repeat'; command: string; reason: string }
  | { type: 'resend'; command: string; reason: string }
  | { type: 'failed'; command: string; error: string }
  | { type: 'status'; status: BoardStatus }
  /** NONE to a REPEAT: the board restarted since it last answered; it released every key. */
  | { type: 'restarted'; command: string }
  | { type: 'reopened'; link: string; tries: number; ms: number }
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
  /** KEY commands the board acknowledged. */
  keyEvents: number;
  /** Times the board answered NONE: it had restarted. */
  restarts: number;
  /** Times the port was opened again after it vanished. */
  reopens: number;
}

/** A response read from the line: a valid frame, or what was wrong with it. */
type Reply =
  | { ok: true; code: number; legacy: boolean; bytes: Buffer }
  | { ok: false; why: string; bytes: Buffer; silent: boolean };
type OkReply = Extract<Reply, { ok: true }>;
/** An acknowledged request; `releasedAfter`: a CLEAR_HID went right after it (the link had been lost), undoing it. */
type Acknowledged = OkReply & { releasedAfter: boolean };

interface RequestOptions {
  /** Typed text: messages name the position, never the key. */
  secret?: boolean;
  /** Presses again what this command needs held (a chord's earlier keys) after the board let go of every key. */
  needs?: () => Promise<void>;
}

const REPEAT_FRAME = encodeRequest(Command.REPEAT);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
/** Marks an error already counted and reported, so an enclosing request does not report it again. */
const REPORTED = Symbol('reported');

export class SerialBoard implements HidDevice {
  readonly description: string;
  private readonly responseTimeoutMs: number;
  private readonly frameGapMs: number;
  private readonly retries: number;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: number;
  private readonly pingIntervalMs: number;
  private readonly keyGapMs: number;
  private readonly shiftGapMs: number;
  private readonly layoutName: string;
  private readonly reopenTimeoutMs: number;
  private readonly opener: LinkOpener | null;

  private transport: ByteTransport;
  private queue: Promise<unknown> = Promise.resolve();
  private busy = 0;
  private lastActivity = Date.now();
  private pingTimer: NodeJS.Timeout | null = null;
  private closing = false;
  /** The link is down (port vanished, or no answer after every retry) until a CLEAR_HID is acknowledged. */
  private lost = false;
  /** A CLEAR_HID is due before the next command: the link was lost, keys may be stuck down. */
  private recoveryDue = false;
  private relinking: Promise<void> | null = null;
  private closeCause: Error | null = null;
  private current: BoardStatus | null = null;
  /** Keys the board acknowledged down and has not let go of, by code. */
  private readonly held = new Set<string>();
  private readonly statusListeners: Array<(status: BoardStatus) => void> = [];
  private readonly lostListeners: Array<(error: Error) => void> = [];
  private readonly eventListeners: Array<(event: BoardEvent) => void> = [];
  private readonly count: BoardCounters = { requests: 0, pings: 0, repeats: 0, resends: 0, failures: 0, keyEvents: 0, restarts: 0, reopens: 0 };

  constructor(transport: ByteTransport, options: SerialBoardOptions = {}) {
    this.transport = transport;
    this.description = `serial HID board on ${transport.description}`;
    this.responseTimeoutMs = options.responseTimeoutMs ?? 2000;
    this.frameGapMs = options.frameGapMs ?? 50;
    this.retries = options.retries ?? 5;
    this.maxAttempts = options.maxAttempts ?? 40;
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.pingIntervalMs = options.pingIntervalMs ?? 250;
    this.keyGapMs = options.keyGapMs ?? 5;
    this.shiftGapMs = options.shiftGapMs ?? 30;
    this.layoutName = findLayout(options.layout ?? 'us').name;
    this.reopenTimeoutMs = options.reopenTimeoutMs ?? 30_000;
    this.opener = options.opener ?? null;
    this.watch(transport);
  }

  /** Counters since open, for reports. */
  get counters(): BoardCounters {
    return { ...this.count };
  }

  /** The status of the last PONG (null before the first, or with an old firmware that sends no flags). */
  get lastStatus(): BoardStatus | null {
    return this.current ? { ...this.current } : null;
  }

  /** Keys the board holds down now, as far as the host knows (W3C codes). */
  get keysHeld(): string[] {
    return [...this.held];
  }

  onStatus(listener: (status: BoardStatus) => void): void {
    this.statusListeners.push(listener);
  }

  /** Called when the link is lost (port vanished, or no answer after every retry); it is then reopened and pinged until back. */
  onLost(listener: (error: Error) => void): void {
    this.lostListeners.push(listener);
  }

  /** Every request's outcome, retries, restarts, status changes, loss and recovery. */
  onEvent(listener: (event: BoardEvent) => void): void {
    this.eventListeners.push(listener);
  }

  // --- Keyboard -------------------------------------------------------------------------------------

  /** Presses the keys in order and releases them in reverse. */
  async tap(chord: string | string[]): Promise<void> {
    const keys = parseChord(chord);
    await this.exclusive(() => this.chord(keys, 0));
  }

  /** Presses the keys in order, holds them for `ms`, and releases them in reverse. */
  async hold(chord: string | string[], ms: number): Promise<void> {
    const keys = parseChord(chord);
    if (!(ms >= 0)) throw new Error(`hold time must be 0 ms or more, got ${ms}`);
    await this.exclusive(() => this.chord(keys, ms));
  }

  async down(name: string): Promise<void> {
    const key = resolveKey(name);
    await this.exclusive(() => this.key(key, true));
  }

  async up(name: string): Promise<void> {
    const key = resolveKey(name);
    await this.exclusive(() => this.key(key, false));
  }

  /**
   * Types text with the device's keyboard layout: Shift or AltGr pressed around a key as the layout says,
   * with a pause around them, dead keys followed by the letter or Space. Refuses the whole text before
   * anything is sent when a character cannot be typed. Events and errors name positions, never keys.
   */
  async type(text: string, options: TypeOptions = {}): Promise<void> {
    const layout = findLayout(options.layout ?? this.layoutName);
    const chars = textToStrokes(text, layout, { secret: options.secret });
    const shift = resolveKey('ShiftLeft');
    const altGr = resolveKey('AltRight');
    await this.exclusive(async () => {
      for (const [i, ch] of chars.entries()) {
        const label = (down: boolean) => `KEY (typing character ${i + 1} of ${chars.length}) ${down ? 'down' : 'up'}`;
        for (const stroke of ch.strokes) {
          const keys = [...(stroke.shift ? [shift] : []), ...(stroke.altGr ? [altGr] : []), resolveKey(stroke.code)];
          await this.chord(keys, 0, { label, secret: true, modifierGapMs: this.shiftGapMs });
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

  // --- Extension commands (this project's firmware) ------------------------------------------------

  /**
   * Drives the board's power-button output (POWER_BUTTON 0x20): `short` presses it 300 ms (powers a PC on, or
   * asks its OS to shut down), `long` 5 s (forces a PC off), `hold` until `release`. The timed presses run on
   * the board, so the answer comes at once; `pressed` is the pin's state then. Like every request it is
   * acknowledged, and never sent twice by a retry. A board without the output (PiKVM's firmware) answers
   * INVALID_ERROR, which becomes an error that says so.
   */
  async powerButton(mode: PowerButtonMode): Promise<{ pressed: boolean }> {
    const action = PowerButtonAction[mode];
    if (action === undefined) throw new Error(`power button mode must be one of ${Object.keys(PowerButtonAction).join(', ')}, got '${mode}'`);
    const label = `POWER_BUTTON ${mode}`;
    const ack = await this.extension(() => this.request(ExtensionCommand.POWER_BUTTON, [action], label), label);
    return { pressed: ack.bytes[4] === 1 };
  }

  /** The firmware's version and board kind (FIRMWARE_VERSION 0x21); an error when the firmware lacks the command. */
  async firmwareVersion(): Promise<{ major: number; minor: number; patch: number; board: 'host-test' | 'arduino' | 'pico' | 'unknown' }> {
    const ack = await this.extension(() => this.request(ExtensionCommand.FIRMWARE_VERSION, [], 'FIRMWARE_VERSION'), 'FIRMWARE_VERSION');
    const kinds = ['host-test', 'arduino', 'pico'] as const;
    return { major: ack.bytes[2], minor: ack.bytes[3], patch: ack.bytes[4], board: kinds[ack.bytes[5]] ?? 'unknown' };
  }

  private async extension(send: () => Promise<Acknowledged>, label: string): Promise<Acknowledged> {
    try {
      const ack = await this.exclusive(send);
      if (ack.legacy) throw new Error(`${label}: the board answered with an old firmware's 4-byte OK, which has no extension commands`);
      return ack;
    } catch (error) {
      if ((error as { boardAnswered?: boolean }).boardAnswered) {
        throw Object.assign(
          new Error(`${(error as Error).message}. Its firmware has no ${label.split(' ')[0]} command: flash this project's firmware (firmware/README.md), which has it`),
          { boardAnswered: true },
        );
      }
      throw error;
    }
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
    if (this.pingIntervalMs <= 0 || this.pingTimer || this.closing) return;
    const tick = () => {
      this.pingTimer = null;
      if (this.closing || (this.transport.closed && !this.canReopen())) return;
      if (this.busy === 0 && Date.now() - this.lastActivity >= this.pingIntervalMs) {
        // Failures are reported through onLost and onStatus; the loop keeps going to notice the board coming back.
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

  // --- Keys -----------------------------------------------------------------------------------------

  /**
   * Presses `keys` in order, holds them `holdMs`, releases them in reverse. After a recovery (the board let
   * go of every key), the keys pressed so far are pressed again before the next one, so Shift+A stays 'A'.
   */
  private async chord(
    keys: KeyInfo[],
    holdMs: number,
    opts: { label?: (down: boolean) => string; secret?: boolean; modifierGapMs?: number } = {},
  ): Promise<void> {
    const pressed: KeyInfo[] = [];
    const gap = keys.length > 1 ? opts.modifierGapMs ?? 0 : 0;
    const again = async () => {
      for (const key of pressed) if (!this.held.has(key.code)) await this.key(key, true, { label: opts.label?.(true), secret: opts.secret });
    };
    try {
      for (const [i, key] of keys.entries()) {
        await again();
        if (i === keys.length - 1 && gap > 0) await sleep(gap);
        await this.key(key, true, { label: opts.label?.(true), secret: opts.secret, needs: again });
        pressed.push(key);
      }
      if (holdMs > 0) await sleep(holdMs);
      for (const [i, key] of [...pressed].reverse().entries()) {
        if (i === 1 && gap > 0) await sleep(gap);
        await this.key(key, false, { label: opts.label?.(false), secret: opts.secret });
      }
    } catch (error) {
      await this.releaseBestEffort(pressed.filter((k) => this.held.has(k.code)), { label: opts.label?.(false), secret: opts.secret });
      throw error;
    }
  }

  private async key(key: KeyInfo, down: boolean, opts: { label?: string; secret?: boolean; needs?: () => Promise<void> } = {}): Promise<void> {
    const label = opts.label ?? `KEY ${key.code} ${down ? 'down' : 'up'}`;
    const ack = await this.request(Command.KEY, keyPayload(key.mcu, down), label, { secret: opts.secret, needs: opts.needs });
    this.count.keyEvents++;
    if (down && !ack.releasedAfter) this.held.add(key.code);
    else this.held.delete(key.code);
  }

  private async releaseBestEffort(keys: KeyInfo[], opts: { label?: string; secret?: boolean }): Promise<void> {
    for (const key of [...keys].reverse()) {
      try {
        await this.key(key, false, opts);
      } catch {
        return; // the link is down; a CLEAR_HID releases every key once it is back
      }
    }
  }

  // --- Requests -------------------------------------------------------------------------------------

  /** Runs `job` alone on the line: requests never interleave, and a chord or a text is not split by others. */
  private exclusive<T>(job: () => Promise<T>): Promise<T> {
    if (this.closing || (this.transport.closed && !this.canReopen())) return Promise.reject(this.closedError());
    this.busy++;
    const run = this.queue.then(async () => {
      try {
        if (this.closing) throw this.closedError();
        // After a loss, keys may be stuck down on the board: release them all before anything else.
        if (this.lost || this.recoveryDue) {
          await this.ensureLink();
          await this.request(Command.CLEAR_HID, [], 'CLEAR_HID (after the board was lost)');
        }
        return await job();
      } finally {
        this.busy--;
        this.lastActivity = Date.now();
      }
    });
    this.queue = run.catch(() => {});
    return run;
  }

  private ping(): Promise<Acknowledged> {
    this.count.pings++;
    return this.request(Command.PING, [], 'PING');
  }

  /**
   * One acknowledged request, following the protocol's "Host behaviour that makes it safe".
   *
   * When the port vanishes with the request on the line, the request may or may not have reached the board
   * (bytes in a vanished adapter are lost, and then a REPEAT would answer for the request before). Once the
   * port is back, a REPEAT tells whether the board restarted (NONE: it let go of every key and lost the
   * request) or kept running. Then the request is sent again, before anything else: KEY, MOUSE_MOVE and
   * MOUSE_BUTTON set a state, so if it had run, running it again changes nothing the device sees (a key
   * already down stays down). Then CLEAR_HID releases whatever the outage may have left held.
   */
  private async request(command: number, payload: number[], label: string, opts: RequestOptions = {}): Promise<Acknowledged> {
    this.count.requests++;
    const secret = opts.secret ?? false;
    const frame = encodeRequest(command, payload);
    const started = performance.now();
    const trail = new Trail();
    let sendRepeat = false;
    /** The REPEAT in flight asks, after a reopened port, whether the board restarted. */
    let probing = false;
    /** The port came back and the board kept running: the request goes first, CLEAR_HID right after it. */
    let clearAfter = false;
    /** The board let go of every key (it restarted): press again what this command needs held. */
    let keysLetGo = false;
    let attempts = 0;
    let silent = 0;
    let pause = false;
    try {
      for (;;) {
        if (silent > this.retries || attempts >= this.maxAttempts) {
          throw new Error(`${label} failed on ${this.transport.description} after ${attempts} attempts in ${Math.round(performance.now() - started)} ms: ${trail}`);
        }
        if (pause) await sleep(this.retryDelayMs);
        pause = false;
        await this.ensureLink();
        if (!sendRepeat && !clearAfter) {
          // The command goes (again) after a loss: release what may be stuck, press again what it needs.
          if (this.recoveryDue && command !== Command.CLEAR_HID) {
            await this.request(Command.CLEAR_HID, [], 'CLEAR_HID (after the board was lost)');
            keysLetGo = true;
          }
          if (keysLetGo && opts.needs) await opts.needs();
          keysLetGo = false;
        }
        attempts++;
        let reply: Reply;
        try {
          await this.transport.drain();
          if (sendRepeat) this.count.repeats++;
          else if (attempts > 1) this.count.resends++;
          await this.transport.write(sendRepeat ? REPEAT_FRAME : frame);
          reply = await this.readReply(this.responseTimeoutMs);
        } catch (error) {
          // Reading or writing failed: the port is going (an unplugged adapter answers EIO before it closes).
          if (!this.canReopen()) throw error;
          if (!this.transport.closed) {
            this.closeCause ??= error as Error;
            await this.transport.close().catch(() => {});
          }
          attempts--;
          trail.push(`the link was lost (${(error as Error).message})`);
          this.markLost(this.closeCause ?? (error as Error));
          await this.relink();
          sendRepeat = probing = true;
          clearAfter = false;
          continue;
        }
        const sent = sendRepeat ? `REPEAT (${hex(REPEAT_FRAME)})` : secret ? label : `${label} (${hex(frame)})`;
        trail.push(`sent ${sent}, got ${describeReply(reply)}`);

        if (!reply.ok) {
          // The command may have run: ask for its answer again, never send it twice.
          if (reply.silent) {
            silent++;
            pause = true;
          }
          this.emit({ type: 'repeat', command: label, reason: reply.why });
          sendRepeat = true;
          continue;
        }
        const code = reply.code;
        if (probing && code !== ResponseCode.NONE && code !== ResponseCode.INVALID_ERROR) {
          // The board kept running: whatever this answer is for, send the request now, then CLEAR_HID.
          probing = false;
          clearAfter = true;
          sendRepeat = false;
          this.emit({ type: 'resend', command: label, reason: 'the port was reopened' });
          continue;
        }
        probing = false;
        if (reply.legacy || code & ResponseCode.PONG) {
          if (!reply.legacy) this.noteStatus(statusFromCode(code));
          let releasedAfter = false;
          if (command === Command.CLEAR_HID) this.keysReleased();
          else if (this.recoveryDue) {
            await this.request(Command.CLEAR_HID, [], 'CLEAR_HID (after the board was lost)');
            releasedAfter = true;
          }
          this.emit({ type: 'done', command: label, response: describeReply(reply), attempts, ms: Math.round((performance.now() - started) * 100) / 100 });
          return { ...reply, releasedAfter };
        }
        if (code === ResponseCode.INVALID_ERROR) {
          // The line works; the board's firmware lacks this command. Not a lost board.
          const error = new Error(`the board does not know ${label}${secret ? '' : ` (${hex(frame)})`}: it answered INVALID_ERROR`);
          this.count.failures++;
          this.emit({ type: 'failed', command: label, error: error.message });
          throw Object.assign(error, { boardAnswered: true, [REPORTED]: true });
        }
        if (code === ResponseCode.NONE) {
          // Nothing to repeat: the board restarted since it last answered. It let go of every key, and the
          // command is lost (or ran before the restart, which the restart undid): send it again.
          this.count.restarts++;
          this.held.clear();
          keysLetGo = true;
          clearAfter = false;
          this.emit({ type: 'restarted', command: label });
        }
        if (code === ResponseCode.NONE || code === ResponseCode.CRC_ERROR || code === ResponseCode.TIMEOUT_ERROR) {
          // CRC/TIMEOUT_ERROR: the board ran nothing. (To a REPEAT that itself got garbled, the command may have
          // run: KEY, MOUSE_MOVE and MOUSE_BUTTON set a state, so a second run changes nothing the device sees.)
          this.emit({ type: 'resend', command: label, reason: responseName(code) });
          sendRepeat = false;
          continue;
        }
        // A well-formed frame with a code the protocol does not have: treat it as garbled.
        this.emit({ type: 'repeat', command: label, reason: `unknown response code 0x${code.toString(16)}` });
        sendRepeat = true;
      }
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      if ((err as { [REPORTED]?: boolean })[REPORTED]) throw err;
      const wrapped = err.message.includes(label) ? err : new Error(`${label} failed: ${err.message}`);
      this.count.failures++;
      this.emit({ type: 'failed', command: label, error: wrapped.message });
      this.markLost(wrapped);
      throw Object.assign(wrapped, { [REPORTED]: true });
    }
  }

  /**
   * Reads one response: its first byte within `timeoutMs`, the rest within frameGapMs of it. 4 bytes when
   * the first is the request magic (an old firmware's short answer), 8 when it is the response magic.
   */
  private async readReply(timeoutMs: number): Promise<Reply> {
    const first = await this.transport.read(1, timeoutMs);
    if (first.length === 0) return { ok: false, why: `no answer within ${timeoutMs} ms`, bytes: first, silent: true };
    if (first[0] === RESPONSE_MAGIC || first[0] === REQUEST_MAGIC) {
      const want = first[0] === RESPONSE_MAGIC ? FRAME_LENGTH : 4;
      const rest = await this.transport.read(want - 1, this.frameGapMs);
      const bytes = Buffer.concat([first, rest]);
      if (bytes.length < want) return { ok: false, why: `a cut-off response of ${bytes.length} bytes`, bytes, silent: false };
      if (want === FRAME_LENGTH) {
        if (frameCrcOk(bytes)) return { ok: true, code: bytes[1], legacy: false, bytes };
        await this.settle();
        return { ok: false, why: 'a response with a bad CRC', bytes, silent: false };
      }
      if (legacyResponseCrcOk(bytes)) return { ok: true, code: bytes[1], legacy: bytes[1] === ResponseCode.OK_LEGACY, bytes };
      await this.settle(); // maybe an 8-byte response whose magic byte was hit: let its other half pass
      return { ok: false, why: 'a 4-byte response with a bad CRC', bytes, silent: false };
    }
    await this.settle();
    return { ok: false, why: `bytes that are not a response (first byte 0x${first[0].toString(16).padStart(2, '0')})`, bytes: first, silent: false };
  }

  /** Lets the rest of a garbled answer pass: reads until the line was quiet for frameGapMs (a bounded time). */
  private async settle(): Promise<void> {
    for (let i = 0; i < 20; i++) {
      const bytes = await this.transport.read(64, this.frameGapMs);
      if (bytes.length === 0) return;
    }
  }

  // --- The link -------------------------------------------------------------------------------------

  private canReopen(): boolean {
    return this.opener !== null && this.reopenTimeoutMs > 0 && !this.closing;
  }

  private closedError(): Error {
    const why = this.closeCause ? ` (${this.closeCause.message})` : '';
    return new Error(`${this.description} is closed${why}`);
  }

  private watch(transport: ByteTransport): void {
    transport.onClose((cause) => {
      if (transport !== this.transport) return;
      this.closeCause = cause ?? null;
      if (!cause || this.closing) return;
      this.markLost(cause);
      if (this.canReopen()) {
        // Reopen at once, even when idle, so the engine hears the link is back as soon as it is.
        this.exclusive(() => this.ping()).catch(() => {});
      } else {
        this.stopPinging();
      }
    });
  }

  /** The link is open, reopened if it had vanished; throws when it is closed for good or does not come back. */
  private async ensureLink(): Promise<void> {
    if (!this.transport.closed) return;
    if (!this.canReopen()) throw this.closedError();
    this.markLost(this.closeCause ?? new Error(`${this.transport.description} is closed`));
    await this.relink();
  }

  /** Opens the port again, with backoff, for up to reopenTimeoutMs; one attempt at a time whoever asks. */
  private relink(): Promise<void> {
    this.relinking ??= (async () => {
      const opener = this.opener!;
      const started = Date.now();
      const deadline = started + this.reopenTimeoutMs;
      let delay = 100;
      let tries = 0;
      let lastError = '';
      while (!this.closing) {
        tries++;
        try {
          const transport = await opener.open();
          if (this.closing) {
            await transport.close();
            break;
          }
          this.transport = transport;
          this.closeCause = null;
          this.watch(transport);
          this.count.reopens++;
          this.emit({ type: 'reopened', link: transport.description, tries, ms: Date.now() - started });
          return;
        } catch (error) {
          lastError = (error as Error).message;
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(
            `the HID board did not come back: tried to reopen ${opener.description} ${tries} times over ${((Date.now() - started) / 1000).toFixed(1)} s; the last try said: ${lastError}`,
          );
        }
        await sleep(Math.min(delay, left));
        delay = Math.min(delay * 2, 1000);
      }
      throw this.closedError();
    })().finally(() => {
      this.relinking = null;
    });
    return this.relinking;
  }

  /** A CLEAR_HID was acknowledged: nothing is held; a lost link is back. */
  private keysReleased(): void {
    this.held.clear();
    this.recoveryDue = false;
    if (this.lost) {
      this.lost = false;
      this.emit({ type: 'back' });
      this.notifyStatus({ ...(this.current ?? legacyStatus()), linkUp: true });
    }
  }

  private markLost(error: Error): void {
    if (this.closing) return;
    this.recoveryDue = true;
    if (this.lost) return;
    this.lost = true;
    this.emit({ type: 'lost', error: error.message });
    for (const listener of this.lostListeners) listener(error);
    this.notifyStatus({ ...(this.current ?? legacyStatus()), linkUp: false });
  }

  private noteStatus(status: BoardStatus): void {
    const before = this.current;
    this.current = status;
    if (before && sameStatus(before, status)) return;
    this.emit({ type: 'status', status });
    if (before) this.notifyStatus(status);
  }

  private notifyStatus(status: BoardStatus): void {
    for (const listener of this.statusListeners) listener({ ...status });
  }

  private stopPinging(): void {
    if (this.pingTimer) clearTimeout(this.pingTimer);
    this.pingTimer = null;
  }

  private emit(event: BoardEvent): void {
    for (const listener of this.eventListeners) listener(event);
  }
}

/** What a request sent and got, for its error message: the first few and the last few attempts. */
class Trail {
  private readonly head: string[] = [];
  private readonly tail: string[] = [];
  private skipped = 0;
  push(entry: string): void {
    if (this.head.length < 4) return void this.head.push(entry);
    this.tail.push(entry);
    if (this.tail.length > 6) {
      this.tail.shift();
      this.skipped++;
    }
  }
  toString(): string {
    return [...this.head, ...(this.skipped ? [`(${this.skipped} more)`] : []), ...this.tail].join('; ');
  }
}

/**
 * Opens the board named by `spec` (serial:/dev/ttyACM0, /dev/..., tcp://host:port, usb:VID:PID[:SERIAL],
 * usb:auto), waits until it answers PING, releases every key, and starts the idle PING loop. If the port
 * vanishes later, it is opened again the same way (by path, address, or USB id and serial number).
 */
export async function openHid(spec: string, options: OpenHidOptions = {}): Promise<SerialBoard> {
  const opener = linkOpener(spec, options);
  const transport = await opener.open();
  const board = new SerialBoard(transport, { ...options, opener });
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
    linkUp: true,
  };
}

/** An old firmware answers a bare OK with no flags: assume the device reads the keyboard. */
function legacyStatus(): BoardStatus {
  return { keyboardOnline: true, capsLock: false, numLock: false, scrollLock: false, resetRequired: false, linkUp: true };
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
