// The board end of the serial HID protocol (reference/serial-hid-protocol.md) over any byte stream: it
// assembles 8-byte requests (dropping one that does not arrive whole within 100 ms of its first byte),
// checks the CRC, runs the command on the virtual device and answers. Faults (corrupted or dropped bytes,
// a board restart) can be injected through BoardFaults (lineFaults() makes seeded ones) and restart().
// Like a real board, it keeps the keyboard's report: a KEY that changes nothing (a key pressed again while
// it is down, or released while it is up) reaches the device as nothing, and CLEAR_HID or a restart
// releases the keys that are down, which the device sees as those keys going up. Like this project's firmware
// it answers POWER_BUTTON (0x20: its pin presses the PC's power button, sim/power-button.ts, and the timed
// presses end on the board's own timer) and FIRMWARE_VERSION (0x21).
import type { Duplex } from 'node:stream';
import { keyByMcu } from '../drivers/hid/keymap.ts';
import {
  Command, ExtensionCommand, FRAME_LENGTH, MouseButtonBits, PongFlag, PowerButtonAction, REQUEST_MAGIC, ResponseCode, crc16,
  decodeMouseMove, encodeResponse, frameCrcOk, type MouseButton,
} from '../drivers/hid/protocol.ts';
import type { PowerPin } from './power-button.ts';

/** What the board drives: the device's USB keyboard and absolute mouse. VirtualDevice implements it. */
export interface HidSink {
  key(code: string, down: boolean): void;
  releaseAll(): void;
  pointerMove(x: number, y: number): void;
  pointerButton(button: MouseButton, down: boolean): void;
  /** The device reads the board's keyboard and mouse (false while it is off or rebooting). */
  readonly keyboardOnline: boolean;
  getLeds(): { capsLock: boolean; numLock: boolean; scrollLock: boolean };
}

/** Hooks for fault injection between the line and the board. */
export interface BoardFaults {
  /** Sees each chunk of bytes from the host before the board does; returns what the board receives. */
  incoming?(chunk: Buffer): Buffer;
  /** Sees each response before it goes out; returns the bytes to send, or null to send nothing. */
  outgoing?(response: Buffer): Buffer | null;
}

export interface BoardOptions {
  /** A request must arrive whole within this many ms of its first byte (the protocol says 100). */
  firstByteTimeoutMs?: number;
  faults?: BoardFaults;
  /**
   * Emulates the wire time of a serial line at this many baud (10 bits a byte): each response leaves after
   * the request's and its own bytes would have crossed the line. A pseudo-terminal or TCP has no baud rate.
   */
  wireBaud?: number;
  /** The board's power-button output (POWER_BUTTON 0x20), wired to the PC's power button; none: wired to nothing. */
  powerPin?: PowerPin;
  /** How long the board holds a short press (the firmware: 300 ms) and a long one (5000 ms). */
  shortPressMs?: number;
  longPressMs?: number;
}

/** FIRMWARE_VERSION's answer: this project's firmware 1.0.0; board kind 0 (not a hardware board). */
const FIRMWARE_VERSION = [1, 0, 0, 0] as const;

/** What one board saw and did, for /board and the tests. */
export interface BoardStats {
  /** Whole 8-byte frames received (garbled ones included). */
  frames: number;
  crcErrors: number;
  timeouts: number;
  repeats: number;
  /** REPEATs answered NONE (nothing to repeat: the board had restarted). */
  nones: number;
  invalid: number;
  /** KEY or MOUSE_BUTTON commands that changed nothing (a key pressed while down, released while up). */
  unchanged: number;
  restarts: number;
  /** Bytes that arrived while the board was restarting, and were lost. */
  lostWhileBooting: number;
}

/** A seeded pseudo-random generator (mulberry32): the same seed gives the same faults on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface LineFaultRates {
  /** Probability that a byte arrives changed (0..1), in each direction. */
  corrupt: number;
  /** Probability that a byte is lost (0..1), in each direction. */
  drop: number;
  seed?: number;
}

export interface LineFaultCounts {
  bytesIn: number;
  corruptedIn: number;
  droppedIn: number;
  bytesOut: number;
  corruptedOut: number;
  droppedOut: number;
}

/** The board's line is noisy: each byte, host to board and board to host, may be corrupted or lost. */
export function lineFaults(rates: LineFaultRates): Required<BoardFaults> & { readonly counts: LineFaultCounts } {
  for (const [name, rate] of [['corrupt', rates.corrupt], ['drop', rates.drop]] as const) {
    if (!(rate >= 0 && rate < 1)) throw new Error(`line ${name} rate must be at least 0 and below 1, got ${rate}`);
  }
  const random = seededRandom(rates.seed ?? 1);
  const counts: LineFaultCounts = { bytesIn: 0, corruptedIn: 0, droppedIn: 0, bytesOut: 0, corruptedOut: 0, droppedOut: 0 };
  const pass = (bytes: Buffer, dir: 'In' | 'Out'): Buffer => {
    const out: number[] = [];
    for (const byte of bytes) {
      counts[`bytes${dir}`]++;
      const r = random();
      if (r < rates.drop) {
        counts[`dropped${dir}`]++;
      } else if (r < rates.drop + rates.corrupt) {
        counts[`corrupted${dir}`]++;
        out.push(byte ^ (1 + Math.floor(random() * 255))); // never XOR 0: the byte really changes
      } else {
        out.push(byte);
      }
    }
    return Buffer.from(out);
  };
  return {
    counts,
    incoming: (chunk) => pass(chunk, 'In'),
    outgoing: (response) => {
      const out = pass(response, 'Out');
      return out.length ? out : null;
    },
  };
}

/** outputs1 of a PONG: keyboard on USB (0x01), mouse USB absolute (0x08); the outputs cannot be changed. */
const OUTPUTS1 = 0x01 | 0x08;
/** outputs2 of a PONG: has USB. */
const OUTPUTS2 = 0x01;

/** The protocol state of one board on one line: give it the host's bytes, it calls `send` with responses. */
export class BoardProtocol {
  private partial: Buffer = Buffer.alloc(0);
  private partialTimer: NodeJS.Timeout | null = null;
  private last: Buffer | null = null;
  private readonly timeoutMs: number;
  private readonly wireMsPerByte: number;
  /** The keyboard's report: keys down (W3C codes), and mouse buttons down. */
  private readonly keysDown = new Set<string>();
  private readonly buttonsDown = new Set<MouseButton>();
  private bootingUntil = 0;
  private lineBusyUntil = 0;
  /** The power-button output: pressed or not, and the timer that ends a timed press. */
  private powerPressed = false;
  private powerTimer: NodeJS.Timeout | null = null;
  private readonly powerPin: PowerPin | null;
  private readonly shortPressMs: number;
  private readonly longPressMs: number;
  faults: BoardFaults;
  readonly stats: BoardStats = {
    frames: 0, crcErrors: 0, timeouts: 0, repeats: 0, nones: 0, invalid: 0, unchanged: 0, restarts: 0, lostWhileBooting: 0,
  };

  constructor(
    private readonly sink: HidSink,
    private send: (bytes: Buffer) => void,
    opts: BoardOptions = {},
  ) {
    this.timeoutMs = opts.firstByteTimeoutMs ?? 100;
    this.faults = opts.faults ?? {};
    this.wireMsPerByte = opts.wireBaud ? 10_000 / opts.wireBaud : 0;
    this.powerPin = opts.powerPin ?? null;
    this.shortPressMs = opts.shortPressMs ?? 300;
    this.longPressMs = opts.longPressMs ?? 5000;
  }

  /** The power-button output is pressed now. */
  get powerButtonPressed(): boolean {
    return this.powerPressed;
  }

  /** Where responses go from now on: the line was unplugged and plugged in again (the board kept running). */
  attach(send: (bytes: Buffer) => void): void {
    this.send = send;
  }

  /** Keys the board holds down now (W3C codes). */
  get keysHeld(): string[] {
    return [...this.keysDown];
  }

  /** Bytes from the host. */
  receive(chunk: Buffer): void {
    if (Date.now() < this.bootingUntil) {
      // A board that is starting up is not reading its serial port yet.
      this.stats.lostWhileBooting += chunk.length;
      return;
    }
    let data = this.faults.incoming ? this.faults.incoming(chunk) : chunk;
    while (data.length > 0) {
      if (this.partial.length === 0) this.startFrameTimer();
      const take = Math.min(FRAME_LENGTH - this.partial.length, data.length);
      this.partial = Buffer.concat([this.partial, data.subarray(0, take)]);
      data = data.subarray(take);
      if (this.partial.length === FRAME_LENGTH) {
        const frame = this.partial;
        this.partial = Buffer.alloc(0);
        this.stopFrameTimer();
        this.handle(frame);
      }
    }
  }

  /**
   * The board restarts: the partial request and the last response are gone, every key is released (the
   * device sees the keys that were down go up). For `bootMs` after, bytes from the host are lost, as a
   * starting board does not read its serial port yet; then a REPEAT is answered NONE.
   */
  restart(bootMs = 0): void {
    this.stats.restarts++;
    this.partial = Buffer.alloc(0);
    this.stopFrameTimer();
    this.last = null;
    this.releaseHeld();
    this.setPower(false); // a reset lets go of the power button too, as the firmware's pin does
    this.bootingUntil = bootMs > 0 ? Date.now() + bootMs : 0;
  }

  close(): void {
    this.stopFrameTimer();
    this.setPower(false);
  }

  /** POWER_BUTTON: a new action replaces the one running; the timed presses end on the board's own timer. */
  private powerButton(action: number): boolean {
    const timed = action === PowerButtonAction.short ? this.shortPressMs : action === PowerButtonAction.long ? this.longPressMs : null;
    if (action !== PowerButtonAction.release && action !== PowerButtonAction.hold && timed === null) return false;
    this.setPower(action !== PowerButtonAction.release);
    if (timed !== null) {
      this.powerTimer = setTimeout(() => {
        this.powerTimer = null;
        this.setPower(false);
      }, timed);
    }
    return true;
  }

  private setPower(pressed: boolean): void {
    if (this.powerTimer) clearTimeout(this.powerTimer);
    this.powerTimer = null;
    this.powerPressed = pressed;
    this.powerPin?.set(pressed);
  }

  private startFrameTimer(): void {
    this.stopFrameTimer();
    this.partialTimer = setTimeout(() => {
      this.partialTimer = null;
      this.partial = Buffer.alloc(0);
      this.stats.timeouts++;
      this.respond(encodeResponse(ResponseCode.TIMEOUT_ERROR));
    }, this.timeoutMs);
  }

  private stopFrameTimer(): void {
    if (this.partialTimer) clearTimeout(this.partialTimer);
    this.partialTimer = null;
  }

  private respond(response: Buffer, remember = true): void {
    if (remember) this.last = response;
    const out = this.faults.outgoing ? this.faults.outgoing(response) : response;
    if (!out) return;
    if (this.wireMsPerByte === 0) return this.send(out);
    // The request's 8 bytes came in, the answer goes out: both take wire time, one after the other.
    const now = performance.now();
    const leaves = Math.max(now, this.lineBusyUntil) + (FRAME_LENGTH + out.length) * this.wireMsPerByte;
    this.lineBusyUntil = leaves;
    setTimeout(() => this.send(out), leaves - now);
  }

  /** CLEAR_HID or a restart: the device sees each key that was down go up, then everything released. */
  private releaseHeld(): void {
    for (const code of this.keysDown) this.sink.key(code, false);
    this.keysDown.clear();
    this.buttonsDown.clear();
    this.sink.releaseAll();
  }

  private pong(extra?: readonly [number, number]): Buffer {
    const leds = this.sink.getLeds();
    let flags = 0;
    if (leds.capsLock) flags |= PongFlag.CAPS_LOCK;
    if (leds.scrollLock) flags |= PongFlag.SCROLL_LOCK;
    if (leds.numLock) flags |= PongFlag.NUM_LOCK;
    if (!this.sink.keyboardOnline) flags |= PongFlag.KEYBOARD_OFFLINE | PongFlag.MOUSE_OFFLINE;
    const frame = encodeResponse(ResponseCode.PONG | flags, OUTPUTS1, OUTPUTS2);
    if (!extra) return frame;
    // The extension commands answer in bytes 4 and 5 as well.
    frame[4] = extra[0];
    frame[5] = extra[1];
    const crc = crc16(frame, 6);
    frame[6] = crc >> 8;
    frame[7] = crc & 0xff;
    return frame;
  }

  private handle(frame: Buffer): void {
    this.stats.frames++;
    if (!frameCrcOk(frame)) {
      this.stats.crcErrors++;
      return this.respond(encodeResponse(ResponseCode.CRC_ERROR));
    }
    if (frame[0] !== REQUEST_MAGIC) {
      this.stats.invalid++;
      return this.respond(encodeResponse(ResponseCode.INVALID_ERROR));
    }
    const payload = frame.subarray(2, 6);
    switch (frame[1]) {
      case Command.REPEAT:
        // The last response again, without running anything; NONE when the board has none (it restarted).
        this.stats.repeats++;
        if (!this.last) this.stats.nones++;
        return this.respond(this.last ?? encodeResponse(ResponseCode.NONE), false);
      case Command.PING:
        return this.respond(this.pong());
      case Command.CLEAR_HID:
        this.releaseHeld();
        return this.respond(this.pong());
      case Command.KEY: {
        const key = keyByMcu(payload[0]);
        // A board ignores a key byte it has no usage for, as PiKVM's firmware does; the device records it.
        const code = key ? key.code : `Unidentified${payload[0]}`;
        const down = payload[1] !== 0;
        // The report already says so: the device sees no change (as from a real keyboard).
        if (this.keysDown.has(code) === down) this.stats.unchanged++;
        else {
          if (down) this.keysDown.add(code);
          else this.keysDown.delete(code);
          this.sink.key(code, down);
        }
        return this.respond(this.pong());
      }
      case Command.MOUSE_MOVE: {
        const { x, y } = decodeMouseMove(payload);
        this.sink.pointerMove(x, y);
        return this.respond(this.pong());
      }
      case Command.MOUSE_BUTTON: {
        for (const [name, bits] of Object.entries(MouseButtonBits) as [MouseButton, { select: number; state: number }][]) {
          if (!(payload[0] & bits.select)) continue;
          const down = (payload[0] & bits.state) !== 0;
          if (this.buttonsDown.has(name) === down) {
            this.stats.unchanged++;
            continue;
          }
          if (down) this.buttonsDown.add(name);
          else this.buttonsDown.delete(name);
          this.sink.pointerButton(name, down);
        }
        return this.respond(this.pong());
      }
      case ExtensionCommand.POWER_BUTTON:
        if (!this.powerButton(payload[0])) {
          this.stats.invalid++;
          return this.respond(encodeResponse(ResponseCode.INVALID_ERROR));
        }
        return this.respond(this.pong([this.powerPressed ? 1 : 0, 0]));
      case ExtensionCommand.FIRMWARE_VERSION: {
        // b2 b3 b4 = major minor patch, b5 = board kind (firmware/README.md).
        const frame = this.pong([FIRMWARE_VERSION[2], FIRMWARE_VERSION[3]]);
        frame[2] = FIRMWARE_VERSION[0];
        frame[3] = FIRMWARE_VERSION[1];
        const crc = crc16(frame, 6);
        frame[6] = crc >> 8;
        frame[7] = crc & 0xff;
        return this.respond(frame);
      }
      default:
        // SET_KEYBOARD, SET_MOUSE, SET_CONNECTED, the wheel, relative moves, and other 0x20+: not on this board.
        this.stats.invalid++;
        return this.respond(encodeResponse(ResponseCode.INVALID_ERROR));
    }
  }
}

/** Serves the protocol on a stream (a TCP socket, socat's pipes) until it ends. */
export function serveBoard(stream: Duplex, sink: HidSink, opts: BoardOptions = {}): BoardProtocol {
  const board = new BoardProtocol(sink, (bytes) => { if (!stream.destroyed) stream.write(bytes); }, opts);
  stream.on('data', (chunk: Buffer) => board.receive(chunk));
  stream.on('close', () => board.close());
  stream.on('error', () => board.close());
  return board;
}

/** Connects a board that keeps running to a new stream (its line was plugged in again); returns a detach. */
export function attachBoard(board: BoardProtocol, stream: Duplex): () => void {
  const onData = (chunk: Buffer) => board.receive(chunk);
  board.attach((bytes) => { if (!stream.destroyed) stream.write(bytes); });
  stream.on('data', onData);
  stream.on('error', () => { /* the line went away; the board keeps its state */ });
  return () => stream.off('data', onData);
}
