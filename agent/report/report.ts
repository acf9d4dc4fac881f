// report.json of a run (DESIGN.md "Contracts"): the verdict, what the device said, what was expected, every step.
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Category } from '../engine/errors.ts';
import type { EspPhase, OsId, ScreenId } from '../vision/types.ts';

export type Result = 'passed' | Category;

export interface DeviceSeen {
  organization: string | null;
  profile: string | null;
  user: string | null;
  ztdId: string | null;
  serialNumber: string | null;
  elapsed: string | null;
  errorCode: string | null;
}

export interface Expected {
  organization?: string;
  profile?: string;
  user?: string;
  ztdId?: string;
  serialNumber?: string;
}

export interface Step {
  screen: ScreenId;
  action: string;
  /** ISO time the step started. */
  at: string;
  ms: number;
  /** Frame files, relative to the run folder. */
  frameBefore: string | null;
  frameAfter: string | null;
  /** What OCR read on the frame before the action. */
  texts: string[];
  /** Fields read on the screen, when it has any. */
  fields?: Record<string, unknown>;
  note?: string;
}

export interface EspSample { at: string; phases: EspPhase[] }

export interface Report {
  result: Result;
  flow: string;
  os: OsId | null;
  station: string;
  startedAt: string;
  durationMs: number;
  device: DeviceSeen;
  expected: Expected;
  steps: Step[];
  esp: EspSample[];
  attempts: number;
  hid?: Record<string, number>;
  failure?: { category: Category; code?: string; message: string; frame?: string | null };
}

export function emptyDevice(): DeviceSeen {
  return { organization: null, profile: null, user: null, ztdId: null, serialNumber: null, elapsed: null, errorCode: null };
}

/** Writes report.json atomically (a reader never sees half a file). */
export function writeReport(dir: string, report: Report): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'report.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return file;
}
