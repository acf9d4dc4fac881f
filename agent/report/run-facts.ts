// Facts about a run that several renderers need: where the failure happened, what was read on its frame,
// which fields were expected and seen. One place, so junit.xml and report.html never disagree.
import type { DeviceSeen, Expected, Report, Step } from './report.ts';

const FRAME_NAME = /^frames\/\d+-(.+)-(before|after|seen|last)\.(jpg|png)$/;

/** The screen id a frame file was kept for (Evidence names them frames/NNN-SCREEN-what.ext). */
export function screenOfFrame(frame: string | null | undefined): string | null {
  return frame ? FRAME_NAME.exec(frame)?.[1] ?? null : null;
}

/**
 * The step the failure belongs to: the last step, when the failure was seen on that step's screen (a red
 * screen read, a screen that stayed too long). Otherwise -1: the failure came after the last step (an
 * unexpected screen, a part that broke) and belongs to the verdict.
 */
export function failureStepIndex(report: Report): number {
  if (!report.failure || !report.steps.length) return -1;
  const last = report.steps.length - 1;
  const step = report.steps[last];
  const frame = report.failure.frame;
  if (frame && (frame === step.frameBefore || frame === step.frameAfter)) return last;
  const screen = screenOfFrame(frame);
  return screen !== null && screen === step.screen ? last : -1;
}

/** What OCR read on the failure's frame, from the step that kept that frame, else what the report says. */
export function textsOnFailureFrame(report: Report): string[] {
  const f = report.failure;
  if (!f) return [];
  if (f.texts?.length) return f.texts;
  if (f.frame) {
    for (let i = report.steps.length - 1; i >= 0; i -= 1) {
      if (report.steps[i].frameBefore === f.frame) return report.steps[i].texts;
    }
  }
  const i = failureStepIndex(report);
  return i >= 0 ? report.steps[i].texts : [];
}

export const FIELD_LABELS: [keyof Expected & keyof DeviceSeen, string][] = [
  ['organization', 'Organization'],
  ['profile', 'Profile'],
  ['user', 'User'],
  ['ztdId', 'ZTD ID'],
  ['serialNumber', 'Serial number'],
];

export type Comparison = 'match' | 'mismatch' | 'not-read' | 'not-checked';

/** Expected against seen, as a person compares them: spaces at the ends and letter case do not count. */
export function compareField(expected: string | undefined, seen: string | null): Comparison {
  if (expected === undefined) return 'not-checked';
  if (seen === null) return 'not-read';
  const norm = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();
  return norm(expected) === norm(seen) ? 'match' : 'mismatch';
}

/** Milliseconds from the run's start to a step's start. */
export function offsetMs(report: Report, step: Step): number {
  return Date.parse(step.at) - Date.parse(report.startedAt);
}

export const RESULT_TITLES: Record<Report['result'], string> = {
  passed: 'Passed',
  product: 'Product failure',
  flow: 'Flow failure',
  infrastructure: 'Infrastructure failure',
};
