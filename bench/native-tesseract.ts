// The native `tesseract` command, when it is on PATH: the yardstick that the recognizer's times are set against.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** "tesseract 5.3.0", or null when the command is not installed. */
export async function nativeTesseractVersion(): Promise<string | null> {
  try {
    const { stdout, stderr } = await run('tesseract', ['--version'], { timeout: 10_000 });
    // Older builds print the version on stderr.
    const first = `${stdout}\n${stderr}`.split('\n').map((l) => l.trim()).find((l) => /^tesseract\b/i.test(l));
    return first ?? null;
  } catch {
    return null;
  }
}

/**
 * Wall time in ms of `tesseract FILE -` (what a user would run on the whole frame), and the characters it read;
 * `env` adds to the environment, `args` go after the command's own (`--tessdata-dir DIR`).
 */
export async function timeNativeTesseract(file: string, env?: Record<string, string>, args: string[] = []): Promise<{ ms: number; chars: number }> {
  const t0 = performance.now();
  let stdout: string;
  try {
    ({ stdout } = await run('tesseract', [file, '-', ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024, ...(env ? { env: { ...process.env, ...env } } : {}) }));
  } catch (e) {
    throw new Error(`native tesseract failed on ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { ms: performance.now() - t0, chars: stdout.replace(/\s+/g, '').length };
}
