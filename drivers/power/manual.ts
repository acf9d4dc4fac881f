// Power by a person: the run says what to do ("power on station b and press Enter") and waits. With no one at
// the terminal (the input ends at once, as it does under CI or cron), it waits for a file to appear instead
// (a person or a script creates it when done; it is removed then), and fails with a clear message after a timeout.
// Stations of a bench ask one at a time, so two prompts never share one Enter.
import { existsSync, rmSync } from 'node:fs';
import type { Power, PowerState } from './types.ts';

export interface ManualPowerOptions {
  /** The station's name in the prompt. */
  station?: string;
  /** Where the answer comes from (default the process's standard input). */
  input?: NodeJS.ReadableStream;
  /** Where the prompt goes (default standard error, so it does not mix with JSON on standard output). */
  output?: NodeJS.WritableStream;
  /** With no one at the terminal: the file whose appearance says "done". */
  waitFile?: string;
  /** How long to wait for the person (default 30 min). */
  timeoutMs?: number;
  pollMs?: number;
}

type Action = 'on' | 'off' | 'force-off' | 'cycle';

/** Reads lines from an input stream for whoever waits; lines typed while no one waits are dropped. */
class LineSource {
  private buffered = '';
  private waiting: Array<(line: string | null) => void> = [];
  ended = false;

  constructor(private readonly input: NodeJS.ReadableStream) {
    input.on('data', (chunk: Buffer | string) => {
      this.buffered += chunk.toString();
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, nl).replace(/\r$/, '');
        this.buffered = this.buffered.slice(nl + 1);
        const next = this.waiting.shift();
        next?.(line);
      }
      if (this.waiting.length === 0) this.input.pause();
    });
    input.on('end', () => this.finish());
    input.on('close', () => this.finish());
    input.on('error', () => this.finish());
    input.pause();
  }

  /** The next line, or null when the input ended; cancel() stops waiting. */
  next(): { line: Promise<string | null>; cancel: () => void } {
    if (this.ended) return { line: Promise.resolve(null), cancel: () => {} };
    let resolver!: (line: string | null) => void;
    const line = new Promise<string | null>((resolve) => { resolver = resolve; });
    this.waiting.push(resolver);
    this.input.resume();
    return {
      line,
      cancel: () => {
        this.waiting = this.waiting.filter((w) => w !== resolver);
        if (this.waiting.length === 0) this.input.pause();
      },
    };
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    for (const w of this.waiting.splice(0)) w(null);
  }
}

const sources = new WeakMap<NodeJS.ReadableStream, LineSource>();
/** One prompt at a time per input, whichever station asks. */
const turns = new WeakMap<NodeJS.ReadableStream, Promise<unknown>>();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class ManualPower implements Power {
  readonly description: string;
  private readonly input: NodeJS.ReadableStream;
  private readonly output: NodeJS.WritableStream;
  private readonly timeoutMs: number;
  private readonly pollMs: number;
  private known: PowerState = 'unknown';

  constructor(private readonly opts: ManualPowerOptions = {}) {
    this.input = opts.input ?? process.stdin;
    this.output = opts.output ?? process.stderr;
    this.timeoutMs = opts.timeoutMs ?? 30 * 60_000;
    this.pollMs = opts.pollMs ?? 250;
    this.description = `manual power (a person${opts.waitFile ? `, or the file ${opts.waitFile}` : ''})`;
  }

  async on(): Promise<void> {
    await this.ask('on');
    this.known = 'on';
  }

  async off(force = false): Promise<void> {
    await this.ask(force ? 'force-off' : 'off');
    this.known = 'off';
  }

  async cycle(): Promise<void> {
    await this.ask('cycle');
    this.known = 'on';
  }

  /** What the person last said they did. */
  async state(): Promise<PowerState> {
    return this.known;
  }

  async close(): Promise<void> {
    // The input belongs to the process; nothing to close.
  }

  private nobody(what: string): Error {
    return new Error(
      `${what}: a person is needed, and no one is at the terminal (standard input ended). ` +
        'Run it where someone can press Enter, or give the manual power a wait file (waitFile in the bench file) that is created when done.',
    );
  }

  private ask(action: Action): Promise<void> {
    const previous = turns.get(this.input) ?? Promise.resolve();
    const mine = previous.catch(() => {}).then(() => this.askNow(action));
    turns.set(this.input, mine.catch(() => {}));
    return mine;
  }

  private async askNow(action: Action): Promise<void> {
    const station = this.opts.station ? `station ${this.opts.station}` : 'the device';
    const what = {
      on: `power on ${station}`,
      off: `power off ${station}`,
      'force-off': `power off ${station} (hold its power button 5 s, or pull the plug)`,
      cycle: `power ${station} off and on again`,
    }[action];
    const file = this.opts.waitFile;
    if (file) rmSync(file, { force: true }); // an old file from before says nothing about now
    let source = sources.get(this.input);
    if (!source) sources.set(this.input, (source = new LineSource(this.input)));
    const terminal = !source.ended;
    if (!terminal && !file) throw this.nobody(what);
    this.output.write(`${what} and ${terminal ? `press Enter${file ? ` (or create ${file})` : ''}` : `create ${file}`}\n`);

    const deadline = Date.now() + this.timeoutMs;
    const reading = terminal ? source.next() : null;
    let answered = false;
    let inputEnded = !terminal;
    reading?.line.then((line) => {
      if (line === null) inputEnded = true;
      else answered = true;
    });
    try {
      for (;;) {
        if (answered) return;
        if (file && existsSync(file)) {
          rmSync(file, { force: true });
          return;
        }
        if (inputEnded && !file) throw this.nobody(what);
        if (Date.now() >= deadline) {
          const how = file ? (inputEnded ? `for ${file} to appear` : `for Enter or for ${file} to appear`) : 'for Enter';
          throw new Error(`${what}: waited ${(this.timeoutMs / 1000).toFixed(0)} s ${how}, and no one answered`);
        }
        await sleep(this.pollMs);
      }
    } finally {
      reading?.cancel();
    }
  }
}
