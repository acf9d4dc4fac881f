// report.json of a run (DESIGN.md "Contracts"): the verdict, what the device said, what was expected, every step;
// and beside it junit.xml (for CI) and report.html (for a person), made from the same report.
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { renderJunit } from './junit.ts';
import { framesShown, renderHtml } from './html.ts';
import { thumbnailsSync } from './thumbnails.ts';
import { maskDeep } from './secrets.ts';
import { esc } from './markup.ts';
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
  failure?: {
    category: Category; code?: string; message: string; frame?: string | null;
    /** What OCR read on the failure's frame, when no step kept that frame. */
    texts?: string[];
  };
}

export function emptyDevice(): DeviceSeen {
  return { organization: null, profile: null, user: null, ztdId: null, serialNumber: null, elapsed: null, errorCode: null };
}

/** Writes a file so that a reader never sees half of it: a temporary file, then a rename. */
export function writeFileAtomic(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, file);
}

/**
 * Writes report.json, junit.xml and report.html into the run folder, each atomically, with every known
 * secret masked. report.json goes first: it is the contract, and it is written even when a renderer fails.
 * Returns the path of report.json.
 */
export function writeReport(dir: string, report: Report): string {
  mkdirSync(dir, { recursive: true });
  const safe = maskDeep(report);
  const file = join(dir, 'report.json');
  writeFileAtomic(file, `${JSON.stringify(safe, null, 2)}\n`);
  writeFileAtomic(join(dir, 'junit.xml'), renderJunit(safe));
  writeFileAtomic(join(dir, 'report.html'), htmlOrFallback(dir, safe));
  return file;
}

/** The report.json of a run folder as it was written (masked), or null when it is missing, half-written or broken. */
export function readReport(dir: string): Report | null {
  const file = join(dir, 'report.json');
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Report;
  } catch {
    return null;
  }
}

function htmlOrFallback(dir: string, report: Report): string {
  try {
    const thumbs = thumbnailsSync(dir, framesShown(report));
    return renderHtml(report, (frame, width) => thumbs.get(`${frame}|${width}`) ?? null);
  } catch (err) {
    // The page is a view of report.json: if it cannot be made, say so in it rather than lose the verdict.
    return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${esc(report.result)}</title></head><body>
<h1>${esc(report.result)}</h1><p>${esc(report.failure?.message ?? '')}</p>
<p>This page could not be made (${esc((err as Error).message)}); <a href="report.json">report.json</a> has the whole run.</p></body></html>\n`;
  }
}
