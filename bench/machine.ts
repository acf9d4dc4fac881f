// The machine the figures were measured on: they mean little without it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { mb, round } from './stats.ts';
import { nativeTesseractVersion } from './native-tesseract.ts';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryMB: number;
  platform: string;
  node: string;
  tesseractJs: string | null;
  /** The native command's version, null when it is not installed. */
  tesseract: string | null;
  /** 1, 5 and 15 minute load averages when the bench started: other work on the machine skews the figures. */
  loadAverage: number[];
  /** node ran with --expose-gc, so memory is measured after a full collection. */
  gcExposed: boolean;
}

function packageVersion(name: string): string | null {
  try {
    const require = createRequire(import.meta.url);
    return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

export async function machineInfo(): Promise<MachineInfo> {
  const cpu = cpus()[0]?.model?.trim() || 'unknown';
  return {
    cpu,
    cores: availableParallelism(),
    memoryMB: round(mb(totalmem()), 0),
    platform: `${process.platform} ${process.arch}`,
    node: process.version,
    tesseractJs: packageVersion('tesseract.js'),
    tesseract: await nativeTesseractVersion(),
    loadAverage: loadavg().map((l) => round(l, 2)),
    gcExposed: typeof globalThis.gc === 'function',
  };
}
