// The newest frame of a source and whoever waits for one: what every FrameSource shares. A reader gets the
// newest frame (the screen as it is now, not a backlog); seq counts every frame delivered. The last few
// seconds are kept too, thinned, so that a reader that was busy can look back at what it skipped.
import type { Frame } from './types.ts';

/**
 * How far back recent() reaches. A read takes well under a second, but on a loaded machine two reads in a row
 * took 7 s (CI: two test files, two virtual devices and four OCR workers on two cores).
 */
export const RECENT_MS = 10_000;
/** recent() keeps a frame per this much time: a 30 fps grabber holds about as much as a 5 fps stream. */
export const RECENT_SPACING_MS = 250;
/** And never more frames than this, whatever their times say (at 100-300 KB a 1080p JPEG, 5-15 MB a stream). */
export const RECENT_MAX = 48;

interface Waiter {
  afterSeq: number;
  resolve: (frame: Frame) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class NewestFrame {
  private frame: Frame | null = null;
  private seq = 0;
  /** Oldest first; the newest frame is always the last. */
  private history: Frame[] = [];
  private waiters: Waiter[] = [];
  /** Waits of ready(): a refusal fails these but not the waits for frames. */
  private readyWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  private ended: Error | null = null;

  /** `timeoutError(ms)` is the source's own words for a wait that ran out (asked when it runs out). */
  constructor(private readonly timeoutError: (timeoutMs: number) => Error) {}

  /** The newest frame, or null before the first. */
  get newest(): Frame | null {
    return this.frame;
  }

  /** Frames of the last RECENT_MS, oldest first, the newest last: at least one of every RECENT_SPACING_MS. */
  recent(): readonly Frame[] {
    return this.history;
  }

  /** A new frame: it becomes the newest, and every waiter whose `afterSeq` it passes gets it. */
  deliver(data: Buffer): Frame {
    const frame: Frame = { data, at: Date.now(), seq: ++this.seq };
    this.frame = frame;
    this.remember(frame);
    const due = this.waiters.filter((w) => w.afterSeq < frame.seq);
    this.waiters = this.waiters.filter((w) => w.afterSeq >= frame.seq);
    for (const w of due) {
      clearTimeout(w.timer);
      w.resolve(frame);
    }
    for (const w of this.readyWaiters.splice(0)) w.resolve();
    return frame;
  }

  private remember(frame: Frame): void {
    const h = this.history;
    // The newest replaces the one before it while the frame kept before that is less than a spacing old.
    if (h.length >= 2 && frame.at - h[h.length - 2].at < RECENT_SPACING_MS) h[h.length - 1] = frame;
    else h.push(frame);
    while (h.length > 1 && (h.length > RECENT_MAX || frame.at - h[0].at > RECENT_MS)) h.shift();
  }

  /** Resolves at the first frame; rejects at refuse() or close(), or with the timeout error. */
  ready(timeoutMs: number): Promise<void> {
    if (this.frame) return Promise.resolve();
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      const entry = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== entry);
        reject(this.timeoutError(timeoutMs));
      }, timeoutMs);
      this.readyWaiters.push(entry);
    });
  }

  /** The source was refused (it will keep trying): those waiting in ready() get `error`. */
  refuse(error: Error): void {
    for (const w of this.readyWaiters.splice(0)) w.reject(error);
  }

  latest(timeoutMs: number): Promise<Frame> {
    if (this.frame) return Promise.resolve(this.frame);
    return this.next(0, timeoutMs);
  }

  /** The newest frame once its seq passes `afterSeq`; after close(), the error it was closed with. */
  next(afterSeq: number, timeoutMs: number): Promise<Frame> {
    if (this.frame && this.frame.seq > afterSeq) return Promise.resolve(this.frame);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        afterSeq,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(this.timeoutError(timeoutMs));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Rejects those waiting now; later waits go on as before (e.g. a refusal that may be retried). */
  rejectWaiters(error: Error): void {
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(error);
    }
  }

  /** No more frames: those waiting (ready() too) and every later wait get `error` (the first close wins). */
  close(error: Error): void {
    this.ended ??= error;
    this.history = [];
    this.rejectWaiters(error);
    this.refuse(error);
  }
}
