// A station's calibration profile (calibration/NAME.json): where the device's picture sits in the grabber's
// frame, how long a key takes to show, and how the absolute pointer maps onto the frame. Written by
// `calibrate`, read by runs. Versioned: a profile of another version is refused with what to do.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../engine/errors.ts';

export const CALIBRATION_VERSION = 1;

const px = z.number().finite().min(0);
const box = z.object({ x0: px, y0: px, x1: px, y1: px }).strict()
  .refine((b) => b.x1 > b.x0 && b.y1 > b.y0, { message: 'x1 must be above x0 and y1 above y0' });

export const calibrationSchema = z.object({
  version: z.literal(CALIBRATION_VERSION),
  station: z.string().min(1),
  /** ISO time of the measurement. */
  measuredAt: z.iso.datetime({ offset: true }),
  /** The grabber's frame size when measured. */
  frame: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }).strict(),
  /** The device's picture inside the frame (frame pixels; bars outside it). */
  activeArea: box,
  /** From a key acknowledged by the board to the frame that shows it; null: not measured (see skipped). */
  keyLatencyMs: z.object({ p50: px, p95: px, samples: z.number().int().positive() }).strict().nullable(),
  /**
   * Where the pointer shows for a position sent to the board, in fractions of the frame:
   * seenX = scaleX * aimedX + offsetX (the same for y). errorPx: the largest miss left after the fit;
   * rawErrorPx: the largest miss with no correction. Null: not measured (see skipped).
   */
  pointer: z.object({
    scaleX: z.number().finite().positive(), offsetX: z.number().finite(),
    scaleY: z.number().finite().positive(), offsetY: z.number().finite(),
    errorPx: px, rawErrorPx: px.optional(), points: z.number().int().min(2),
  }).strict().nullable(),
  /** Overscan the pointer mapping shows: the share of the device's screen cut from each edge. */
  overscan: z.object({ x: z.number().finite(), y: z.number().finite() }).strict().optional(),
  /** Why a measurement was left out, in words. */
  skipped: z.object({ keyLatency: z.string().optional(), pointer: z.string().optional() }).strict().optional(),
  /** What was measured (credentials stripped). */
  source: z.object({ hid: z.string(), capture: z.string() }).strict().optional(),
}).strict().superRefine((c, ctx) => {
  const a = c.activeArea;
  if (a.x1 > c.frame.width || a.y1 > c.frame.height) {
    ctx.addIssue({ code: 'custom', path: ['activeArea'], message: `reaches outside the ${c.frame.width}x${c.frame.height} frame` });
  }
  if (c.keyLatencyMs && c.keyLatencyMs.p95 < c.keyLatencyMs.p50) {
    ctx.addIssue({ code: 'custom', path: ['keyLatencyMs', 'p95'], message: 'is below p50' });
  }
});

export type Calibration = z.infer<typeof calibrationSchema>;
export type PointerMapping = NonNullable<Calibration['pointer']>;

/** The line (1-based) where a field's key is in JSON text: each key of the path looked for after the last. */
function lineOf(text: string, path: readonly PropertyKey[]): number {
  let at = 0;
  for (const key of path) {
    if (typeof key !== 'string') continue;
    const i = text.indexOf(`"${key}"`, at);
    if (i < 0) break;
    at = i;
  }
  return text.slice(0, at).split('\n').length;
}

/** Checks a profile (parsed JSON); a UsageError names `source:line: field: what is wrong`. */
export function parseCalibration(text: string, source = 'calibration'): Calibration {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const m = /position (\d+)/.exec((err as Error).message);
    const line = m ? text.slice(0, Number(m[1])).split('\n').length : 1;
    throw new UsageError(`${source}:${line}: not valid JSON (${(err as Error).message})`);
  }
  if (data && typeof data === 'object' && 'version' in data && (data as { version: unknown }).version !== CALIBRATION_VERSION) {
    throw new UsageError(`${source}:${lineOf(text, ['version'])}: version: this agent reads calibration version ${CALIBRATION_VERSION}, the file has ${JSON.stringify((data as { version: unknown }).version)}: run \`autopilot-hil calibrate\` again`);
  }
  const parsed = calibrationSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
    const got = valueAt(data, issue.path);
    const shown = got === undefined ? 'missing' : `got ${JSON.stringify(got)}`;
    throw new UsageError(`${source}:${lineOf(text, issue.path)}: ${field}: ${issue.message} (${shown})`);
  }
  return parsed.data;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/** Reads and checks a profile file; a missing or bad file is a UsageError (exit 64) naming the file, line and field. */
export function loadCalibration(file: string): Calibration {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`calibration file ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseCalibration(text, file);
}

/** The profile as written to disk: fields in a fixed order, two-space indent, a final newline. */
export function formatCalibration(cal: Calibration): string {
  return `${JSON.stringify(calibrationSchema.parse(cal), null, 2)}\n`;
}

/**
 * The file a station's `calibration:` names: a path (it has a slash or ends in .json) relative to `baseDir`,
 * or a profile name, calibration/NAME.json beside the bench file.
 */
export function resolveCalibrationFile(nameOrFile: string, baseDir: string): string {
  const isPath = /[\\/]/.test(nameOrFile) || nameOrFile.endsWith('.json');
  return resolve(baseDir, isPath ? nameOrFile : join('calibration', `${nameOrFile}.json`));
}
