// The board end of the serial HID protocol (reference/serial-hid-protocol.md) over any byte stream: it
// assembles 8-byte requests (dropping one that does not arrive whole within 100 ms of its first byte),
// checks the CRC, runs the command on the virtual device and answers. Faults (corrupted or dropped bytes,
// a board restart) can be injected through BoardFaults and restart().
import type { Duplex } from 'node:stream';
import { keyByMcu } from '../drivers/hid/keymap.ts';
import {
  Command, FRAME_LENGTH, MouseButtonBits, PongFlag, REQUEST_MAGIC, ResponseCode, decodeMouseMove, encodeResponse,
  frameCrcOk, type MouseButton,
} from '../drivers/hid/protocol.ts';

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
  faults: BoardFaults;

  constructor(
    private readonly sink: HidSink,
    private readonly send: (bytes: Buffer) => void,
    opts: BoardOptions = {},
  ) {
    this.timeoutMs = opts.firstByteTimeoutMs ?? 100;
    this.faults = opts.faults ?? {};
  }

  /** Bytes from the host. */
  receive(chunk: Buffer): void {
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

  /** The board restarts: the partial request and the last response are gone, every key is released. */
  restart(): void {
    this.partial = Buffer.alloc(0);
    this.stopFrameTimer();
    this.last = null;
    this.sink.releaseAll();
  }

  close(): void {
    this.stopFrameTimer();
  }

  private startFrameTimer(): void {
    this.stopFrameTimer();
    this.partialTimer = setTimeout(() => {
      this.partialTimer = null;
      this.partial = Buffer.alloc(0);
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
    if (out) this.send(out);
  }

  private pong(): Buffer {
    const leds = this.sink.getLeds();
    let flags = 0;
    if (leds.capsLock) flags |= PongFlag.CAPS_LOCK;
    if (leds.scrollLock) flags |= PongFlag.SCROLL_LOCK;
    if (leds.numLock) flags |= PongFlag.NUM_LOCK;
    if (!this.sink.keyboardOnline) flags |= PongFlag.KEYBOARD_OFFLINE | PongFlag.MOUSE_OFFLINE;
    return encodeResponse(ResponseCode.PONG | flags, OUTPUTS1, OUTPUTS2);
  }

  private handle(frame: Buffer): void {
    if (!frameCrcOk(frame)) return this.respond(encodeResponse(ResponseCode.CRC_ERROR));
    if (frame[0] !== REQUEST_MAGIC) return this.respond(encodeResponse(ResponseCode.INVALID_ERROR));
    const payload = frame.subarray(2, 6);
    switch (frame[1]) {
      case Command.REPEAT:
        // The last response again, without running anything; NONE when the board has none (it restarted).
        return this.respond(this.last ?? encodeResponse(ResponseCode.NONE), false);
      case Command.PING:
        return this.respond(this.pong());
      case Command.CLEAR_HID:
        this.sink.releaseAll();
        return this.respond(this.pong());
      case Command.KEY: {
        const key = keyByMcu(payload[0]);
        // A board ignores a key byte it has no usage for, as PiKVM's firmware does; the device records it.
        this.sink.key(key ? key.code : `Unidentified${payload[0]}`, payload[1] !== 0);
        return this.respond(this.pong());
      }
      case Command.MOUSE_MOVE: {
        const { x, y } = decodeMouseMove(payload);
        this.sink.pointerMove(x, y);
        return this.respond(this.pong());
      }
      case Command.MOUSE_BUTTON: {
        for (const [name, bits] of Object.entries(MouseButtonBits) as [MouseButton, { select: number; state: number }][]) {
          if (payload[0] & bits.select) this.sink.pointerButton(name, (payload[0] & bits.state) !== 0);
        }
        return this.respond(this.pong());
      }
      default:
        // SET_KEYBOARD, SET_MOUSE, SET_CONNECTED, the wheel, relative moves, and 0x20+: not on this board.
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
