// What goes wrong with a grabber at 3 a.m., on the virtual device's video (/stream and /snapshot alike):
// the picture goes black for a while (no signal), freezes (the same frame again and again, byte for byte, as
// a hung grabber sends it), or changes resolution (the source switched modes). The device itself goes on.
// Driven by the control routes POST /video/black?ms=, /video/freeze?ms=, /video/size?w=&h=[&ms=], GET /video.
import sharp from 'sharp';

export interface VideoFaultState {
  /** Real ms left of each fault; 0 when it is off. */
  blackMs: number;
  freezeMs: number;
  /** The forced frame size, or null. */
  size: { width: number; height: number } | null;
  /** Faults asked for so far, by kind. */
  counts: { black: number; freeze: number; size: number };
}

const MAX_MS = 600_000;

export class VideoFaults {
  private blackUntil = 0;
  private freezeUntil = 0;
  private frozen: Buffer | null = null;
  private size: { width: number; height: number } | null = null;
  private sizeUntil = Infinity;
  private readonly counts = { black: 0, freeze: 0, size: 0 };
  /** The last frame given and what it became (resized), so each new picture is resized once. */
  private resized: { from: Buffer; to: Promise<Buffer>; key: string } | null = null;
  private black: { key: string; jpeg: Promise<Buffer> } | null = null;
  private lastOut: Buffer | null = null;

  /** The frame to send instead of `frame` (the device's current picture), given the faults now on. */
  async apply(frame: Buffer): Promise<Buffer> {
    const now = Date.now();
    if (this.size && now >= this.sizeUntil) this.size = null;
    if (now < this.freezeUntil && this.frozen) return this.frozen;
    this.frozen = null;
    let out = frame;
    if (this.size) out = await this.resize(frame, this.size);
    if (now < this.blackUntil) out = await this.blackLike(out);
    this.lastOut = out;
    return out;
  }

  blackFor(ms: number): void {
    this.counts.black++;
    this.blackUntil = Date.now() + ms;
  }

  /** From now on, for `ms`, the last frame sent is sent again (byte for byte). */
  freezeFor(ms: number): void {
    this.counts.freeze++;
    this.freezeUntil = Date.now() + ms;
    this.frozen = this.lastOut;
  }

  /** Every frame resized to width × height (for `ms`, or until reset); null goes back to the device's size. */
  resizeTo(size: { width: number; height: number } | null, ms?: number): void {
    this.counts.size++;
    this.size = size;
    this.sizeUntil = size && ms !== undefined ? Date.now() + ms : Infinity;
  }

  state(): VideoFaultState {
    const left = (until: number) => Math.max(0, until - Date.now());
    return { blackMs: left(this.blackUntil), freezeMs: this.frozen ? left(this.freezeUntil) : 0, size: this.size, counts: { ...this.counts } };
  }

  private resize(frame: Buffer, size: { width: number; height: number }): Promise<Buffer> {
    const key = `${size.width}x${size.height}`;
    if (this.resized?.from !== frame || this.resized.key !== key) {
      const to = sharp(frame).resize(size.width, size.height, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
      this.resized = { from: frame, to, key };
    }
    return this.resized.to;
  }

  /** A black frame of the size of `like`. */
  private async blackLike(like: Buffer): Promise<Buffer> {
    const meta = await sharp(like).metadata();
    const key = `${meta.width}x${meta.height}`;
    if (this.black?.key !== key) {
      this.black = {
        key,
        jpeg: sharp({ create: { width: meta.width ?? 1920, height: meta.height ?? 1080, channels: 3, background: { r: 0, g: 0, b: 0 } } }).jpeg({ quality: 90 }).toBuffer(),
      };
    }
    return this.black.jpeg;
  }
}

/** A control route's answer, or undefined when the path is not a video fault route. */
export function videoFaultRoute(faults: VideoFaults, method: string, path: string, query: URLSearchParams): { status: number; body: unknown } | undefined {
  if (path === '/video' && method === 'GET') return { status: 200, body: faults.state() };
  if (!path.startsWith('/video/')) return undefined;
  if (method !== 'POST') return { status: 405, body: { error: `${path} takes POST` } };
  const ms = (fallback: number | undefined): number | undefined | string => {
    const text = query.get('ms');
    if (text === null) return fallback;
    const n = Number(text);
    return Number.isInteger(n) && n >= 0 && n <= MAX_MS ? n : `ms must be a whole number of milliseconds 0..${MAX_MS}, got "${text}"`;
  };
  if (path === '/video/black' || path === '/video/freeze') {
    const d = ms(5000);
    if (typeof d === 'string') return { status: 400, body: { error: d } };
    if (path === '/video/black') faults.blackFor(d!);
    else faults.freezeFor(d!);
    return { status: 200, body: { fault: path.slice('/video/'.length), ms: d } };
  }
  if (path === '/video/size') {
    const w = query.get('w'), h = query.get('h');
    const d = ms(undefined);
    if (typeof d === 'string') return { status: 400, body: { error: d } };
    if (w === null && h === null) {
      faults.resizeTo(null);
      return { status: 200, body: { size: null } };
    }
    const width = Number(w), height = Number(h);
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 320 || height < 240 || width > 7680 || height > 4320) {
      return { status: 400, body: { error: `w and h must be whole numbers of pixels within 320x240..7680x4320, got w=${w} h=${h}` } };
    }
    faults.resizeTo({ width, height }, d);
    return { status: 200, body: { size: { width, height }, ...(d !== undefined ? { ms: d } : {}) } };
  }
  return { status: 404, body: { error: `no ${path}: try /video/black?ms=, /video/freeze?ms=, /video/size?w=&h=` } };
}
