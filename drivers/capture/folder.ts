// A folder of images (PNG, JPEG) as a frame source: for replaying a recorded run, for tests, and for a
// grabber that drops snapshots into a folder. Frames come at a set rate, in name order (numbers by value:
// frame-2 before frame-10); at the end the source loops or holds the last image (a still screen, as a
// grabber shows it: frames keep coming). The folder is watched: new files join in name order, and a file
// still being written is not shown until it is whole.
import { watch, statSync, type FSWatcher } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import { NewestFrame } from './newest-frame.ts';
import type { Frame, FrameSource } from './types.ts';

export interface FolderOptions {
  /** Frames a second (default 2). */
  fps?: number;
  /** At the last image: start again from the first (`loop`), or keep showing the last (`hold`, default). */
  atEnd?: 'loop' | 'hold';
  /** Pick up files added while running (default true). */
  watch?: boolean;
  /** Default wait of latest() and next(). */
  frameTimeoutMs?: number;
}

const IMAGE = /\.(png|jpe?g)$/i;
const byName = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });
/** How often the folder is listed again while the source sits at its last image (fs.watch may miss events). */
const RESCAN_MS = 500;

export class FolderSource implements FrameSource {
  readonly description: string;
  readonly dir: string;
  private readonly intervalMs: number;
  private readonly atEnd: 'loop' | 'hold';
  private readonly frameTimeoutMs: number;
  private files: string[] = [];
  private current: { name: string; data: Buffer } | null = null;
  private readonly frames = new NewestFrame((ms) => this.timeoutError(ms));
  private timer: NodeJS.Timeout | null = null;
  private watcher: FSWatcher | null = null;
  private dirty = true;
  private lastScan = 0;
  private busy = false;
  private closed = false;
  private lastError: string | null = null;

  constructor(dir: string, options: FolderOptions = {}) {
    this.dir = resolve(dir);
    let isDir = false;
    try {
      isDir = statSync(this.dir).isDirectory();
    } catch {
      throw new UsageError(`capture folder '${dir}': no such directory`);
    }
    if (!isDir) throw new UsageError(`capture folder '${dir}': not a directory`);
    const fps = options.fps ?? 2;
    if (!(fps > 0 && fps <= 120)) throw new UsageError(`capture folder '${dir}': fps ${fps}: expected a number above 0, at most 120`);
    this.intervalMs = 1000 / fps;
    this.atEnd = options.atEnd ?? 'hold';
    this.frameTimeoutMs = options.frameTimeoutMs ?? 10_000;
    this.description = `folder ${this.dir} (${fps} fps, ${this.atEnd} at the end)`;
    if (options.watch ?? true) {
      try {
        this.watcher = watch(this.dir, () => { this.dirty = true; });
        this.watcher.on('error', () => { this.watcher?.close(); this.watcher = null; });
      } catch {
        this.watcher = null; // the periodic listing still finds new files
      }
    }
    setImmediate(() => void this.tick());
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
  }

  /** The file the newest frame came from. */
  get currentFile(): string | null {
    return this.current ? join(this.dir, this.current.name) : null;
  }

  /** The images listed so far, and why the last file could not be shown (null when all went well). */
  get status(): { images: string[]; lastError: string | null } {
    return { images: [...this.files], lastError: this.lastError };
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
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.watcher?.close();
    this.watcher = null;
    this.frames.close(new Error(`${this.description} is closed`));
  }

  private async tick(): Promise<void> {
    if (this.busy || this.closed) return;
    this.busy = true;
    try {
      const atEnd = !this.current || this.files.indexOf(this.current.name) >= this.files.length - 1;
      if (this.dirty || (atEnd && Date.now() - this.lastScan >= RESCAN_MS)) await this.scan();
      const next = await this.advance();
      if (next && !this.closed) this.frames.deliver(next.data);
    } catch (error) {
      this.lastError = (error as Error).message;
    } finally {
      this.busy = false;
    }
  }

  private async scan(): Promise<void> {
    this.dirty = false;
    this.lastScan = Date.now();
    const names = await readdir(this.dir);
    this.files = names.filter((n) => IMAGE.test(n) && !n.startsWith('.')).sort(byName.compare);
  }

  /** The image of this tick: the next whole file, or the current one again. */
  private async advance(): Promise<{ name: string; data: Buffer } | null> {
    if (!this.files.length) return this.current;
    const position = this.current ? this.positionOf(this.current.name) : -1;
    let index = position + 1;
    if (index >= this.files.length) {
      if (this.atEnd === 'hold' && this.current) return this.current;
      index = 0;
    }
    const name = this.files[index];
    if (this.current && name === this.current.name) return this.current;
    let data: Buffer;
    try {
      data = await readFile(join(this.dir, name));
    } catch (error) {
      this.dirty = true; // gone since the listing
      this.lastError = `${name}: ${(error as Error).message}`;
      return this.current;
    }
    if (!isWholeImage(data)) {
      this.lastError = `${name}: not a whole PNG or JPEG (yet)`;
      return this.current; // still being written: try it again next tick
    }
    this.current = { name, data };
    this.lastError = null;
    return this.current;
  }

  /** Where a name stands in the listing; a removed file stands just before the first name after it. */
  private positionOf(name: string): number {
    const exact = this.files.indexOf(name);
    if (exact >= 0) return exact;
    const after = this.files.findIndex((n) => byName.compare(n, name) > 0);
    return (after < 0 ? this.files.length : after) - 1;
  }

  /** Why a wait ran out: what went wrong with the last file, or that the folder holds no images. */
  private timeoutError(timeoutMs: number): Error {
    const why = this.files.length ? (this.lastError ?? '') : `no images (PNG, JPEG) in ${this.dir}${this.lastError ? `; ${this.lastError}` : ''}`;
    return new Error(`no new frame from ${this.description} within ${timeoutMs} ms${why ? `: ${why}` : ''}`);
  }
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A PNG that has its IEND chunk, or a JPEG that ends with EOI (allowing a little padding after it). */
export function isWholeImage(data: Buffer): boolean {
  if (data.length >= 20 && data.subarray(0, 8).equals(PNG_SIGNATURE)) {
    return data.subarray(data.length - 12).indexOf('IEND') === 4;
  }
  if (data.length >= 4 && data[0] === 0xff && data[1] === 0xd8) {
    let end = data.length;
    while (end > 2 && data.length - end < 64 && (data[end - 1] === 0x00 || data[end - 1] === 0x0a || data[end - 1] === 0x0d)) end--;
    return data[end - 2] === 0xff && data[end - 1] === 0xd9;
  }
  return false;
}
