// Runs an external program for a power driver: argv, no shell (nothing in an argument is ever interpreted),
// a timeout (SIGTERM, then SIGKILL), and what it printed, for the caller to check and quote in its errors.
import { spawn } from 'node:child_process';

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface ExecOptions {
  timeoutMs?: number;
  /** Added to this process's environment. */
  env?: Record<string, string>;
}

/** Thrown when the program could not run at all, or ran past its timeout. */
export class ExecError extends Error {
  constructor(message: string, readonly reason: 'missing' | 'not-executable' | 'timeout' | 'failed-to-start') {
    super(message);
  }
}

const MAX_OUTPUT = 64 * 1024;

/** Runs argv[0] with the rest as its arguments; resolves with its exit status whatever it is. */
export function execArgv(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  if (argv.length === 0 || !argv[0]) return Promise.reject(new Error('no command given (an empty argv)'));
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout stops what a script started too (a hung curl, a sleep).
    const child = spawn(argv[0], argv.slice(1), {
      shell: false,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
    });
    const kill = (signal: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        child.kill(signal);
      }
    };
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.on('data', (d: Buffer) => { if (stdout.length < MAX_OUTPUT) stdout += d.toString('utf8'); });
    child.stderr!.on('data', (d: Buffer) => { if (stderr.length < MAX_OUTPUT) stderr += d.toString('utf8'); });
    const timer = setTimeout(() => {
      timedOut = true;
      kill('SIGTERM');
      setTimeout(() => kill('SIGKILL'), 2000).unref();
    }, timeoutMs);
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === 'ENOENT') reject(new ExecError(`'${argv[0]}' was not found (no such program on PATH or at that path)`, 'missing'));
      else if (error.code === 'EACCES') reject(new ExecError(`'${argv[0]}' cannot be run (permission denied: is it executable?)`, 'not-executable'));
      else reject(new ExecError(`'${argv[0]}' could not be started: ${error.message}`, 'failed-to-start'));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const ms = Math.round(performance.now() - started);
      if (timedOut) {
        const said = lastLines(stderr);
        return reject(new ExecError(`'${describeArgv(argv)}' did not finish within ${(timeoutMs / 1000).toFixed(1)} s and was stopped${said ? `; it said: ${said}` : ''}`, 'timeout'));
      }
      resolve({ code, signal, stdout, stderr, ms });
    });
  });
}

/** The command line for messages (arguments with spaces quoted). */
export function describeArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

/** The last few lines of a program's output, on one line, for an error message. */
export function lastLines(text: string, lines = 3): string {
  return text.trim().split(/\r?\n/).filter((l) => l.trim()).slice(-lines).join(' | ');
}

/**
 * Splits a command line into argv the way a user writes one in a spec: words separated by spaces, "double" or
 * 'single' quotes keep spaces, a backslash escapes the next character. No variables, globs or pipes: no shell.
 */
export function splitCommandLine(text: string): string[] {
  const out: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unclosed ${quote} quote in the command '${text}'`);
  if (inWord) out.push(word);
  return out;
}
