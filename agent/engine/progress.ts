// Where a run is, for the person at the terminal: one plain line per event (no cursor tricks, so the output
// reads the same in a terminal, a CI log or a file). --log-level chooses how much is shown.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export class Progress {
  private readonly started = Date.now();

  constructor(
    private readonly level: LogLevel = 'info',
    private readonly out: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {}

  private stamp(): string {
    const s = Math.floor((Date.now() - this.started) / 1000);
    const mm = String(Math.floor(s / 60)).padStart(2, '0');
    return `${mm}:${String(s % 60).padStart(2, '0')}`;
  }

  line(level: LogLevel, text: string): void {
    if (rank[level] >= rank[this.level] && this.level !== 'silent') this.out(`[${this.stamp()}] ${text}`);
  }

  info(text: string): void { this.line('info', text); }
  debug(text: string): void { this.line('debug', text); }
  warn(text: string): void { this.line('warn', text); }
}
