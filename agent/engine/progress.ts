// Where a run is, for the person at the terminal. On a terminal (stderr is a TTY): one status line redrawn in
// place (screen, step, ESP phase and item, elapsed time), with plain lines for events scrolling above it. Not a
// terminal (a CI log, a pipe, a file): plain lines only, no cursor tricks. --log-level chooses how much is shown;
// the status line belongs to the info level.
import type { EspSample } from '../report/report.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export interface ProgressStatus {
  screen?: string | null;
  step?: string | null;
  espPhase?: string | null;
  espItem?: string | null;
}

/** Carriage return + erase the whole line: the status line is redrawn where it is. */
const ERASE = '\r\x1b[2K';
const REDRAW_MS = 1000;

/** Where the ESP is in a sample: the first phase not complete, and its first item not complete (the last phase when all are). */
export function espPosition(sample: EspSample | undefined): { espPhase?: string; espItem?: string } {
  const phases = sample?.phases ?? [];
  if (phases.length === 0) return {};
  const phase = phases.find((p) => !/^complete/i.test(p.state)) ?? phases[phases.length - 1];
  const item = phase.items.find((i) => !/^complete/i.test(i.state));
  // "in-progress" is what a current phase or item is anyway: said only when it is something else.
  const named = (name: string, state: string) => (/^in-progress$/i.test(state) ? name : `${name} (${state})`);
  return { espPhase: named(phase.name, phase.state), ...(item ? { espItem: named(item.name, item.state) } : {}) };
}

export class Progress {
  private started = Date.now();
  private readonly out: (line: string) => void;
  /** The terminal the status line is drawn on; null when lines are plain. */
  private live: NodeJS.WriteStream | null;
  private current: ProgressStatus = {};
  private drawn = '';
  private timer: NodeJS.Timeout | null = null;

  /**
   * `out` given: plain lines to it (a bench, a test). Otherwise lines go to `stream` (stderr), with the status
   * line when it is a TTY and the level shows info.
   */
  constructor(
    private readonly level: LogLevel = 'info',
    out?: (line: string) => void,
    opts: { stream?: NodeJS.WriteStream } = {},
  ) {
    const stream = opts.stream ?? process.stderr;
    this.out = out ?? ((line) => stream.write(`${line}\n`));
    this.live = !out && stream.isTTY === true && rank[level] <= rank.info ? stream : null;
  }

  /** A resumed run counts its elapsed time from when it first began. */
  setStart(ms: number): void {
    this.started = ms;
  }

  private stamp(): string {
    const s = Math.max(0, Math.floor((Date.now() - this.started) / 1000));
    const mm = String(Math.floor(s / 60)).padStart(2, '0');
    return `${mm}:${String(s % 60).padStart(2, '0')}`;
  }

  line(level: LogLevel, text: string): void {
    if (rank[level] < rank[this.level] || this.level === 'silent') return;
    const line = `[${this.stamp()}] ${text}`;
    if (!this.live) return this.out(line);
    // The event scrolls up above the status line, which is drawn again under it.
    this.live.write(`${ERASE}${line}\n`);
    this.drawn = '';
    this.draw();
  }

  info(text: string): void { this.line('info', text); }
  debug(text: string): void { this.line('debug', text); }
  warn(text: string): void { this.line('warn', text); }

  /** Where the run is now. Shown in place on a terminal; plain output already has it in its event lines. */
  status(s: ProgressStatus): void {
    this.current = s;
    if (!this.live) return;
    if (!this.timer) {
      // Redrawn every second so the elapsed time moves while a screen (the ESP: up to 90 minutes) stays.
      this.timer = setInterval(() => this.draw(), REDRAW_MS);
      this.timer.unref();
    }
    this.draw();
  }

  /** The status line as shown: at most one terminal row, so redrawing in place never wraps. */
  statusText(width = 80): string {
    const s = this.current;
    const parts = [`${this.stamp()}`, s.screen ?? 'waiting for the first frame'];
    if (s.step) parts.push(`step ${s.step}`);
    if (s.espPhase) parts.push(`ESP ${s.espPhase}${s.espItem ? ` › ${s.espItem}` : ''}`);
    const text = `▶ ${parts.join(' │ ')}`;
    return text.length < width ? text : `${text.slice(0, Math.max(0, width - 2))}…`;
  }

  private draw(): void {
    if (!this.live) return;
    const text = this.statusText(this.live.columns || 80);
    if (text === this.drawn) return;
    this.live.write(`${ERASE}${text}`);
    this.drawn = text;
  }

  /** The run is over: the status line is erased and later lines are plain. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.live && this.drawn) this.live.write(ERASE);
    this.live = null;
  }
}
