// The MJPEG-over-HTTP frame source against a real node:http server streaming real JPEGs made by sharp.
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MjpegHttpSource, MultipartJpegParser, openCapture, snapshotOnce } from '../drivers/capture/mjpeg-http.ts';
import type { FrameSource } from '../drivers/capture/types.ts';
import { RECENT_MAX, RECENT_MS, RECENT_SPACING_MS } from '../drivers/capture/newest-frame.ts';
import { StreamServer } from './helpers/stream-server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function solid(r: number, g: number, b: number): Promise<Buffer> {
  return sharp({ create: { width: 64, height: 48, channels: 3, background: { r, g, b } } }).jpeg({ quality: 90 }).toBuffer();
}

/** A JPEG with an APP segment that carries FF D9 inside it, as an EXIF thumbnail would. */
function withEmbeddedEoi(jpeg: Buffer): Buffer {
  const payload = Buffer.from([0x74, 0x68, 0x75, 0x6d, 0x62, 0x00, 0xff, 0xd8, 0x01, 0x02, 0xff, 0xd9]);
  const segment = Buffer.concat([Buffer.from([0xff, 0xe5, 0, payload.length + 2]), payload]);
  return Buffer.concat([jpeg.subarray(0, 2), segment, jpeg.subarray(2)]);
}

async function meanColour(jpeg: Buffer): Promise<number[]> {
  const stats = await sharp(jpeg).stats();
  return stats.channels.slice(0, 3).map((c) => Math.round(c.mean));
}

describe('MJPEG over HTTP', () => {
  let stream: StreamServer;
  let red: Buffer, green: Buffer, blue: Buffer;
  let source: FrameSource | null = null;

  beforeAll(async () => {
    [red, green, blue] = await Promise.all([solid(230, 20, 20), solid(20, 200, 40), solid(30, 40, 220)]);
  });
  beforeEach(async () => {
    stream = new StreamServer();
    await stream.start();
  });
  afterEach(async () => {
    await source?.close();
    source = null;
    await stream.stop();
  });

  it('delivers frames in order with increasing seq; latest() is the newest; next() waits for a new one', async () => {
    const src = new MjpegHttpSource(`${stream.url}/stream`, { frameTimeoutMs: 3000 });
    source = src;
    await stream.waitForClients(1);
    const seen: number[] = [];
    let seq = 0;
    for (const jpeg of [red, green, blue]) {
      const waiting = src.next(seq);
      await stream.send(jpeg);
      const frame = await waiting;
      expect(frame.data.equals(jpeg)).toBe(true);
      expect(frame.seq).toBeGreaterThan(seq);
      seq = frame.seq;
      seen.push(frame.seq);
    }
    expect(seen).toEqual([1, 2, 3]);
    const newest = await src.latest();
    expect(newest.seq).toBe(3);
    expect(await meanColour(newest.data)).toEqual([expect.closeTo(30, -1), expect.closeTo(40, -1), expect.closeTo(220, -1)]);

    // next() after the newest waits until another frame comes.
    let resolved = false;
    const later = src.next(3).then((f) => ((resolved = true), f));
    await sleep(150);
    expect(resolved).toBe(false);
    await stream.send(red);
    expect((await later).seq).toBe(4);
    expect(src.stats).toMatchObject({ frames: 4, connections: 1, reconnects: 0 });
  });

  it('keeps the last seconds, a few frames a second, however fast the grabber sends, for a busy reader to look back at', async () => {
    const src = new MjpegHttpSource(`${stream.url}/stream`, { frameTimeoutMs: 3000 });
    source = src;
    await stream.waitForClients(1);
    // 30 frames a second for longer than recent() reaches, as a capture card sends them.
    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < RECENT_MS + 1500) {
      await stream.send([red, green, blue][sent++ % 3]);
      await sleep(33);
    }
    await sleep(100);
    const newest = await src.latest();
    expect(newest.seq).toBe(sent);
    const kept = src.recent();
    expect(kept.at(-1)).toBe(newest);
    expect(kept.map((f) => f.seq)).toEqual([...kept.map((f) => f.seq)].sort((a, b) => a - b));
    // Nearly RECENT_MS back and no further, in a few frames a second, not the 300 that came in that time.
    expect(newest.at - kept[0].at).toBeLessThanOrEqual(RECENT_MS);
    expect(newest.at - kept[0].at).toBeGreaterThan(RECENT_MS - 1500);
    expect(kept.length).toBeGreaterThanOrEqual(RECENT_MS / RECENT_SPACING_MS / 2);
    expect(kept.length).toBeLessThanOrEqual(RECENT_MAX);
    await src.close();
    expect(src.recent()).toEqual([]);
  });

  it('finds frames without Content-Length by the JPEG markers, even split into pieces', async () => {
    const tricky = withEmbeddedEoi(green);
    const src = new MjpegHttpSource(`${stream.url}/stream`, { frameTimeoutMs: 3000 });
    source = src;
    await stream.waitForClients(1);
    let waiting = src.next(0);
    await stream.send(tricky, { length: false, pieces: 7 });
    expect((await waiting).data.equals(tricky)).toBe(true);
    waiting = src.next(1);
    await stream.send(blue, { length: false });
    expect((await waiting).data.equals(blue)).toBe(true);
    expect(await meanColour((await src.latest()).data)).toEqual([expect.closeTo(30, -1), expect.closeTo(40, -1), expect.closeTo(220, -1)]);
  });

  it('reconnects when the stream ends, and frames resume', async () => {
    const src = new MjpegHttpSource(`${stream.url}/stream`, { backoffMs: { first: 50, max: 200 }, frameTimeoutMs: 3000 });
    source = src;
    await stream.waitForClients(1);
    const first = src.next(0);
    await stream.send(red);
    expect((await first).seq).toBe(1);
    stream.client.end('--frameboundary--\r\n');
    await stream.waitForClients(2);
    const second = src.next(1);
    await stream.send(green);
    const frame = await second;
    expect(frame.seq).toBe(2);
    expect(frame.data.equals(green)).toBe(true);
    expect(src.stats).toMatchObject({ connections: 2, reconnects: 1 });
    expect(src.stats.lastError).toMatch(/the stream from http:\/\/127\.0\.0\.1:\d+\/stream ended/);
  });

  it('reconnects when the stream stalls', async () => {
    const src = new MjpegHttpSource(`${stream.url}/stream`, { stallMs: 300, backoffMs: { first: 50, max: 200 }, frameTimeoutMs: 3000 });
    source = src;
    await stream.waitForClients(1);
    const first = src.next(0);
    await stream.send(red);
    await first;
    await stream.waitForClients(2); // nothing more on the first connection: the source gives up on it
    expect(src.stats.lastError).toMatch(/no frame for 300 ms/);
    const next = src.next(1);
    await stream.send(blue);
    expect((await next).data.equals(blue)).toBe(true);
  });

  it('names the URL and the status when the server says 404', async () => {
    await expect(openCapture(`${stream.url}/nope`)).rejects.toThrow(
      new RegExp(`HTTP 404 Not Found from ${stream.url.replace(/\./g, '\\.')}/nope`),
    );
    const src = new MjpegHttpSource(`${stream.url}/nope`);
    source = src;
    await expect(src.latest(400)).rejects.toThrow(/no new frame from MJPEG stream http:\/\/127\.0\.0\.1:\d+\/nope within 400 ms; last error: HTTP 404 Not Found/);
  });

  it('opens a stream by its URL and refuses other specs, naming the accepted forms', async () => {
    const opening = openCapture(`${stream.url}/stream`);
    await stream.waitForClients(1);
    await stream.send(red);
    source = await opening;
    expect(source.description).toBe(`MJPEG stream ${stream.url}/stream`);
    expect((await source.latest()).data.equals(red)).toBe(true);
    await expect(openCapture('/dev/video0')).rejects.toThrow(/capture spec '\/dev\/video0' is not understood; accepted forms: an http\(s\):\/\/ URL of an MJPEG stream/);
  });

  it('fetches a single snapshot, and names the URL and status when it is missing', async () => {
    stream.snapshot = green;
    expect((await snapshotOnce(`${stream.url}/snapshot`)).equals(green)).toBe(true);
    await expect(snapshotOnce(`${stream.url}/missing.jpg`)).rejects.toThrow(/HTTP 404 Not Found from http:\/\/127\.0\.0\.1:\d+\/missing\.jpg/);
  });
});

describe('multipart parser', () => {
  it('reads parts whose boundary parameter already carries the dashes, byte by byte', async () => {
    const jpeg = await solid(10, 10, 10);
    const parser = new MultipartJpegParser('--myboundary');
    const body = Buffer.concat([Buffer.from('--myboundary\r\nContent-Type: image/jpeg\r\n\r\n'), jpeg, Buffer.from('\r\n--myboundary\r\n')]);
    const frames: Buffer[] = [];
    for (const byte of body) frames.push(...parser.push(Buffer.from([byte])));
    expect(frames).toHaveLength(1);
    expect(frames[0].equals(jpeg)).toBe(true);
  });
});
