// Time for the virtual device. Machine behaviour (boots, ESP items) runs on a simulated clock that goes
// `speed` times faster than real time, so a 40-minute ESP takes seconds in tests; human-timed behaviour
// (the Windows-key window) uses real time.

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Simulated seconds per real second. */
  readonly speed: number;
  /** Simulated milliseconds since the clock started. */
  now(): number;
  /** Real milliseconds (monotonic), for human-timed behaviour. */
  realNow(): number;
  /** Runs `fn` after `simMs` simulated milliseconds, but not before `minRealMs` real milliseconds. */
  after(simMs: number, fn: () => void, minRealMs?: number): Timer;
  /** Runs `fn` after `realMs` real milliseconds. */
  afterReal(realMs: number, fn: () => void): Timer;
  /** Cancels every pending timer (device powered off, process closing). */
  cancelAll(): void;
}

/** The clock of a running simulator: real timers, simulated time = real time × speed. */
export class SimClock implements Clock {
  private readonly started = performance.now();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(readonly speed: number) {
    if (!(speed > 0) || !Number.isFinite(speed)) throw new Error(`clock speed must be a positive number, got ${speed}`);
  }

  now(): number {
    return (performance.now() - this.started) * this.speed;
  }

  realNow(): number {
    return performance.now();
  }

  after(simMs: number, fn: () => void, minRealMs = 0): Timer {
    return this.afterReal(Math.max(simMs / this.speed, minRealMs), fn);
  }

  afterReal(realMs: number, fn: () => void): Timer {
    const handle = setTimeout(() => {
      this.timers.delete(handle);
      fn();
    }, Math.max(0, realMs));
    this.timers.add(handle);
    return { cancel: () => { clearTimeout(handle); this.timers.delete(handle); } };
  }

  cancelAll(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

/**
 * A clock that moves only when told to (unit tests of the state machine): advance(realMs) moves real time
 * and simulated time (× speed) together and runs the timers that fall due, in order.
 */
export class ManualClock implements Clock {
  private real = 0;
  private seq = 0;
  private readonly pending = new Map<number, { dueReal: number; fn: () => void }>();

  constructor(readonly speed = 1) {}

  now(): number {
    return this.real * this.speed;
  }

  realNow(): number {
    return this.real;
  }

  after(simMs: number, fn: () => void, minRealMs = 0): Timer {
    return this.afterReal(Math.max(simMs / this.speed, minRealMs), fn);
  }

  afterReal(realMs: number, fn: () => void): Timer {
    const id = ++this.seq;
    this.pending.set(id, { dueReal: this.real + Math.max(0, realMs), fn });
    return { cancel: () => void this.pending.delete(id) };
  }

  cancelAll(): void {
    this.pending.clear();
  }

  /** Moves time forward by `realMs` real milliseconds, firing due timers (and timers they start) in order. */
  advance(realMs: number): void {
    const target = this.real + realMs;
    for (;;) {
      let next: [number, { dueReal: number; fn: () => void }] | undefined;
      for (const entry of this.pending) {
        if (entry[1].dueReal <= target && (!next || entry[1].dueReal < next[1].dueReal)) next = entry;
      }
      if (!next) break;
      this.pending.delete(next[0]);
      this.real = Math.max(this.real, next[1].dueReal);
      next[1].fn();
    }
    this.real = target;
  }

  /** Moves simulated time forward by `simMs` (real time by simMs / speed). */
  advanceSim(simMs: number): void {
    this.advance(simMs / this.speed);
  }

  /** Number of timers still waiting. */
  get pendingCount(): number {
    return this.pending.size;
  }
}

/** h:mm:ss, as the result screens show elapsed time. */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}
