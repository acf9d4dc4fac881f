// Frames from an MJPEG stream over HTTP (multipart/x-mixed-replace): ustreamer, mjpg-streamer, PiKVM,
// the virtual device. Keeps only the newest frame; reconnects with backoff when the stream ends or stalls.
import http from 'node:http';
import https from 'node:https';
import { untilFirstFrame } from './first-frame.ts';
import { NewestFrame } from './newest-frame.ts';
import type { Frame, FrameSource } from './types.ts';

export interface MjpegHttpOptions {
  /** No frame for this long: the stream is stalled, reconnect. */
  stallMs?: number;
  /** How long to wait for the server's response headers. */
  connectTimeoutMs?: number;
  /** Reconnect delay: starts at `first`, doubles after each failure up to `max`, back to `first` after a frame. */
  backoffMs?: { first: number; max: number };
  /** Default wait of latest() and next(). */
  frameTimeoutMs?: number;
  /** A part larger than this without an end means the stream is not what it claims. */
  maxFrameBytes?: number;
  /** Accept a self-signed certificate (PiKVM ships one). */
  insecureTls?: boolean;
  /** More request headers, e.g. PiKVM's X-KVMD-User and X-KVMD-Passwd (never shown in messages). */
  headers?: Record<string, string>;
}

export interface MjpegStats {
  frames: number;
  /** Connections that delivered response headers. */
  connections: number;
  /** Reconnects after a failure, an end or a stall. */
  reconnects: number;
  lastError: string | null;
}

const ACCEPTED_FORMS =
  'an http(s):// URL of an MJPEG stream (ustreamer http://host:8080/stream, mjpg-streamer http://host:8080/?action=stream, ' +
  'PiKVM https://host/streamer/stream, or the virtual device\'s video URL)';

export class MjpegHttpSource implements FrameSource {
  readonly description: string;
  private readonly url: URL;
  private readonly stallMs: number;
  private readonly connectTimeoutMs: number;
  private readonly backoff: { first: number; max: number };
  private readonly frameTimeoutMs: number;
  private readonly maxFrameBytes: number;
  private readonly insecureTls: boolean;
  private readonly extraHeaders: Record<string, string>;

  private readonly frames = new NewestFrame((ms) => this.timeoutError(ms));
  private request: http.ClientRequest | null = null;
  private connectionId = 0;
  private failuresInARow = 0;
  private stallTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly counts: MjpegStats = { frames: 0, connections: 0, reconnects: 0, lastError: null };

  constructor(url: string, options: MjpegHttpOptions = {}) {
    this.url = parseHttpUrl(url);
    this.description = `MJPEG stream ${redacted(this.url)}`;
    this.stallMs = options.stallMs ?? 5000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.backoff = options.backoffMs ?? { first: 250, max: 5000 };
    this.frameTimeoutMs = options.frameTimeoutMs ?? 10_000;
    this.maxFrameBytes = options.maxFrameBytes ?? 16 * 1024 * 1024;
    this.insecureTls = options.insecureTls ?? false;
    this.extraHeaders = options.headers ?? {};
    this.connect();
  }

  get stats(): MjpegStats {
    return { ...this.counts };
  }

  /**
   * Resolves at the first frame. Rejects at once when the server says no (an HTTP error status, or not a
   * multipart stream); a server that cannot be reached is retried until `timeoutMs`.
   */
  ready(timeoutMs = this.frameTimeoutMs): Promise<void> {
    return this.frames.ready(timeoutMs);
  }

  latest(timeoutMs = this.frameTimeoutMs): Promise<Frame> {
    return this.frames.latest(timeoutMs);
  }

  /** Only the newest frame is kept, so this resolves with the newest one once its seq passes `afterSeq`. */
  next(afterSeq: number, timeoutMs = this.frameTimeoutMs): Promise<Frame> {
    return this.frames.next(afterSeq, timeoutMs);
  }

  recent(): readonly Frame[] {
    return this.frames.recent();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearTimers();
    this.request?.destroy();
    this.request = null;
    this.frames.close(this.closedError());
  }

  // --- Connection -----------------------------------------------------------------------------------

  private connect(): void {
    if (this.closed) return;
    const id = ++this.connectionId;
    const current = () => id === this.connectionId && !this.closed;
    const client = this.url.protocol === 'https:' ? https : http;
    const request = client.get(this.url, {
      headers: { Accept: 'multipart/x-mixed-replace, image/jpeg', ...this.extraHeaders },
      ...(this.url.protocol === 'https:' ? { rejectUnauthorized: !this.insecureTls } : {}),
    });
    this.request = request;
    this.armStallTimer(this.connectTimeoutMs, `no response within ${this.connectTimeoutMs} ms`);

    request.on('response', (response) => {
      if (!current()) return response.resume();
      const status = response.statusCode ?? 0;
      if (status !== 200) {
        response.resume();
        return this.fail(id, `HTTP ${status} ${response.statusMessage ?? ''}`.trim() + ` from ${redacted(this.url)}`, true);
      }
      const contentType = response.headers['content-type'] ?? '';
      const boundary = multipartBoundary(contentType);
      if (!boundary) {
        response.resume();
        const hint = /^image\//i.test(contentType) ? ' (a single image: use snapshotOnce for it)' : '';
        return this.fail(id, `${redacted(this.url)} sent '${contentType || 'no content type'}', not an MJPEG stream (multipart/x-mixed-replace with a boundary)${hint}`, true);
      }
      this.counts.connections++;
      this.armStallTimer(this.stallMs, `no frame for ${this.stallMs} ms`);
      const parser = new MultipartJpegParser(boundary, this.maxFrameBytes);
      response.on('data', (chunk: Buffer) => {
        if (!current()) return;
        try {
          for (const data of parser.push(chunk)) this.deliver(data);
        } catch (error) {
          this.fail(id, `${redacted(this.url)}: ${(error as Error).message}`, false);
        }
      });
      response.on('end', () => this.fail(id, `the stream from ${redacted(this.url)} ended`, false));
      response.on('error', (error) => this.fail(id, `the stream from ${redacted(this.url)} broke: ${error.message}`, false));
      response.on('close', () => this.fail(id, `the stream from ${redacted(this.url)} closed`, false));
    });
    request.on('error', (error) => this.fail(id, `cannot reach ${redacted(this.url)}: ${error.message}`, false));
  }

  private deliver(data: Buffer): void {
    this.frames.deliver(data);
    this.counts.frames++;
    this.failuresInARow = 0;
    this.armStallTimer(this.stallMs, `no frame for ${this.stallMs} ms`);
  }

  /** Ends connection `id` and schedules the next one; `refused` (the server said no) also fails ready(). */
  private fail(id: number, message: string, refused: boolean): void {
    if (id !== this.connectionId || this.closed) return;
    this.connectionId++; // late events of the old connection are ignored from here on
    this.counts.lastError = message;
    this.request?.destroy();
    this.request = null;
    this.clearTimers();
    if (refused) this.frames.refuse(new Error(message));
    const delay = Math.min(this.backoff.max, this.backoff.first * 2 ** this.failuresInARow);
    this.failuresInARow++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.counts.reconnects++;
      this.connect();
    }, delay);
  }

  private armStallTimer(ms: number, why: string): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    const id = this.connectionId;
    this.stallTimer = setTimeout(() => this.fail(id, `${redacted(this.url)}: ${why}`, false), ms);
  }

  private clearTimers(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.stallTimer = null;
    this.retryTimer = null;
  }

  private timeoutError(ms: number): Error {
    const last = this.counts.lastError ? `; last error: ${this.counts.lastError}` : '';
    return new Error(`no new frame from ${this.description} within ${ms} ms${last}`);
  }

  private closedError(): Error {
    return new Error(`${this.description} is closed`);
  }
}

/**
 * Splits a multipart/x-mixed-replace body into JPEG frames: by Content-Length when a part has one, else by
 * walking the JPEG's own markers from SOI to EOI (or up to the next boundary when the part is not a JPEG).
 */
export class MultipartJpegParser {
  private buffer: Buffer = Buffer.alloc(0);
  private state: 'boundary' | 'headers' | 'body' | 'done' = 'boundary';
  private contentLength: number | null = null;
  private readonly delimiters: Buffer[];

  constructor(
    boundary: string,
    private readonly maxFrameBytes = 16 * 1024 * 1024,
  ) {
    // Some servers put the leading dashes into the boundary parameter itself; accept both spellings.
    this.delimiters = [Buffer.from(`--${boundary}`)];
    if (boundary.startsWith('--')) this.delimiters.push(Buffer.from(boundary));
  }

  /** Feeds bytes in; returns the frames completed by them. */
  push(chunk: Buffer): Buffer[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const frames: Buffer[] = [];
    while (this.step(frames));
    if (this.buffer.length > this.maxFrameBytes) {
      throw new Error(`a part grew past ${this.maxFrameBytes} bytes without an end (state: ${this.state}); is this an MJPEG stream?`);
    }
    return frames;
  }

  /** Advances one state; false when more bytes are needed. */
  private step(frames: Buffer[]): boolean {
    switch (this.state) {
      case 'done':
        this.buffer = Buffer.alloc(0);
        return false;
      case 'boundary': {
        const found = this.findDelimiter(0);
        if (!found) {
          // Keep only a tail that might be the start of a delimiter split across chunks.
          const keep = Math.max(...this.delimiters.map((d) => d.length));
          if (this.buffer.length > keep) this.buffer = this.buffer.subarray(this.buffer.length - keep);
          return false;
        }
        const after = found.index + found.length;
        if (this.buffer.length < after + 2) return false;
        if (this.buffer[after] === 0x2d && this.buffer[after + 1] === 0x2d) {
          this.state = 'done'; // the close delimiter "--boundary--"
          return true;
        }
        const lineEnd = this.buffer.indexOf(0x0a, after);
        if (lineEnd < 0) return false;
        this.buffer = this.buffer.subarray(lineEnd + 1);
        this.state = 'headers';
        this.contentLength = null;
        return true;
      }
      case 'headers': {
        // A part that starts straight with JPEG data has no headers.
        if (this.buffer.length >= 2 && this.buffer[0] === 0xff && this.buffer[1] === 0xd8) {
          this.state = 'body';
          return true;
        }
        for (;;) {
          const lineEnd = this.buffer.indexOf(0x0a);
          if (lineEnd < 0) {
            if (this.buffer.length > 16 * 1024) throw new Error('part headers longer than 16 KiB');
            return false;
          }
          const line = this.buffer.subarray(0, lineEnd).toString('latin1').replace(/\r$/, '');
          this.buffer = this.buffer.subarray(lineEnd + 1);
          if (line === '') {
            this.state = 'body';
            return true;
          }
          const match = /^content-length\s*:\s*(\d+)\s*$/i.exec(line);
          if (match) this.contentLength = Number(match[1]);
        }
      }
      case 'body': {
        if (this.contentLength !== null) {
          if (this.buffer.length < this.contentLength) return false;
          frames.push(Buffer.from(this.buffer.subarray(0, this.contentLength)));
          this.buffer = this.buffer.subarray(this.contentLength);
          this.state = 'boundary';
          return true;
        }
        let start = 0;
        while (start < this.buffer.length && (this.buffer[start] === 0x0d || this.buffer[start] === 0x0a)) start++;
        if (this.buffer.length < start + 2) return false;
        if (this.buffer[start] === 0xff && this.buffer[start + 1] === 0xd8) {
          const end = jpegEnd(this.buffer, start);
          if (end < 0) return false;
          frames.push(Buffer.from(this.buffer.subarray(start, end)));
          this.buffer = this.buffer.subarray(end);
          this.state = 'boundary';
          return true;
        }
        // Not a JPEG and no length: the part runs up to the next boundary.
        const found = this.findDelimiter(start);
        if (!found) return false;
        let end = found.index;
        if (this.buffer[end - 1] === 0x0a) end--;
        if (this.buffer[end - 1] === 0x0d) end--;
        if (end > start) frames.push(Buffer.from(this.buffer.subarray(start, end)));
        this.buffer = this.buffer.subarray(found.index);
        this.state = 'boundary';
        return true;
      }
    }
  }

  private findDelimiter(from: number): { index: number; length: number } | null {
    let best: { index: number; length: number } | null = null;
    for (const d of this.delimiters) {
      const index = this.buffer.indexOf(d, from);
      if (index >= 0 && (!best || index < best.index)) best = { index, length: d.length };
    }
    return best;
  }
}

/**
 * Where the JPEG that starts (SOI) at `start` ends: the index after its EOI, or -1 when it has not all
 * arrived. Walks the marker segments by their lengths, so an EXIF thumbnail's own EOI does not end it.
 */
export function jpegEnd(buf: Buffer, start: number): number {
  let i = start + 2;
  for (;;) {
    if (i + 1 >= buf.length) return -1;
    if (buf[i] !== 0xff) return scanForEoi(buf, i); // not well-formed: fall back to the first EOI
    const marker = buf[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd9) return i + 2;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    if (i + 3 >= buf.length) return -1;
    i += 2 + buf.readUInt16BE(i + 2);
    if (marker !== 0xda) continue;
    // After start of scan comes entropy-coded data, where 0xFF is followed by 0x00 or a restart marker.
    for (;;) {
      if (i + 1 >= buf.length) return -1;
      if (buf[i] !== 0xff) {
        i++;
        continue;
      }
      const next = buf[i + 1];
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) i += 2;
      else if (next === 0xff) i++;
      else break; // a real marker: EOI, or the next table/scan of a progressive JPEG
    }
  }
}

function scanForEoi(buf: Buffer, from: number): number {
  const index = buf.indexOf(Buffer.from([0xff, 0xd9]), from);
  return index < 0 ? -1 : index + 2;
}

/** The boundary of a multipart/x-mixed-replace content type, or null when it is something else. */
function multipartBoundary(contentType: string): string | null {
  if (!/^\s*multipart\/x-mixed-replace\b/i.test(contentType)) return null;
  const match = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match ? (match[1] ?? match[2]) : null;
}

function parseHttpUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`'${text}' is not a valid URL; expected ${ACCEPTED_FORMS}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`'${text}' is not an http(s) URL; expected ${ACCEPTED_FORMS}`);
  }
  return url;
}

/** The URL for messages: a password in it is never shown. */
function redacted(url: URL): string {
  if (!url.password) return url.href;
  const copy = new URL(url.href);
  copy.password = '***';
  return copy.href;
}

/** Fetches one JPEG from a snapshot URL (ustreamer's /snapshot, PiKVM's /streamer/snapshot); a stream URL gives its first frame. */
export async function snapshotOnce(
  url: string,
  options: { timeoutMs?: number; insecureTls?: boolean; maxBytes?: number } = {},
): Promise<Buffer> {
  const target = parseHttpUrl(url);
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  const client = target.protocol === 'https:' ? https : http;
  const where = redacted(target);
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | null, data?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      if (error) reject(error);
      else resolve(data!);
    };
    const timer = setTimeout(() => finish(new Error(`no snapshot from ${where} within ${timeoutMs} ms`)), timeoutMs);
    const request = client.get(target, {
      headers: { Accept: 'image/jpeg' },
      ...(target.protocol === 'https:' ? { rejectUnauthorized: !options.insecureTls } : {}),
    });
    request.on('error', (error) => finish(new Error(`cannot reach ${where}: ${error.message}`)));
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      if (status !== 200) {
        response.resume();
        return finish(new Error(`HTTP ${status} ${response.statusMessage ?? ''}`.trim() + ` from ${where}`));
      }
      const contentType = response.headers['content-type'] ?? '';
      const boundary = multipartBoundary(contentType);
      const parser = boundary ? new MultipartJpegParser(boundary, maxBytes) : null;
      const chunks: Buffer[] = [];
      let length = 0;
      response.on('data', (chunk: Buffer) => {
        try {
          if (parser) {
            const [first] = parser.push(chunk);
            if (first) finish(null, first);
            return;
          }
        } catch (error) {
          return finish(new Error(`${where}: ${(error as Error).message}`));
        }
        chunks.push(chunk);
        length += chunk.length;
        if (length > maxBytes) finish(new Error(`the snapshot from ${where} is larger than ${maxBytes} bytes`));
      });
      response.on('end', () => {
        if (parser) return finish(new Error(`the stream from ${where} ended before a whole frame`));
        const data = Buffer.concat(chunks, length);
        if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) {
          return finish(new Error(`${where} sent '${contentType || 'no content type'}' (${data.length} bytes), not a JPEG`));
        }
        finish(null, data);
      });
      response.on('error', (error) => finish(new Error(`the snapshot from ${where} broke: ${error.message}`)));
    });
  });
}

/**
 * Opens a frame source from a spec and waits for its first frame. Today: an http(s) URL of an MJPEG stream.
 * (ffmpeg devices and image folders come later; this dispatch then belongs in its own module.)
 */
export async function openCapture(spec: string, options: MjpegHttpOptions & { openTimeoutMs?: number } = {}): Promise<FrameSource> {
  const text = spec.trim();
  if (!/^https?:\/\//i.test(text)) {
    throw new Error(`capture spec '${spec}' is not understood; accepted forms: ${ACCEPTED_FORMS} (ffmpeg devices and image folders are not supported yet)`);
  }
  const source = new MjpegHttpSource(text, options);
  return untilFirstFrame(source, source.ready(options.openTimeoutMs ?? 10_000));
}
