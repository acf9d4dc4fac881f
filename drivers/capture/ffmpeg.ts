// Frames from ffmpeg as a child process: a v4l2 grabber on Linux (MJPEG passed through, raw YUYV encoded
// to JPEG), a DirectShow device on Windows, an AVFoundation device on macOS, or any ffmpeg input. ffmpeg
// writes JPEGs to its stdout (`-f mjpeg`); they are split by their markers. The stream is restarted when it
// stalls, when ffmpeg ends, or when the picture's resolution changes (so size and format are chosen anew),
// with a bounded backoff; seq keeps counting across restarts. After too many failures in a row the source
// fails with what ffmpeg last said.
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { RunFailure, UsageError } from '../errors.ts';
import { untilFirstFrame } from './first-frame.ts';
import { JpegStreamSplitter, jpegHasHuffmanTables, jpegSize, type ImageSize } from './jpeg-stream.ts';
import { NewestFrame } from './newest-frame.ts';
import type { Frame, FrameSource } from './types.ts';
import { chooseV4l2Mode, normalizeFormatName, parseV4l2Formats, type V4l2Format, type V4l2Mode, type V4l2Wish } from './v4l2-formats.ts';

/** What ffmpeg reads. `wish` forces the format (mjpeg, yuyv, ...), size or rate; otherwise they are chosen. */
export type FfmpegInput =
  | { kind: 'v4l2'; device: string; wish?: V4l2Wish }
  | { kind: 'dshow'; name: string; wish?: V4l2Wish }
  | { kind: 'avfoundation'; name: string; wish?: V4l2Wish }
  /** ffmpeg's own input options, up to and including `-i INPUT` (output options after it are kept too). */
  | { kind: 'args'; args: string[] };

export interface FfmpegOptions {
  /** The ffmpeg program (default: $AUTOPILOT_HIL_FFMPEG, else `ffmpeg` on the PATH). */
  ffmpegPath?: string;
  /** No frame for this long: ffmpeg is stalled, restart it. */
  stallMs?: number;
  /** How long a fresh ffmpeg may take to its first frame (opening a device, probing a stream). */
  startTimeoutMs?: number;
  /** Delay before a restart after a failure: from `first`, doubling up to `max`; back to `first` after a frame. */
  backoffMs?: { first: number; max: number };
  /** Failed starts in a row (no frame, or ffmpeg ended) after which the source gives up. */
  maxRestarts?: number;
  /** Default wait of latest() and next(). */
  frameTimeoutMs?: number;
  /** JPEG quality of encoded frames, as ffmpeg's -q:v (2 best .. 31 worst). */
  quality?: number;
  /** Called on starts, restarts and the final failure, for the run's log. */
  onEvent?: (event: FfmpegEvent) => void;
}

export interface FfmpegEvent {
  type: 'start' | 'restart' | 'failed';
  message: string;
}

export interface FfmpegStats {
  frames: number;
  /** ffmpeg processes started. */
  starts: number;
  restarts: number;
  /** Why each restart happened, newest last (the last 20). */
  restartReasons: string[];
  /** The v4l2 mode in use, when the input is a v4l2 device. */
  mode: V4l2Mode | null;
  /** The size of the frames of the current ffmpeg. */
  size: ImageSize | null;
  /** The arguments of the current (or last) ffmpeg. */
  args: string[];
  /** ffmpeg's last warnings and errors. */
  stderrTail: string[];
  lastError: string | null;
}

interface Run {
  id: number;
  child: ChildProcess;
  passthrough: boolean;
  /** The frame size of this run's first frame. */
  size: ImageSize | null;
  /** The input size ffmpeg's filter graph was first set up for (from its verbose log). */
  inputSize: ImageSize | null;
  frames: number;
  stopping: boolean;
}

const INSTALL_HINT = 'install it (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg; Windows: winget install ffmpeg) or point AUTOPILOT_HIL_FFMPEG at it';
const STDERR_LINES = 20;

export function defaultFfmpegPath(): string {
  return process.env.AUTOPILOT_HIL_FFMPEG || 'ffmpeg';
}

// --- ffmpeg itself --------------------------------------------------------------------------------------

export interface FfmpegVersion {
  text: string;
  major: number;
  minor: number;
}

const versions = new Map<string, Promise<FfmpegVersion>>();

/** ffmpeg's version (cached per path); a missing ffmpeg is an infrastructure failure that says how to install it. */
export function ffmpegVersion(ffmpegPath = defaultFfmpegPath()): Promise<FfmpegVersion> {
  let known = versions.get(ffmpegPath);
  if (!known) {
    known = runFfmpeg(ffmpegPath, ['-hide_banner', '-version'], 10_000).then(({ stdout, code }) => {
      const first = stdout.split('\n')[0]?.trim() ?? '';
      const m = /^ffmpeg version \D*(\d+)\.(\d+)/.exec(first);
      if (code !== 0 || !first.startsWith('ffmpeg version')) {
        throw new RunFailure('infrastructure', `'${ffmpegPath} -version' did not answer like ffmpeg (exit ${code}): ${first || '(nothing)'}`, 'ffmpeg-missing');
      }
      // A git build ("ffmpeg version N-112233-g…") is newer than any release.
      return { text: first, major: m ? Number(m[1]) : 99, minor: m ? Number(m[2]) : 0 };
    });
    known.catch(() => versions.delete(ffmpegPath));
    versions.set(ffmpegPath, known);
  }
  return known;
}

/** Runs ffmpeg to its end; a missing program becomes a clear error. */
export function runFfmpeg(ffmpegPath: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(ffmpegSpawnError(ffmpegPath, error));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function ffmpegSpawnError(ffmpegPath: string, error: NodeJS.ErrnoException): Error {
  if (error.code === 'ENOENT') return new RunFailure('infrastructure', `ffmpeg not found ('${ffmpegPath}'): ${INSTALL_HINT}`, 'ffmpeg-missing');
  if (error.code === 'EACCES') return new RunFailure('infrastructure', `ffmpeg at '${ffmpegPath}' cannot be run (permission denied)`, 'ffmpeg-missing');
  return new RunFailure('infrastructure', `ffmpeg ('${ffmpegPath}') did not start: ${error.message}`, 'ffmpeg-missing');
}

/**
 * What a v4l2 device offers, from `ffmpeg -f v4l2 -list_formats all`. Throws with ffmpeg's own words when
 * the device cannot be opened (missing, busy, not a capture device).
 */
export async function probeV4l2Formats(device: string, ffmpegPath = defaultFfmpegPath()): Promise<V4l2Format[]> {
  await ffmpegVersion(ffmpegPath);
  const { stderr } = await runFfmpeg(ffmpegPath, ['-hide_banner', '-nostdin', '-f', 'v4l2', '-list_formats', 'all', '-i', device], 15_000);
  const formats = parseV4l2Formats(stderr);
  if (!formats.length) {
    const said = stderr.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !/Immediate exit requested/.test(l)).slice(-2).join('; ');
    throw new Error(`${device}: no capture formats listed${said ? `: ${said}` : ''}`);
  }
  return formats;
}

// --- Arguments --------------------------------------------------------------------------------------

/** Splits an argument string the way a shell would: spaces separate, quotes and backslashes group. */
export function splitArgs(text: string): string[] {
  const args: string[] = [];
  let current = '';
  let inArg = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && (text[i + 1] === '"' || text[i + 1] === '\\')) current += text[++i];
      else current += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inArg = true;
    } else if (c === '\\' && i + 1 < text.length) {
      current += text[++i];
      inArg = true;
    } else if (/\s/.test(c)) {
      if (inArg) args.push(current);
      current = '';
      inArg = false;
    } else {
      current += c;
      inArg = true;
    }
  }
  if (quote) throw new UsageError(`unclosed ${quote} in ffmpeg arguments: ${text}`);
  if (inArg) args.push(current);
  return args;
}

const CODEC_OPTIONS = new Set(['-c:v', '-codec:v', '-vcodec', '-c', '-codec']);

/**
 * Adds `-re` (read at the input's own rate) before a test source or a file, which ffmpeg would otherwise
 * read as fast as it can; a device or a stream comes at its own pace anyway.
 */
export function withRealtimeInputs(args: string[]): string[] {
  const out: string[] = [];
  let sinceInput: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-i' && i + 1 < args.length) {
      const target = args[i + 1];
      const lavfi = sinceInput.some((a, k) => a === '-f' && sinceInput[k + 1] === 'lavfi');
      const paced = sinceInput.includes('-re') || sinceInput.includes('-readrate');
      if (!paced && (lavfi || isFile(target))) out.push('-re');
      out.push('-i', target);
      i++;
      sinceInput = [];
      continue;
    }
    out.push(args[i]);
    sinceInput.push(args[i]);
  }
  return out;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The options after the last `-i INPUT` of user arguments (the user's own output options). */
function userOutputOptions(args: string[]): string[] {
  const last = args.lastIndexOf('-i');
  return last < 0 ? [] : args.slice(last + 2);
}

/** ffmpeg's input options for a device, given the mode chosen (v4l2) or wished (dshow, avfoundation). */
export function deviceInputArgs(input: Exclude<FfmpegInput, { kind: 'args' }>, mode: V4l2Mode | null): string[] {
  const wish = input.wish ?? {};
  switch (input.kind) {
    case 'v4l2': {
      const args = ['-f', 'v4l2'];
      if (mode) args.push('-input_format', mode.inputFormat, '-video_size', `${mode.width}x${mode.height}`, '-framerate', String(mode.fps));
      return [...args, '-i', input.device];
    }
    case 'dshow': {
      // A large real-time buffer: DirectShow drops frames ("real-time buffer too full") with the default.
      const args = ['-f', 'dshow', '-rtbufsize', '256M'];
      if (wish.size) args.push('-video_size', `${wish.size.width}x${wish.size.height}`);
      if (wish.fps) args.push('-framerate', String(wish.fps));
      const format = wish.format ? normalizeFormatName(wish.format) : null;
      if (format === 'mjpeg') args.push('-vcodec', 'mjpeg');
      else if (format) args.push('-pixel_format', format);
      const name = input.name.replace(/^video=/i, '');
      return [...args, '-i', `video=${name}`];
    }
    case 'avfoundation': {
      // AVFoundation refuses ffmpeg's default 29.97 fps on most devices; 30 is what grabbers offer.
      const args = ['-f', 'avfoundation', '-framerate', String(wish.fps ?? 30)];
      if (wish.size) args.push('-video_size', `${wish.size.width}x${wish.size.height}`);
      args.push('-pixel_format', wish.format ? normalizeFormatName(wish.format) : 'uyvy422');
      // "VIDEO:AUDIO": the video device by name or index, no audio.
      const name = input.name.includes(':') ? input.name : `${input.name}:none`;
      return [...args, '-i', name];
    }
  }
}

/** ffmpeg's output options: JPEG frames to stdout, passed through when they already are JPEG. */
export function outputArgs(opts: { passthrough: boolean; quality: number; version: FfmpegVersion; userCodec?: boolean }): string[] {
  const fpsMode = opts.version.major > 5 || (opts.version.major === 5 && opts.version.minor >= 1) ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough'];
  const codec = opts.userCodec ? [] : opts.passthrough ? ['-c:v', 'copy'] : ['-c:v', 'mjpeg', '-q:v', String(opts.quality), '-pix_fmt', 'yuvj420p'];
  return ['-an', '-sn', '-dn', ...fpsMode, ...codec, '-flush_packets', '1', '-f', 'mjpeg', 'pipe:1'];
}

/** The whole command line (after the program name). */
export function ffmpegArgs(input: FfmpegInput, opts: { mode: V4l2Mode | null; passthrough: boolean; quality: number; version: FfmpegVersion }): string[] {
  // level+verbose: every line says its level, and the filter graph's set-up lines tell the input size.
  const global = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'level+verbose'];
  if (input.kind === 'args') {
    const args = withRealtimeInputs(input.args);
    const userCodec = userOutputOptions(args).some((a) => CODEC_OPTIONS.has(a));
    return [...global, ...args, ...outputArgs({ ...opts, userCodec })];
  }
  return [...global, ...deviceInputArgs(input, opts.mode), ...outputArgs(opts)];
}

export function describeFfmpegInput(input: FfmpegInput): string {
  switch (input.kind) {
    case 'v4l2': return `v4l2 ${input.device}`;
    case 'dshow': return `dshow video=${input.name.replace(/^video=/i, '')}`;
    case 'avfoundation': return `avfoundation ${input.name}`;
    case 'args': return `ffmpeg ${maskSecrets(input.args).join(' ')}`;
  }
}

/** A password in a URL argument is never shown. */
function maskSecrets(args: string[]): string[] {
  return args.map((a) => a.replace(/(\/\/[^/:@\s]*:)[^@/\s]*@/, '$1***@'));
}

// --- The source -------------------------------------------------------------------------------------

export class FfmpegSource implements FrameSource {
  readonly description: string;
  private readonly ffmpegPath: string;
  private readonly stallMs: number;
  private readonly startTimeoutMs: number;
  private readonly backoff: { first: number; max: number };
  private readonly maxRestarts: number;
  private readonly frameTimeoutMs: number;
  private readonly quality: number;
  private readonly onEvent: (event: FfmpegEvent) => void;

  /** seq keeps counting across restarts; a failure (giveUp) closes it with its error. */
  private readonly frames = new NewestFrame((ms) => this.timeoutError(ms));
  private run: Run | null = null;
  private runId = 0;
  private failuresInARow = 0;
  /** Frames passed through turned out to lack Huffman tables: encode from now on. */
  private forceEncode = false;
  private stallTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private failure: Error | null = null;
  private readonly stderrTail: string[] = [];
  private readonly counts = { frames: 0, starts: 0, restarts: 0, restartReasons: [] as string[], lastError: null as string | null };
  private mode: V4l2Mode | null = null;
  private args: string[] = [];
  /** The ffmpeg being stopped: the next one waits for it (a v4l2 device opens only once at a time). */
  private stopping: Promise<void> = Promise.resolve();

  constructor(private readonly input: FfmpegInput, options: FfmpegOptions = {}) {
    this.description = describeFfmpegInput(input);
    this.ffmpegPath = options.ffmpegPath ?? defaultFfmpegPath();
    this.stallMs = options.stallMs ?? 5000;
    this.startTimeoutMs = options.startTimeoutMs ?? 15_000;
    this.backoff = options.backoffMs ?? { first: 500, max: 8000 };
    this.maxRestarts = options.maxRestarts ?? 5;
    this.frameTimeoutMs = options.frameTimeoutMs ?? 10_000;
    this.quality = options.quality ?? 3;
    this.onEvent = options.onEvent ?? (() => {});
    void this.start();
  }

  get stats(): FfmpegStats {
    return {
      frames: this.counts.frames,
      starts: this.counts.starts,
      restarts: this.counts.restarts,
      restartReasons: [...this.counts.restartReasons],
      mode: this.mode,
      size: this.run?.size ?? null,
      args: [...this.args],
      stderrTail: [...this.stderrTail],
      lastError: this.counts.lastError,
    };
  }

  /** Resolves at the first frame; rejects when the source gives up (ffmpeg missing, too many failures). */
  ready(timeoutMs = this.startTimeoutMs): Promise<void> {
    return this.frames.ready(timeoutMs);
  }

  latest(timeoutMs = this.frameTimeoutMs): Promise<Frame> {
    return this.frames.latest(timeoutMs);
  }

  /** Only the newest frame is kept: resolves with it once its seq passes `afterSeq`. */
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
    const run = this.run;
    this.run = null;
    this.runId++;
    this.frames.close(this.closedError());
    if (run) await stopChild(run);
  }

  // --- Running ffmpeg ---------------------------------------------------------------------------------

  private async start(): Promise<void> {
    if (this.closed || this.failure) return;
    const id = ++this.runId;
    let args: string[];
    let passthrough: boolean;
    try {
      await this.stopping;
      if (id !== this.runId || this.closed) return;
      const version = await ffmpegVersion(this.ffmpegPath);
      this.mode = null;
      if (this.input.kind === 'v4l2') {
        const formats = await probeV4l2Formats(this.input.device, this.ffmpegPath);
        try {
          this.mode = chooseV4l2Mode(formats, this.input.wish);
        } catch (error) {
          // What was asked for is not offered: no restart will change that.
          return this.giveUp(new UsageError(`${this.input.device}: ${(error as Error).message}`));
        }
      }
      if (id !== this.runId || this.closed) return;
      passthrough = this.passthroughWanted();
      args = ffmpegArgs(this.input, { mode: this.mode, passthrough, quality: this.quality, version });
    } catch (error) {
      if (id !== this.runId || this.closed) return;
      if (error instanceof RunFailure && error.code === 'ffmpeg-missing') return this.giveUp(error);
      return this.failed(id, (error as Error).message);
    }
    this.args = args;
    const child = spawn(this.ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const run: Run = { id, child, passthrough, size: null, inputSize: null, frames: 0, stopping: false };
    this.run = run;
    this.counts.starts++;
    this.onEvent({ type: 'start', message: `${this.description}${this.mode ? ` (${this.mode.inputFormat} ${this.mode.width}x${this.mode.height} @ ${this.mode.fps}: ${this.mode.why})` : ''}` });
    this.armStallTimer(id, this.startTimeoutMs, `no first frame within ${this.startTimeoutMs} ms`);

    const splitter = new JpegStreamSplitter();
    child.stdout!.on('data', (chunk: Buffer) => {
      if (id !== this.runId) return;
      for (const data of splitter.push(chunk)) {
        this.onFrame(run, data);
        if (id !== this.runId) return;
      }
    });
    let pending = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split(/\r?\n|\r/);
      pending = lines.pop() ?? '';
      for (const line of lines) this.onStderrLine(run, line);
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (id !== this.runId) return;
      const failure = ffmpegSpawnError(this.ffmpegPath, error);
      if (error.code === 'ENOENT') this.giveUp(failure);
      else this.failed(id, failure.message);
    });
    child.once('close', (code, signal) => {
      if (pending) this.onStderrLine(run, pending);
      if (id !== this.runId || run.stopping) return;
      const said = this.lastSaid();
      this.failed(id, `ffmpeg ended (${signal ? `signal ${signal}` : `exit code ${code}`})${said ? `: ${said}` : ''}`);
    });
  }

  private passthroughWanted(): boolean {
    if (this.forceEncode) return false;
    if (this.input.kind === 'v4l2') return this.mode?.passthrough ?? false;
    if (this.input.kind === 'dshow') return this.input.wish?.format ? normalizeFormatName(this.input.wish.format) === 'mjpeg' : false;
    if (this.input.kind === 'args') {
      const out = userOutputOptions(this.input.args);
      return out.some((a, i) => CODEC_OPTIONS.has(a) && out[i + 1] === 'copy');
    }
    return false;
  }

  private onFrame(run: Run, data: Buffer): void {
    const size = jpegSize(data);
    if (!size) return; // not a JPEG we can read: skip it
    if (run.frames === 0 && run.passthrough && !jpegHasHuffmanTables(data)) {
      this.forceEncode = true;
      return this.restart(run.id, 'the grabber\'s MJPEG frames carry no Huffman tables: encoding them from now on', false);
    }
    run.frames++;
    const changed = run.size && (run.size.width !== size.width || run.size.height !== size.height);
    if (!run.size) run.size = size;
    this.deliver(data);
    this.armStallTimer(run.id, this.stallMs, `no frame for ${this.stallMs} ms`);
    if (changed) this.restart(run.id, `the resolution changed from ${run.size!.width}x${run.size!.height} to ${size.width}x${size.height}`, false);
  }

  private onStderrLine(run: Run, line: string): void {
    const text = line.trim();
    if (!text) return;
    // "[graph 0 input from stream 0:0 @ 0x…] [verbose] w:1920 h:1080 pixfmt:…": the filter graph was (re)built
    // for this input size. ffmpeg would scale a changed picture to the first size; restart to get the new one.
    const graph = /^\[graph \d+ input from stream [^\]]*\]\s*\[verbose\]\s*w:(\d+) h:(\d+)/.exec(text);
    if (graph) {
      const size = { width: Number(graph[1]), height: Number(graph[2]) };
      if (!run.inputSize) run.inputSize = size;
      else if (run.id === this.runId && (size.width !== run.inputSize.width || size.height !== run.inputSize.height)) {
        this.restart(run.id, `the input resolution changed from ${run.inputSize.width}x${run.inputSize.height} to ${size.width}x${size.height}`, false);
      }
      return;
    }
    const level = /^(?:\[[^\]]+ @ [^\]]+\]\s*)*\[(panic|fatal|error|warning|info|verbose|debug|trace)\]\s*(.*)$/.exec(text);
    const severity = level?.[1] ?? 'error';
    if (!['panic', 'fatal', 'error', 'warning'].includes(severity)) return;
    if (/deprecated pixel format used/.test(text)) return; // said for every frame encoded from yuvj420p
    const message = level ? text.replace(/\s*\[(panic|fatal|error|warning)\]\s*/, ' ').trim() : text;
    this.stderrTail.push(message);
    if (this.stderrTail.length > STDERR_LINES) this.stderrTail.shift();
  }

  private deliver(data: Buffer): void {
    this.frames.deliver(data);
    this.counts.frames++;
    this.failuresInARow = 0;
  }

  /** Run `id` went wrong (ended, stalled, would not start): restart it after a backoff, or give up. */
  private failed(id: number, reason: string): void {
    if (id !== this.runId || this.closed || this.failure) return;
    this.failuresInARow++;
    this.counts.lastError = reason;
    if (this.failuresInARow > this.maxRestarts) {
      const said = this.lastSaid(3);
      return this.giveUp(new RunFailure(
        'infrastructure',
        `${this.description}: no video after ${this.failuresInARow} attempts in a row; last: ${reason}` +
          (said && !reason.includes(said) ? `; ffmpeg said: ${said}` : ''),
        'capture-failed',
      ));
    }
    this.restart(id, reason, true);
  }

  private restart(id: number, reason: string, afterFailure: boolean): void {
    if (id !== this.runId || this.closed || this.failure) return;
    const run = this.run;
    this.run = null;
    this.runId++; // late output of the old ffmpeg is ignored from here on
    this.clearTimers();
    if (run) this.stopping = stopChild(run);
    this.counts.restarts++;
    this.counts.restartReasons.push(reason);
    if (this.counts.restartReasons.length > 20) this.counts.restartReasons.shift();
    const delay = afterFailure ? Math.min(this.backoff.max, this.backoff.first * 2 ** (this.failuresInARow - 1)) : 0;
    this.onEvent({ type: 'restart', message: `${this.description}: ${reason}; restarting ffmpeg${delay ? ` in ${delay} ms` : ''}` });
    const next = this.runId;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (next === this.runId) void this.start();
    }, delay);
  }

  private giveUp(error: Error): void {
    if (this.failure || this.closed) return;
    this.failure = error;
    this.counts.lastError = error.message;
    this.clearTimers();
    const run = this.run;
    this.run = null;
    this.runId++;
    if (run) void stopChild(run);
    this.onEvent({ type: 'failed', message: error.message });
    this.frames.close(error); // later waits get this error, not 'closed'
  }

  private armStallTimer(id: number, ms: number, why: string): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => this.failed(id, why), ms);
  }

  private clearTimers(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.stallTimer = null;
    this.retryTimer = null;
  }

  private lastSaid(lines = 2): string {
    return this.stderrTail.slice(-lines).join(' | ');
  }

  private timeoutError(ms: number): Error {
    const last = this.counts.lastError ? `; last error: ${this.counts.lastError}` : '';
    return new Error(`no new frame from ${this.description} within ${ms} ms${last}`);
  }

  private closedError(): Error {
    return new Error(`${this.description} is closed`);
  }
}

/** Asks ffmpeg to stop (it closes its input cleanly on SIGTERM); kills it when it does not within 2 s. */
function stopChild(run: Run): Promise<void> {
  run.stopping = true;
  const child = run.child;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 2000);
    const giveUp = setTimeout(done, 4000); // a process that never started has no 'close' to wait for
    function done() {
      clearTimeout(kill);
      clearTimeout(giveUp);
      resolve();
    }
    child.once('close', done);
    child.kill('SIGTERM');
  });
}

/** Opens an ffmpeg source and waits for its first frame (or its failure). */
export async function openFfmpeg(input: FfmpegInput, options: FfmpegOptions & { openTimeoutMs?: number } = {}): Promise<FfmpegSource> {
  const source = new FfmpegSource(input, options);
  return untilFirstFrame(source, source.ready(options.openTimeoutMs ?? Math.max(options.startTimeoutMs ?? 15_000, 20_000)));
}
