// Frames from a PiKVM: its MJPEG stream (/streamer/stream, through the MJPEG driver with the login headers), or,
// with `snapshots[=FPS]` in the spec, one JPEG at a time from /api/streamer/snapshot (allow_offline=1, so a
// screen without signal still gives the streamer's picture). The spec is the HID's:
// pikvm:https://HOST[,insecure][,user-env=VAR][,password-env=VAR][,snapshots[=FPS]].
import { UsageError } from '../errors.ts';
import { PikvmClient, PikvmSpecError, parsePikvmSpec, type PikvmClientOptions, type PikvmConfig } from '../hid/pikvm-api.ts';
import { untilFirstFrame } from './first-frame.ts';
import { MjpegHttpSource, type MjpegHttpOptions } from './mjpeg-http.ts';
import type { OpenCaptureOptions } from './open.ts';
import { NewestFrame } from './newest-frame.ts';
import type { Frame, FrameSource } from './types.ts';

export interface PikvmCaptureOptions extends PikvmClientOptions {
  /** Snapshots instead of the stream, this many a second. */
  snapshotFps?: number;
  /** Default wait of latest() and next(). */
  frameTimeoutMs?: number;
  /** How long open waits for the first frame. */
  openTimeoutMs?: number;
  mjpeg?: MjpegHttpOptions;
}

/** Polls /api/streamer/snapshot: a new frame each time, the newest kept. */
export class PikvmSnapshotSource implements FrameSource {
  readonly description: string;
  private readonly frames = new NewestFrame(
    (ms) => new Error(`no snapshot from ${this.client.description} within ${ms} ms${this.lastError ? `: ${this.lastError}` : ''}`),
  );
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private lastError: string | null = null;
  private readonly intervalMs: number;
  private readonly frameTimeoutMs: number;

  constructor(private readonly client: PikvmClient, opts: { fps?: number; frameTimeoutMs?: number } = {}) {
    const fps = opts.fps ?? 2;
    if (!(fps > 0 && fps <= 30)) throw new Error(`PiKVM snapshots: fps must be above 0 and at most 30, got ${fps}`);
    this.intervalMs = 1000 / fps;
    this.frameTimeoutMs = opts.frameTimeoutMs ?? 10_000;
    this.description = `snapshots of ${client.description} (${fps}/s)`;
    void this.poll();
  }

  latest(timeoutMs = this.frameTimeoutMs): Promise<Frame> {
    return this.frames.latest(timeoutMs);
  }

  next(afterSeq: number, timeoutMs = this.frameTimeoutMs): Promise<Frame> {
    return this.frames.next(afterSeq, timeoutMs);
  }

  recent(): readonly Frame[] {
    return this.frames.recent();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.frames.close(new Error(`${this.description} is closed`));
    this.client.close();
  }

  private async poll(): Promise<void> {
    if (this.closed) return;
    const started = Date.now();
    try {
      const { data, contentType } = await this.client.bytes('/api/streamer/snapshot', { allow_offline: 1 });
      if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) throw new Error(`the snapshot is '${contentType}' (${data.length} bytes), not a JPEG`);
      this.frames.deliver(data);
      this.lastError = null;
    } catch (error) {
      this.lastError = (error as Error).message;
      // A refusal (credentials) will not get better by waiting: tell whoever waits now.
      if ((error as { status?: number }).status === 401 || (error as { status?: number }).status === 403) {
        this.frames.rejectWaiters(error as Error);
      }
    }
    if (this.closed) return;
    this.timer = setTimeout(() => void this.poll(), Math.max(0, this.intervalMs - (Date.now() - started)));
  }
}

/** Opens a PiKVM's video and waits for the first frame. */
export async function openPikvmFrames(config: PikvmConfig, opts: PikvmCaptureOptions = {}): Promise<FrameSource> {
  const client = new PikvmClient(config, opts);
  const openTimeoutMs = opts.openTimeoutMs ?? 10_000;
  // One request first: a wrong address or password is said plainly, not as a stream that never starts.
  try {
    await client.call('GET', '/api/auth/check');
  } catch (error) {
    client.close();
    throw error;
  }
  if (opts.snapshotFps !== undefined) {
    const source = new PikvmSnapshotSource(client, { fps: opts.snapshotFps, frameTimeoutMs: opts.frameTimeoutMs });
    return untilFirstFrame(source, source.latest(openTimeoutMs));
  }
  client.close();
  const stream = new MjpegHttpSource(client.urlOf('/streamer/stream').href, {
    ...(opts.frameTimeoutMs ? { frameTimeoutMs: opts.frameTimeoutMs } : {}),
    ...opts.mjpeg,
    insecureTls: client.insecureTls,
    headers: client.authHeaders(),
  });
  return untilFirstFrame(stream, stream.ready(openTimeoutMs));
}

/** The capture opener's hook (drivers/capture/open.ts): a `pikvm:` spec. */
export async function openPikvmCapture(spec: string, opts: OpenCaptureOptions = {}): Promise<FrameSource> {
  let config: ReturnType<typeof parsePikvmSpec>;
  try {
    config = parsePikvmSpec(spec, ['snapshots=FPS']);
  } catch (error) {
    throw error instanceof PikvmSpecError ? new UsageError(`capture: ${error.message}`) : error;
  }
  let snapshotFps: number | undefined;
  if ('snapshots' in config.flags) {
    snapshotFps = config.flags.snapshots === '' ? 2 : Number(config.flags.snapshots);
    if (!(snapshotFps > 0 && snapshotFps <= 30)) throw new UsageError(`capture: PiKVM spec '${spec}': snapshots=${config.flags.snapshots}: expected frames a second above 0, at most 30`);
  }
  return openPikvmFrames(config, {
    snapshotFps,
    ...(opts.openTimeoutMs ? { openTimeoutMs: opts.openTimeoutMs } : {}),
    ...(opts.frameTimeoutMs ? { frameTimeoutMs: opts.frameTimeoutMs } : {}),
    mjpeg: { ...(opts.stallMs ? { stallMs: opts.stallMs } : {}), ...opts.mjpeg },
  });
}
