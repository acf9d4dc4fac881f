// The live overview of a bench run: one line per station (name, state or result, screen, step, elapsed).
// On a terminal the block is redrawn in place every second, with events (warnings, results) scrolling
// above it; otherwise (a CI log, a file) the lines are printed plain every `plainEveryMs`, and a line for
// each station as it ends.

export type StationPhase = 'waiting' | 'starting' | 'self-test' | 'running' | 'done' | 'skipped';

export interface StationLine {
  phase: StationPhase;
  screen?: string | null;
  step?: string | null;
  /** The ESP's current phase and item, when on the ESP. */
  esp?: string | null;
  result?: string;
  startedAt?: number;
  endedAt?: number;
}

export interface OverviewStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const ERASE_LINE = '\r\x1b[2K';

function clock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export class Overview {
  private readonly lines = new Map<string, StationLine>();
  private readonly width: number;
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private drawnRows = 0;
  private readonly live: boolean;

  constructor(
    names: string[],
    private readonly out: OverviewStream,
    private readonly opts: { plainEveryMs?: number; quiet?: boolean } = {},
  ) {
    for (const n of names) this.lines.set(n, { phase: 'waiting' });
    this.width = Math.max(...names.map((n) => n.length), 7);
    this.live = out.isTTY === true && !opts.quiet;
  }

  start(): void {
    if (this.opts.quiet) return;
    if (this.live) {
      this.draw();
      this.timer = setInterval(() => this.draw(), 1000);
    } else {
      this.timer = setInterval(() => this.printPlain(), this.opts.plainEveryMs ?? 30_000);
    }
    this.timer.unref();
  }

  update(name: string, patch: Partial<StationLine>): void {
    const line = this.lines.get(name);
    if (!line) return;
    const before = line.phase;
    Object.assign(line, patch);
    if (patch.phase === 'starting' && line.startedAt === undefined) line.startedAt = Date.now();
    if ((patch.phase === 'done' || patch.phase === 'skipped') && before !== patch.phase) {
      line.endedAt = Date.now();
      this.event(this.rowOf(name, line, 200).trimEnd());
    }
  }

  /** A line above the overview (a station's warning, a result). */
  event(text: string): void {
    if (this.opts.quiet) return;
    const stamped = `[${clock(Date.now() - this.started)}] ${text}`;
    if (!this.live) return void this.out.write(`${stamped}\n`);
    this.clear();
    this.out.write(`${stamped}\n`);
    this.draw();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.opts.quiet) return;
    if (this.live) this.draw();
    else this.printPlain();
  }

  /** The overview as text rows, `columns` wide at most. */
  rows(columns = 120): string[] {
    return [...this.lines].map(([name, line]) => this.rowOf(name, line, columns));
  }

  private rowOf(name: string, l: StationLine, columns: number): string {
    const elapsed = l.startedAt ? clock((l.endedAt ?? Date.now()) - l.startedAt) : '--:--';
    const state = l.result ?? l.phase;
    const where = [l.screen ?? '', l.step ? `step ${l.step}` : '', l.esp ? `ESP ${l.esp}` : ''].filter(Boolean).join(' │ ');
    const row = `${name.padEnd(this.width)}  ${state.padEnd(14)} ${elapsed.padStart(7)}  ${where}`;
    return row.length <= columns ? row : `${row.slice(0, Math.max(0, columns - 1))}…`;
  }

  private clear(): void {
    if (this.drawnRows > 0) this.out.write(`\x1b[${this.drawnRows}A\r\x1b[J`);
    this.drawnRows = 0;
  }

  private draw(): void {
    const rows = this.rows((this.out.columns || 120) - 1);
    const up = this.drawnRows > 0 ? `\x1b[${this.drawnRows}A` : '';
    this.out.write(`${up}${rows.map((r) => `${ERASE_LINE}${r}\n`).join('')}`);
    this.drawnRows = rows.length;
  }

  private printPlain(): void {
    const t = clock(Date.now() - this.started);
    this.out.write(`${this.rows(200).map((r) => `[${t}] ${r}`).join('\n')}\n`);
  }
}
