// The ffmpeg capture driver with real ffmpeg: a lavfi test source, a real HTTP MJPEG server (made of sharp
// JPEGs) that changes resolution and stalls, inputs that fail, and the virtual device's stream read by the
// real Recognizer. Also the v4l2 format choice on ffmpeg's -list_formats text, the argument building for
// devices that only exist on other machines (dshow, avfoundation) and the capture spec forms.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RunFailure, UsageError } from '../agent/engine/errors.ts';
import { Recognizer } from '../agent/vision/recognizer.ts';
import { FfmpegSource, deviceInputArgs, ffmpegArgs, openFfmpeg, splitArgs, withRealtimeInputs } from '../drivers/capture/ffmpeg.ts';
import { JpegStreamSplitter, jpegSize } from '../drivers/capture/jpeg-stream.ts';
import { listVideoDevices, openCaptureSpec, parseCaptureSpec, probeFormats } from '../drivers/capture/open.ts';
import type { Frame, FrameSource } from '../drivers/capture/types.ts';
import { chooseV4l2Mode, parseV4l2Formats } from '../drivers/capture/v4l2-formats.ts';
import { startSim, type SimProcess } from './helpers/processes.ts';

const VERSION = { text: 'ffmpeg version 5.1.9', major: 5, minor: 1 };

async function sizeOf(jpeg: Buffer): Promise<string> {
  const meta = await sharp(jpeg).metadata();
  expect(meta.format).toBe('jpeg');
  return `${meta.width}x${meta.height}`;
}

async function meanColour(jpeg: Buffer): Promise<number[]> {
  const stats = await sharp(jpeg).stats();
  return stats.channels.slice(0, 3).map((c) => Math.round(c.mean));
}

/** Waits for frames until `test` passes on one; returns that frame and every seq seen on the way. */
async function frameWhere(source: FrameSource, test: (f: Frame) => Promise<boolean>, timeoutMs = 60_000): Promise<{ frame: Frame; seqs: number[] }> {
  const deadline = Date.now() + timeoutMs;
  const seqs: number[] = [];
  let frame = await source.latest(timeoutMs);
  for (;;) {
    seqs.push(frame.seq);
    if (await test(frame)) return { frame, seqs };
    if (Date.now() > deadline) throw new Error(`no frame passed the test within ${timeoutMs} ms (seqs ${seqs.slice(-5)})`);
    frame = await source.next(frame.seq, Math.max(1000, deadline - Date.now()));
  }
}

// --- ffmpeg's -list_formats output, as libavdevice/v4l2.c prints it -------------------------------------

const MS2109_LIST = `[video4linux2,v4l2 @ 0x55f0c2b5e940] Compressed:       mjpeg :          Motion-JPEG : 1920x1080 1600x1200 1360x768 1280x1024 1280x960 1280x720 1024x768 800x600 720x576 720x480 640x480
[video4linux2,v4l2 @ 0x55f0c2b5e940] Raw       :     yuyv422 :           YUYV 4:2:2 : 1920x1080 1600x1200 1360x768 1280x1024 1280x960 1280x720 1024x768 800x600 720x576 720x480 640x480
/dev/video0: Immediate exit requested
`;

const CAMLINK_LIST = `[video4linux2,v4l2 @ 0x5581f1a4f2c0] Raw       :     yuyv422 :           YUYV 4:2:2 : 3840x2160 1920x1080 1280x720 640x480
[video4linux2,v4l2 @ 0x5581f1a4f2c0] Raw       :        nv12 :       Y/CbCr 4:2:0 : 3840x2160 1920x1080
[video4linux2,v4l2 @ 0x5581f1a4f2c0] Compressed: Unsupported :                 HEVC : 1920x1080
/dev/video2: Immediate exit requested
`;

const RANGE_LIST = `[video4linux2,v4l2 @ 0x5612a0b1c3d0] Raw       :     yuyv422 :           YUYV 4:2:2 : {32-1280, 2}x{32-720, 2}
[video4linux2,v4l2 @ 0x5612a0b1c3d0] Compressed:       mjpeg :          Motion-JPEG : Emulated : 640x480 320x240
/dev/video4: Immediate exit requested
`;

describe('v4l2 formats, from ffmpeg -list_formats', () => {
  it('reads formats and sizes from the text ffmpeg prints', () => {
    const formats = parseV4l2Formats(MS2109_LIST);
    expect(formats.map((f) => [f.compressed, f.name, f.description])).toEqual([
      [true, 'mjpeg', 'Motion-JPEG'],
      [false, 'yuyv422', 'YUYV 4:2:2'],
    ]);
    expect(formats[0].sizes).toHaveLength(11);
    expect(formats[0].sizes[0]).toEqual({ width: 1920, height: 1080 });
    expect(formats[1].sizes.at(-1)).toEqual({ width: 640, height: 480 });

    const cam = parseV4l2Formats(CAMLINK_LIST);
    expect(cam.map((f) => f.name)).toEqual(['yuyv422', 'nv12', 'Unsupported']);
    const range = parseV4l2Formats(RANGE_LIST);
    expect(range[0].range).toEqual({ minWidth: 32, maxWidth: 1280, stepWidth: 2, minHeight: 32, maxHeight: 720, stepHeight: 2 });
    expect(range[0].sizes).toEqual([]);
    expect(range[1]).toMatchObject({ name: 'mjpeg', emulated: true, sizes: [{ width: 640, height: 480 }, { width: 320, height: 240 }] });
  });

  it('prefers MJPEG at 1920x1080, else the largest YUYV that does 5 fps', () => {
    const ms2109 = chooseV4l2Mode(parseV4l2Formats(MS2109_LIST));
    expect(ms2109).toMatchObject({ inputFormat: 'mjpeg', width: 1920, height: 1080, fps: 30, passthrough: true });

    // 3840x2160 YUYV is 16.6 MB a frame: under 2 fps over USB 2.0. 1920x1080 still does 5.
    const camlink = chooseV4l2Mode(parseV4l2Formats(CAMLINK_LIST));
    expect(camlink).toMatchObject({ inputFormat: 'yuyv422', width: 1920, height: 1080, passthrough: false });

    // Known rates: the highest up to 30.
    const withRates = parseV4l2Formats(MS2109_LIST);
    withRates[0].sizes[0].fps = [60, 50, 30, 25, 5];
    expect(chooseV4l2Mode(withRates).fps).toBe(30);
    // A YUYV size whose known rates stay under 5 is passed over.
    const slow = parseV4l2Formats(CAMLINK_LIST);
    slow[0].sizes[1].fps = [3];
    expect(chooseV4l2Mode(slow)).toMatchObject({ inputFormat: 'yuyv422', width: 1280, height: 720 });

    // A range: the size nearest 1080p inside it (YUYV 1280x720 here, before the emulated MJPEG 640x480).
    expect(chooseV4l2Mode(parseV4l2Formats(RANGE_LIST))).toMatchObject({ inputFormat: 'yuyv422', width: 1280, height: 720 });
  });

  it('lets an option force format, size and rate, and says what is offered when it cannot', () => {
    const formats = parseV4l2Formats(MS2109_LIST);
    expect(chooseV4l2Mode(formats, { format: 'yuyv' })).toMatchObject({ inputFormat: 'yuyv422', width: 1920, height: 1080 });
    expect(chooseV4l2Mode(formats, { format: 'yuyv', size: { width: 640, height: 480 }, fps: 30 }))
      .toMatchObject({ inputFormat: 'yuyv422', width: 640, height: 480, fps: 30, passthrough: false });
    expect(chooseV4l2Mode(formats, { size: { width: 1280, height: 720 }, fps: 15 })).toMatchObject({ inputFormat: 'mjpeg', width: 1280, height: 720, fps: 15 });
    expect(() => chooseV4l2Mode(formats, { format: 'h264' })).toThrow(/does not offer format 'h264'; it offers: mjpeg 1920x1080 .*; yuyv422 /);
    expect(() => chooseV4l2Mode(formats, { size: { width: 3840, height: 2160 } })).toThrow(/does not offer 3840x2160/);
    expect(() => chooseV4l2Mode(parseV4l2Formats('nothing here'))).toThrow(/offers nothing ffmpeg can capture; it offers: nothing/);
  });
});

describe('ffmpeg arguments', () => {
  it('passes a grabber\'s MJPEG through and encodes raw frames to JPEG', () => {
    const mjpeg = ffmpegArgs({ kind: 'v4l2', device: '/dev/video0' }, {
      mode: { inputFormat: 'mjpeg', width: 1920, height: 1080, fps: 30, passthrough: true, why: '' }, passthrough: true, quality: 3, version: VERSION,
    }).join(' ');
    expect(mjpeg).toContain('-f v4l2 -input_format mjpeg -video_size 1920x1080 -framerate 30 -i /dev/video0');
    expect(mjpeg).toContain('-c:v copy');
    expect(mjpeg).toMatch(/-f mjpeg pipe:1$/);

    const yuyv = ffmpegArgs({ kind: 'v4l2', device: '/dev/video0' }, {
      mode: { inputFormat: 'yuyv422', width: 1280, height: 720, fps: 10, passthrough: false, why: '' }, passthrough: false, quality: 3, version: VERSION,
    }).join(' ');
    expect(yuyv).toContain('-input_format yuyv422 -video_size 1280x720 -framerate 10 -i /dev/video0');
    expect(yuyv).toContain('-c:v mjpeg -q:v 3 -pix_fmt yuvj420p');
    // Older ffmpeg has -vsync where 5.1 has -fps_mode.
    expect(ffmpegArgs({ kind: 'v4l2', device: '/dev/video0' }, { mode: null, passthrough: false, quality: 3, version: { text: '', major: 4, minor: 4 } }))
      .toContain('-vsync');
  });

  it('builds DirectShow and AVFoundation inputs', () => {
    expect(deviceInputArgs({ kind: 'dshow', name: 'USB Video' }, null)).toEqual(['-f', 'dshow', '-rtbufsize', '256M', '-i', 'video=USB Video']);
    expect(deviceInputArgs({ kind: 'dshow', name: 'video=USB3. 0 capture', wish: { format: 'mjpeg', size: { width: 1920, height: 1080 }, fps: 30 } }, null))
      .toEqual(['-f', 'dshow', '-rtbufsize', '256M', '-video_size', '1920x1080', '-framerate', '30', '-vcodec', 'mjpeg', '-i', 'video=USB3. 0 capture']);
    expect(deviceInputArgs({ kind: 'dshow', name: 'Cam Link 4K', wish: { format: 'yuyv' } }, null)).toContain('yuyv422');
    expect(deviceInputArgs({ kind: 'avfoundation', name: '0' }, null)).toEqual(['-f', 'avfoundation', '-framerate', '30', '-pixel_format', 'uyvy422', '-i', '0:none']);
    expect(deviceInputArgs({ kind: 'avfoundation', name: 'USB3. 0 capture', wish: { size: { width: 1280, height: 720 }, fps: 60 } }, null))
      .toEqual(['-f', 'avfoundation', '-framerate', '60', '-video_size', '1280x720', '-pixel_format', 'uyvy422', '-i', 'USB3. 0 capture:none']);
  });

  it('paces test sources and files, keeps the user\'s own codec, and splits quoted arguments', () => {
    expect(splitArgs(`-f lavfi -i "testsrc2=size=1280x720:rate=10" -vf 'drawtext=text=a b' x\\ y`))
      .toEqual(['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=10', '-vf', 'drawtext=text=a b', 'x y']);
    expect(() => splitArgs('-i "open')).toThrow(UsageError);
    expect(withRealtimeInputs(['-f', 'lavfi', '-i', 'testsrc2'])).toEqual(['-f', 'lavfi', '-re', '-i', 'testsrc2']);
    expect(withRealtimeInputs(['-i', 'http://host/stream'])).toEqual(['-i', 'http://host/stream']);
    expect(withRealtimeInputs(['-re', '-f', 'lavfi', '-i', 'testsrc2'])).toEqual(['-re', '-f', 'lavfi', '-i', 'testsrc2']);
    const own = ffmpegArgs({ kind: 'args', args: ['-i', 'http://h/s', '-c:v', 'copy'] }, { mode: null, passthrough: true, quality: 3, version: VERSION });
    expect(own.filter((a) => a === '-c:v')).toHaveLength(1);
  });
});

describe('capture specs', () => {
  it('tells every form apart', () => {
    expect(parseCaptureSpec('http://127.0.0.1:8080/stream')).toEqual({ kind: 'mjpeg-http', url: 'http://127.0.0.1:8080/stream' });
    expect(parseCaptureSpec('/dev/video0')).toEqual({ kind: 'ffmpeg', input: { kind: 'v4l2', device: '/dev/video0', wish: {} } });
    expect(parseCaptureSpec('v4l2:/dev/v4l/by-id/usb-MACROSILICON_USB_Video-video-index0?format=yuyv&size=1280x720&fps=10')).toEqual({
      kind: 'ffmpeg',
      input: { kind: 'v4l2', device: '/dev/v4l/by-id/usb-MACROSILICON_USB_Video-video-index0', wish: { format: 'yuyv', size: { width: 1280, height: 720 }, fps: 10 } },
    });
    expect(parseCaptureSpec('dshow:USB Video')).toMatchObject({ input: { kind: 'dshow', name: 'USB Video' } });
    expect(parseCaptureSpec('avfoundation:1?fps=60')).toMatchObject({ input: { kind: 'avfoundation', name: '1', wish: { fps: 60 } } });
    expect(parseCaptureSpec('ffmpeg:-f lavfi -i testsrc2')).toMatchObject({ input: { kind: 'args', args: ['-f', 'lavfi', '-i', 'testsrc2'] } });
    expect(parseCaptureSpec(tmpdir())).toMatchObject({ kind: 'folder' });
    expect(parseCaptureSpec('pikvm:https://pikvm.lab')).toEqual({ kind: 'pikvm', spec: 'pikvm:https://pikvm.lab' });
  });

  it('refuses a bad spec with a usage error that names it and the accepted forms', () => {
    for (const [spec, why] of [
      ['rtsp://cam/stream', /unknown kind 'rtsp:'/],
      ['/dev/video0?size=big', /size 'big': expected WIDTHxHEIGHT/],
      ['/dev/video0?colour=red', /unknown option 'colour'/],
      ['ffmpeg:-f lavfi', /needs an input, -i INPUT/],
      ['folder:/no/such/dir', /is not a directory/],
      ['nowhere-at-all', /no such directory, device or URL/],
      ['', /empty/],
    ] as const) {
      let error: unknown;
      try {
        parseCaptureSpec(spec);
      } catch (e) {
        error = e;
      }
      expect(error, spec).toBeInstanceOf(UsageError);
      expect((error as Error).message).toMatch(why);
      expect((error as Error).message).toContain(`capture '${spec}'`);
      expect((error as Error).message).toContain('accepted forms: http(s)://');
    }
  });

  it('lists video devices with their by-id names, and none on a machine without them', () => {
    const empty = mkdtempSync(join(tmpdir(), 'ahil-dev-'));
    expect(listVideoDevices(empty)).toEqual([]);
    expect(listVideoDevices(join(empty, 'missing'))).toEqual([]);
    const dev = mkdtempSync(join(tmpdir(), 'ahil-dev-'));
    for (const n of ['video10', 'video2', 'video0', 'null']) writeFileSync(join(dev, n), '');
    mkdirSync(join(dev, 'v4l', 'by-id'), { recursive: true });
    symlinkSync('../../video2', join(dev, 'v4l', 'by-id', 'usb-MACROSILICON_USB_Video-video-index0'));
    const devices = listVideoDevices(dev);
    expect(devices.map((d) => d.path)).toEqual([join(dev, 'video0'), join(dev, 'video2'), join(dev, 'video10')]);
    expect(devices[1].links).toEqual([join(dev, 'v4l', 'by-id', 'usb-MACROSILICON_USB_Video-video-index0')]);
  });

  it('says what is wrong with a device that is not there', async () => {
    await expect(probeFormats('/dev/video99')).rejects.toThrow(/\/dev\/video99.*No such file or directory/);
  });

  it('hands pikvm: to the PiKVM driver (or says it is not there yet)', async () => {
    await expect(openCaptureSpec('pikvm:https://pikvm.invalid')).rejects.toThrow(/PiKVM/);
  });
});

describe('JPEG stream splitting', () => {
  it('splits concatenated JPEGs however the chunks fall, and reads their size', async () => {
    const a = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#c00' } }).jpeg().toBuffer();
    const b = await sharp({ create: { width: 320, height: 200, channels: 3, background: '#00c' } }).jpeg().toBuffer();
    const stream = Buffer.concat([Buffer.from('junk'), a, b, a]);
    for (const size of [1, 7, 100, stream.length]) {
      const splitter = new JpegStreamSplitter();
      const frames: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) frames.push(...splitter.push(stream.subarray(i, i + size)));
      expect(frames.map((f) => f.length), `chunks of ${size}`).toEqual([a.length, b.length, a.length]);
      expect(frames[1].equals(b)).toBe(true);
    }
    expect(jpegSize(b)).toEqual({ width: 320, height: 200 });
    expect(jpegSize(Buffer.from('not a jpeg'))).toBeNull();
  });
});

// --- Real ffmpeg ----------------------------------------------------------------------------------------

let open: FrameSource[] = [];
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  open = [];
});

describe('ffmpeg test source', () => {
  it('gives decodable JPEG frames of the source\'s size, seq going up', async () => {
    const source = await openCaptureSpec('ffmpeg:-f lavfi -i testsrc2=size=1280x720:rate=10');
    open.push(source);
    expect(source.description).toContain('testsrc2');
    let frame = await source.latest();
    const seqs = [frame.seq];
    for (let i = 0; i < 4; i++) {
      frame = await source.next(frame.seq);
      seqs.push(frame.seq);
      expect(await sizeOf(frame.data)).toBe('1280x720');
    }
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
    // testsrc2 is a moving colour pattern, not a blank frame.
    const stats = await sharp(frame.data).stats();
    expect(Math.max(...stats.channels.map((c) => c.stdev))).toBeGreaterThan(20);
  });
});

/** An MJPEG server the test steers: it can change the size of what it sends, and go silent for a while. */
class ChangingStream {
  server!: Server;
  url = '';
  connections = 0;
  private clients: ServerResponse[] = [];
  private frames: Record<string, Buffer> = {};
  size = '1280x720';
  private silentUntil = 0;
  private ticker: NodeJS.Timeout | null = null;

  async start(): Promise<void> {
    // Red at 1280x720, blue at 1920x1080: the colour tells that a frame is the real picture, not a rescale.
    this.frames['1280x720'] = await sharp({ create: { width: 1280, height: 720, channels: 3, background: { r: 200, g: 30, b: 30 } } }).jpeg().toBuffer();
    this.frames['1920x1080'] = await sharp({ create: { width: 1920, height: 1080, channels: 3, background: { r: 30, g: 30, b: 200 } } }).jpeg().toBuffer();
    this.server = createServer((req, res) => {
      this.connections++;
      res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace; boundary=ahilframe', 'Cache-Control': 'no-store' });
      this.clients.push(res);
      res.on('close', () => { this.clients = this.clients.filter((c) => c !== res); });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/stream`;
    this.ticker = setInterval(() => this.send(), 100);
  }

  /** Sends nothing for `ms` (the connections stay open). */
  goSilent(ms: number): void {
    this.silentUntil = Date.now() + ms;
  }

  private send(): void {
    if (Date.now() < this.silentUntil) return;
    const jpeg = this.frames[this.size];
    for (const c of this.clients) {
      c.write(`--ahilframe\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`);
      c.write(jpeg);
      c.write('\r\n');
    }
  }

  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    for (const c of this.clients) c.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('ffmpeg on a live stream', () => {
  let stream: ChangingStream;
  beforeAll(async () => {
    stream = new ChangingStream();
    await stream.start();
  });
  afterAll(async () => {
    await stream.stop();
  });

  for (const [how, extra, reason] of [
    ['encoded (the change seen in ffmpeg\'s log)', '', /the input resolution changed from 1280x720 to 1920x1080/],
    ['passed through (the change seen in the JPEG header)', ' -c:v copy', /the resolution changed from 1280x720 to 1920x1080/],
  ] as const) {
    it(`restarts at a resolution change and gives frames of the new size: ${how}`, async () => {
      stream.size = '1280x720';
      const source = (await openCaptureSpec(`ffmpeg:-i ${stream.url}${extra}`)) as FfmpegSource;
      open.push(source);
      const first = await frameWhere(source, async (f) => (await sizeOf(f.data)) === '1280x720');
      const red = await meanColour(first.frame.data);
      expect(red[0]).toBeGreaterThan(150);
      expect(red[2]).toBeLessThan(80);
      const restartsBefore = source.stats.restarts;

      stream.size = '1920x1080';
      const after = await frameWhere(source, async (f) => (await sizeOf(f.data)) === '1920x1080');
      const blue = await meanColour(after.frame.data);
      expect(blue[2]).toBeGreaterThan(150);
      expect(blue[0]).toBeLessThan(80);
      expect(source.stats.restarts).toBeGreaterThan(restartsBefore);
      expect(source.stats.restartReasons.join('\n')).toMatch(reason);
      // Once restarted, the frames stay at the new size.
      const later = await source.next(after.frame.seq);
      expect(await sizeOf(later.data)).toBe('1920x1080');
      // seq keeps counting across the restart.
      const seqs = [...first.seqs, ...after.seqs, later.seq];
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(after.frame.seq).toBeGreaterThan(first.frame.seq);
      expect(later.seq).toBeGreaterThan(after.frame.seq);
    });
  }

  it('restarts ffmpeg when the stream stalls, and frames come again', async () => {
    stream.size = '1280x720';
    const source = (await openCaptureSpec(`ffmpeg:-i ${stream.url}`, { stallMs: 2000 })) as FfmpegSource;
    open.push(source);
    const before = await source.latest();
    const connections = stream.connections;
    stream.goSilent(5000);
    const again = await frameWhere(source, async (f) => f.seq > before.seq, 40_000);
    expect(again.frame.seq).toBeGreaterThan(before.seq);
    expect(await sizeOf(again.frame.data)).toBe('1280x720');
    expect(source.stats.restartReasons.join('\n')).toMatch(/no frame for 2000 ms/);
    expect(stream.connections).toBeGreaterThan(connections);
  });
});

describe('ffmpeg that fails', () => {
  it('gives up after the restarts allowed, with what ffmpeg said', async () => {
    const error = await openCaptureSpec('ffmpeg:-i /nonexistent/recording.mp4', { ffmpeg: { maxRestarts: 2, backoffMs: { first: 50, max: 100 } } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunFailure);
    expect((error as RunFailure).category).toBe('infrastructure');
    expect((error as Error).message).toMatch(/no video after 3 attempts in a row/);
    expect((error as Error).message).toMatch(/\/nonexistent\/recording\.mp4: No such file or directory/);
  });

  it('names the device that cannot be opened', async () => {
    const error = await openCaptureSpec('/dev/video99', { ffmpeg: { maxRestarts: 1, backoffMs: { first: 50, max: 50 } } }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/v4l2 \/dev\/video99.*No such file or directory/);
  });

  it('says to install ffmpeg when there is none', async () => {
    const source = new FfmpegSource({ kind: 'args', args: ['-f', 'lavfi', '-i', 'testsrc2'] }, { ffmpegPath: '/nonexistent/bin/ffmpeg' });
    open.push(source);
    const error = await source.latest(20_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunFailure);
    expect((error as Error).message).toMatch(/ffmpeg not found \('\/nonexistent\/bin\/ffmpeg'\): install it \(Debian\/Ubuntu: apt-get install ffmpeg/);
    expect(source.stats.starts).toBe(0);
  });
});

describe('ffmpeg reading the virtual device', () => {
  let sim: SimProcess;
  let recognizer: Recognizer;
  beforeAll(async () => {
    [sim, recognizer] = await Promise.all([startSim(['--scenario', 'win11', '--serial', 'tcp']), Recognizer.create({ workers: 1 })]);
  });
  afterAll(async () => {
    await Promise.allSettled([sim?.stop(), recognizer?.close()]);
  });

  it('gives frames the Recognizer reads as the screen the device says it shows', async () => {
    const source = await openFfmpeg({ kind: 'args', args: ['-i', sim.info.video] });
    open.push(source);
    // The device moves on by itself at first (boot, busy screens) and draws a new screen a little after its
    // /state says it: read a frame once /state has said the same screen for a second and a half of frames.
    let screen = '';
    let since = 0;
    let frame = await source.latest();
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      frame = await source.next(frame.seq);
      const now = (await sim.state()).screen;
      if (now !== screen) [screen, since] = [now, frame.at];
      else if (frame.at - since >= 1500) break;
    }
    expect(await sizeOf(frame.data)).toMatch(/^\d+x\d+$/);
    const recognized = (await recognizer.read(frame.data)).screen;
    expect((await sim.state()).screen).toBe(screen);
    expect(screen).not.toBe('');
    expect(recognized).toBe(screen);
  });
});
