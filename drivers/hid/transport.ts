// A byte link to the HID board: a serial port or a TCP socket (ser2net). The board driver sees only this.

export interface ByteTransport {
  /** Names the link for messages, e.g. "serial /dev/ttyACM0" or "tcp 127.0.0.1:5000". */
  readonly description: string;
  readonly closed: boolean;
  write(bytes: Uint8Array): Promise<void>;
  /**
   * Resolves with exactly `n` bytes, or with the fewer bytes that came (maybe none) when `timeoutMs` passes
   * first; the bytes returned are consumed either way. Rejects when the link closes. One read at a time.
   */
  read(n: number, timeoutMs: number): Promise<Buffer>;
  /** Discards input that arrived and was not read (a late answer to an earlier request); returns its length. */
  drain(): Promise<number>;
  close(): Promise<void>;
  /** Called once when the link closes, with the cause when it was not close() (unplugged, connection reset). */
  onClose(listener: (cause?: Error) => void): void;
}

export type HidSpec =
  | { kind: 'serial'; path: string }
  | { kind: 'tcp'; host: string; port: number }
  /** A board found by its USB id (and serial number); no id: any known board. */
  | { kind: 'usb'; vid?: number; pid?: number; serial?: string };

const ACCEPTED_FORMS = 'serial:/dev/ttyACM0, a bare /dev/... path, or tcp://host:port (e.g. tcp://127.0.0.1:5000)';

/**
 * Parses where the board is: `serial:/dev/ttyACM0` (or `serial:COM3`), a bare `/dev/...` path, `tcp://host:port`,
 * or `usb:VID:PID[:SERIAL]` / `usb:auto` (found by its USB id).
 */
export function parseHidSpec(spec: string): HidSpec {
  const text = spec.trim();
  const bad = (why: string) => new Error(`HID spec '${spec}' ${why}; accepted forms: ${ACCEPTED_FORMS}, or usb:VID:PID[:SERIAL] (e.g. usb:2341:8036) or usb:auto`);
  if (/^usb:/i.test(text)) {
    const m = /^usb:(?:(auto)?|([0-9a-f]{4}):([0-9a-f]{4})(?::(.+))?)$/i.exec(text);
    if (!m) throw bad('is not a USB id; hex vendor and product ids are expected');
    if (!m[2]) return { kind: 'usb' };
    return { kind: 'usb', vid: parseInt(m[2], 16), pid: parseInt(m[3], 16), ...(m[4] ? { serial: m[4] } : {}) };
  }
  if (text.startsWith('serial:')) {
    const path = text.slice('serial:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path) throw bad('names no serial port');
    return { kind: 'serial', path };
  }
  if (text.startsWith('/dev/')) return { kind: 'serial', path: text };
  if (/^tcp:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw bad('is not a valid tcp:// address');
    }
    const port = Number(url.port);
    if (!url.hostname) throw bad('names no host');
    if (!url.port || !Number.isInteger(port) || port < 1 || port > 65535) throw bad('needs a port 1..65535');
    if ((url.pathname && url.pathname !== '/') || url.search) throw bad('has a path; a tcp address is only host:port');
    return { kind: 'tcp', host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port };
  }
  throw bad('is not understood');
}

/**
 * Incoming bytes kept until read: both transports push what arrives and serve read(n, timeout) from it.
 */
export class InputBuffer {
  private chunks: Buffer[] = [];
  private length = 0;
  private waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | null = null;
  private failure: Error | null = null;

  push(data: Buffer): void {
    if (this.failure) return;
    this.chunks.push(data);
    this.length += data.length;
    if (this.waiter && this.length >= this.waiter.n) {
      const { n, resolve, timer } = this.waiter;
      clearTimeout(timer);
      this.waiter = null;
      resolve(this.take(n));
    }
  }

  read(n: number, timeoutMs: number): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new Error('a read is already waiting on this link (one request at a time)'));
    if (this.length >= n) return Promise.resolve(this.take(n));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(this.take(Math.min(n, this.length)));
      }, Math.max(0, timeoutMs));
      this.waiter = { n, resolve, reject, timer };
    });
  }

  /** Drops everything buffered; returns how many bytes were dropped. */
  discard(): number {
    const dropped = this.length;
    this.chunks = [];
    this.length = 0;
    return dropped;
  }

  /** The link is gone: a waiting read and every later read reject with `error`. */
  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.discard();
    if (this.waiter) {
      clearTimeout(this.waiter.timer);
      this.waiter.reject(error);
      this.waiter = null;
    }
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.length);
    const out = Buffer.from(all.subarray(0, n));
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.length = rest.length;
    return out;
  }
}

/** Calls each close listener once; shared by the transports. */
export class CloseSignal {
  private listeners: Array<(cause?: Error) => void> = [];
  private fired = false;
  on(listener: (cause?: Error) => void): void {
    this.listeners.push(listener);
  }
  fire(cause?: Error): void {
    if (this.fired) return;
    this.fired = true;
    for (const listener of this.listeners) listener(cause);
  }
  get done(): boolean {
    return this.fired;
  }
}
