// The newest frame of a source and whoever waits for one: what every FrameSource shares. Only the newest
// frame is kept (a reader wants the screen as it is now, not a backlog); seq counts every frame delivered.
import type { Frame } from './types.ts';

interface Waiter {
  afterSeq: number;
  resolve: (frame: Frame) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class NewestFrame {
  private frame: Frame | null = null;
  private seq = 0;
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

  /** A new frame: it becomes the newest, and every waiter whose `afterSeq` it passes gets it. */
  deliver(data: Buffer): Frame {
    const frame: Frame = { data, at: Date.now(), seq: ++this.seq };
    this.frame = frame;
    const due = this.waiters.filter((w) => w.afterSeq < frame.seq);
    this.waiters = this.waiters.filter((w) => w.afterSeq >= frame.seq);
    for (const w of due) {
      clearTimeout(w.timer);
      w.resolve(frame);
    }
    for (const w of this.readyWaiters.splice(0)) w.resolve();
    return frame;
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
    this.rejectWaiters(error);
    this.refuse(error);
  }
}
