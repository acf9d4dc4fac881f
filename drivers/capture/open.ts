// A capture spec string (from --capture or a bench file) to a frame source, and what a doctor needs to
// know about the machine's grabbers. The one place that knows every kind of capture.
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.ts';
import { openFfmpeg, probeV4l2Formats, splitArgs, type FfmpegInput, type FfmpegOptions } from './ffmpeg.ts';
import { untilFirstFrame } from './first-frame.ts';
import { FolderSource, type FolderOptions } from './folder.ts';
import { openCapture, type MjpegHttpOptions } from './mjpeg-http.ts';
import type { FrameSource } from './types.ts';
import { chooseV4l2Mode, describeFormats, type V4l2Format, type V4l2Mode, type V4l2Wish } from './v4l2-formats.ts';

export { ffmpegVersion } from './ffmpeg.ts';

export type CaptureSpec =
  | { kind: 'mjpeg-http'; url: string }
  | { kind: 'ffmpeg'; input: FfmpegInput }
  | { kind: 'folder'; dir: string; options: FolderOptions }
  | { kind: 'pikvm'; spec: string };

export interface OpenCaptureOptions {
  /** How long to wait for the first frame. */
  openTimeoutMs?: number;
  /** No frame for this long: reconnect (HTTP) or restart ffmpeg. */
  stallMs?: number;
  /** Default wait of latest() and next(). */
  frameTimeoutMs?: number;
  mjpeg?: MjpegHttpOptions;
  ffmpeg?: FfmpegOptions;
  folder?: FolderOptions;
}

export const CAPTURE_FORMS = [
  'http(s)://HOST/PATH (an MJPEG stream: ustreamer, mjpg-streamer, PiKVM, the virtual device)',
  '/dev/videoN or v4l2:/dev/videoN[?format=mjpeg|yuyv&size=WxH&fps=N] (a grabber through ffmpeg)',
  'dshow:NAME[?…] (Windows)',
  'avfoundation:NAME|INDEX[?…] (macOS)',
  'ffmpeg:INPUT-ARGS (any ffmpeg input, e.g. ffmpeg:-f lavfi -i testsrc2=size=1280x720:rate=10)',
  'folder:DIR[?fps=N&end=loop|hold&watch=0] or an existing directory (images in name order)',
  'pikvm:… (PiKVM)',
];

function usage(spec: string, why: string): UsageError {
  return new UsageError(`capture '${spec}': ${why}; accepted forms: ${CAPTURE_FORMS.join('; ')}`);
}

/** Splits "BODY?key=value&flag" into the body and its options (keys lower-cased). */
function splitQuery(text: string): { body: string; query: Map<string, string> } {
  const at = text.lastIndexOf('?');
  if (at < 0) return { body: text, query: new Map() };
  const query = new Map<string, string>();
  for (const part of text.slice(at + 1).split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    query.set(key, eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1).trim()));
  }
  return { body: text.slice(0, at), query };
}

function deviceWish(spec: string, query: Map<string, string>): V4l2Wish {
  const wish: V4l2Wish = {};
  for (const [key, value] of query) {
    if (key === 'format') {
      if (!/^[a-z0-9_]+$/i.test(value)) throw usage(spec, `format '${value}': expected mjpeg, yuyv or another of ffmpeg's pixel format names`);
      wish.format = value;
    } else if (key === 'size') {
      const m = /^(\d{2,5})x(\d{2,5})$/i.exec(value);
      if (!m) throw usage(spec, `size '${value}': expected WIDTHxHEIGHT, e.g. 1920x1080`);
      wish.size = { width: Number(m[1]), height: Number(m[2]) };
    } else if (key === 'fps') {
      const fps = Number(value);
      if (!(fps > 0 && fps <= 240)) throw usage(spec, `fps '${value}': expected a number above 0, at most 240`);
      wish.fps = fps;
    } else {
      throw usage(spec, `unknown option '${key}' (a device takes format, size and fps)`);
    }
  }
  return wish;
}

function folderOptions(spec: string, query: Map<string, string>): FolderOptions {
  const options: FolderOptions = {};
  for (const [key, value] of query) {
    if (key === 'fps') {
      const fps = Number(value);
      if (!(fps > 0 && fps <= 120)) throw usage(spec, `fps '${value}': expected a number above 0, at most 120`);
      options.fps = fps;
    } else if (key === 'end') {
      if (value !== 'loop' && value !== 'hold') throw usage(spec, `end '${value}': expected loop or hold`);
      options.atEnd = value;
    } else if (key === 'loop') {
      options.atEnd = 'loop';
    } else if (key === 'hold') {
      options.atEnd = 'hold';
    } else if (key === 'watch') {
      options.watch = !['0', 'false', 'no', 'off'].includes(value.toLowerCase());
    } else {
      throw usage(spec, `unknown option '${key}' (a folder takes fps, end and watch)`);
    }
  }
  return options;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Checks a spec and says what it is, without opening anything (a bench file is validated with it). */
export function parseCaptureSpec(spec: string): CaptureSpec {
  const text = spec.trim();
  if (!text) throw usage(spec, 'empty');
  if (/^https?:\/\//i.test(text)) {
    try {
      new URL(text);
    } catch {
      throw usage(spec, 'not a valid URL');
    }
    return { kind: 'mjpeg-http', url: text };
  }
  const scheme = /^([a-z][a-z0-9]*):(.*)$/is.exec(text);
  const kind = scheme?.[1].toLowerCase();
  if (kind === 'v4l2' || text.startsWith('/dev/')) {
    const { body, query } = splitQuery(kind === 'v4l2' ? scheme![2] : text);
    if (!/^\/dev\/\S+$/.test(body)) throw usage(spec, `'${body}' is not a device path (/dev/videoN, /dev/v4l/by-id/…)`);
    return { kind: 'ffmpeg', input: { kind: 'v4l2', device: body, wish: deviceWish(spec, query) } };
  }
  if (kind === 'dshow' || /^video=/i.test(text)) {
    const { body, query } = splitQuery(kind === 'dshow' ? scheme![2] : text);
    const name = body.replace(/^video=/i, '').trim();
    if (!name) throw usage(spec, 'no device name (see ffmpeg -list_devices true -f dshow -i dummy)');
    return { kind: 'ffmpeg', input: { kind: 'dshow', name, wish: deviceWish(spec, query) } };
  }
  if (kind === 'avfoundation') {
    const { body, query } = splitQuery(scheme![2]);
    const name = body.trim();
    if (!name) throw usage(spec, 'no device name or index (see ffmpeg -f avfoundation -list_devices true -i "")');
    return { kind: 'ffmpeg', input: { kind: 'avfoundation', name, wish: deviceWish(spec, query) } };
  }
  if (kind === 'ffmpeg') {
    const args = splitArgs(scheme![2]);
    if (!args.includes('-i') || args.indexOf('-i') === args.length - 1) throw usage(spec, 'ffmpeg: needs an input, -i INPUT');
    return { kind: 'ffmpeg', input: { kind: 'args', args } };
  }
  if (kind === 'folder') {
    const { body, query } = splitQuery(scheme![2]);
    const dir = body.trim();
    if (!dir) throw usage(spec, 'no folder given');
    if (!isDirectory(dir)) throw usage(spec, `'${dir}' is not a directory`);
    return { kind: 'folder', dir: resolve(dir), options: folderOptions(spec, query) };
  }
  if (kind === 'pikvm') return { kind: 'pikvm', spec: text };
  if (isDirectory(text)) return { kind: 'folder', dir: resolve(text), options: {} };
  if (scheme && kind!.length > 1) throw usage(spec, `unknown kind '${scheme[1]}:'`);
  throw usage(spec, existsSync(text) ? 'a file, not a directory or a device (for a video file: ffmpeg:-i FILE)' : 'no such directory, device or URL');
}

/** Opens a capture spec and waits for its first frame. Bad specs are usage errors (exit 64). */
export async function openCaptureSpec(spec: string, opts: OpenCaptureOptions = {}): Promise<FrameSource> {
  const parsed = parseCaptureSpec(spec);
  const openTimeoutMs = opts.openTimeoutMs;
  switch (parsed.kind) {
    case 'mjpeg-http':
      return openCapture(parsed.url, { ...streamTimings(opts), ...opts.mjpeg, ...(openTimeoutMs ? { openTimeoutMs } : {}) });
    case 'ffmpeg':
      return openFfmpeg(parsed.input, { ...streamTimings(opts), ...opts.ffmpeg, ...(openTimeoutMs ? { openTimeoutMs } : {}) });
    case 'folder': {
      const source = new FolderSource(parsed.dir, { ...(opts.frameTimeoutMs ? { frameTimeoutMs: opts.frameTimeoutMs } : {}), ...parsed.options, ...opts.folder });
      return untilFirstFrame(source, source.latest(openTimeoutMs ?? 10_000));
    }
    case 'pikvm':
      return openPikvm(parsed.spec, spec, opts);
  }
}

/** The stall and frame timeouts given for every stream (HTTP or ffmpeg); the driver's own options override them. */
function streamTimings(opts: OpenCaptureOptions): { stallMs?: number; frameTimeoutMs?: number } {
  return {
    ...(opts.stallMs ? { stallMs: opts.stallMs } : {}),
    ...(opts.frameTimeoutMs ? { frameTimeoutMs: opts.frameTimeoutMs } : {}),
  };
}

/** PiKVM's capture lives in its own driver (drivers/capture/pikvm.ts, `openPikvmCapture(spec, opts)`), when there. */
async function openPikvm(text: string, spec: string, opts: OpenCaptureOptions): Promise<FrameSource> {
  const file = fileURLToPath(new URL('./pikvm.ts', import.meta.url));
  if (existsSync(file)) {
    const mod = (await import(/* @vite-ignore */ new URL('./pikvm.ts', import.meta.url).href)) as {
      openPikvmCapture?: (spec: string, opts: OpenCaptureOptions) => Promise<FrameSource>;
    };
    if (typeof mod.openPikvmCapture === 'function') return mod.openPikvmCapture(text, opts);
  }
  throw usage(spec, 'PiKVM capture is not supported yet (use its MJPEG stream: https://PIKVM/streamer/stream)');
}

// --- For doctor -------------------------------------------------------------------------------------

export interface VideoDevice {
  /** /dev/videoN */
  path: string;
  /** Its stable names under /dev/v4l/by-id/ (and by-path). */
  links: string[];
  /** The driver's name for it (/sys/class/video4linux/videoN/name), when known. */
  name: string | null;
  /** The node's index on its device: 0 is the picture; UVC grabbers add a metadata node with index 1. */
  index: number | null;
}

function readSys(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

/** The video devices of this machine (Linux): /dev/video* with their by-id names. None: []. */
export function listVideoDevices(devDir = '/dev'): VideoDevice[] {
  let names: string[];
  try {
    names = readdirSync(devDir).filter((n) => /^video\d+$/.test(n));
  } catch {
    return [];
  }
  names.sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  const links = new Map<string, string[]>();
  for (const sub of ['v4l/by-id', 'v4l/by-path']) {
    const dir = join(devDir, sub);
    let entries: string[] = [];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const link = join(dir, entry);
      let target: string;
      try {
        target = realpathSync(link);
      } catch {
        try {
          target = resolve(dir, readlinkSync(link));
        } catch {
          continue;
        }
      }
      const list = links.get(basename(target)) ?? [];
      list.push(link);
      links.set(basename(target), list);
    }
  }
  return names.map((n) => {
    const index = readSys(`/sys/class/video4linux/${n}/index`);
    return {
      path: join(devDir, n),
      links: links.get(n) ?? [],
      name: readSys(`/sys/class/video4linux/${n}/name`),
      index: index === null || index === '' ? null : Number(index),
    };
  });
}

export interface FormatProbe {
  device: string;
  formats: V4l2Format[];
  /** What a capture of this device would ask for, or null when nothing fits (with `problem` saying why). */
  chosen: V4l2Mode | null;
  problem?: string;
  /** One line: "mjpeg 1920x1080 1280x720; yuyv422 640x480". */
  summary: string;
}

/** What a v4l2 device offers and what would be captured. Throws (with ffmpeg's words) when it cannot be opened. */
export async function probeFormats(device: string, opts: { ffmpegPath?: string; wish?: V4l2Wish } = {}): Promise<FormatProbe> {
  const formats = await probeV4l2Formats(device, opts.ffmpegPath);
  const summary = describeFormats(formats);
  try {
    return { device, formats, chosen: chooseV4l2Mode(formats, opts.wish), summary };
  } catch (error) {
    return { device, formats, chosen: null, problem: (error as Error).message, summary };
  }
}
