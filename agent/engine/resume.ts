// Going on with a run after the agent died: the run context as the journal left it, and the step that marks
// the restart in the report (what was taken before, what was begun and counts as taken).
import { emptyDevice, type Report, type Step } from '../report/report.ts';
import type { RunContext, RunOptions } from './context.ts';
import type { Category } from './errors.ts';
import type { RestoredRun } from './journal.ts';
import type { Observation } from './observer.ts';

/**
 * The report of a run that ended before its flow could start or go on (a part did not open): a resumed run's
 * report keeps what its earlier lives saw, and its journal stays open to resume.
 */
export function reportBeforeFlow(options: RunOptions, startedAt: Date, restored: RestoredRun | null | undefined,
  failure: { category: Category; message: string }): Report {
  return {
    result: failure.category, flow: options.flow, os: restored?.os ?? (options.os === 'auto' ? null : options.os), station: options.station,
    startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), device: restored?.device ?? emptyDevice(),
    expected: options.expected, steps: restored?.steps ?? [], esp: restored?.esp ?? [], attempts: restored?.counters.attempts ?? 0,
    failure,
  };
}

/** Puts what the earlier lives saw back into a fresh context: steps, ESP samples, device fields, counters. */
export function restoreContext(ctx: RunContext, run: RestoredRun): void {
  ctx.steps.push(...run.steps);
  ctx.esp.push(...run.esp);
  if (run.device) Object.assign(ctx.device, run.device);
  if (run.os) ctx.os = run.os;
  const numbers = ctx as unknown as Record<string, unknown>;
  for (const [name, value] of Object.entries(run.counters)) {
    if (typeof numbers[name] === 'number' && typeof value === 'number') numbers[name] = value;
  }
  const last = ctx.steps[ctx.steps.length - 1];
  if (last && !last.frameAfter) last.note = [last.note, 'the agent stopped during this step'].filter(Boolean).join('; ');
}

/** What the note of the resume step says about the irreversible actions of the earlier lives. */
export function takenNote(run: RestoredRun): string {
  const done = run.taken.filter((a) => a.done && !a.failed).map((a) => a.key);
  const failed = run.taken.filter((a) => a.failed).map((a) => `${a.key} (${a.failed})`);
  const begun = run.taken.filter((a) => !a.done).map((a) => a.key);
  const parts: string[] = [];
  if (done.length) parts.push(`taken before the restart, not taken again: ${done.join(', ')}`);
  if (failed.length) parts.push(`failed before the restart, not taken again: ${failed.join(', ')}`);
  if (begun.length) {
    parts.push(`begun when the agent stopped, so counted as taken and not taken again (it may not have reached the device): ${begun.join(', ')}`);
  }
  return parts.join('; ');
}

/** The step that marks a restart: on the first screen the new life of the agent found. */
export function resumeStep(ctx: RunContext, run: RestoredRun, obs: Observation): Step {
  const previous = run.steps[run.steps.length - 1];
  const note = [
    `the agent was restarted (run --resume, life ${run.lives.length + 1}) after ${run.steps.length} step${run.steps.length === 1 ? '' : 's'}`
      + `${previous ? ` (last: ${previous.screen}, ${previous.action})` : ''} and went on from the screen it found`,
    takenNote(run),
  ].filter(Boolean).join('; ');
  return {
    screen: obs.rec.screen,
    action: 'resume after the agent stopped',
    at: new Date().toISOString(),
    ms: 0,
    frameBefore: ctx.evidence.keep(obs.frame, obs.rec.screen, 'seen'),
    frameAfter: null,
    texts: obs.rec.lines.map((l) => l.text),
    note,
  };
}
