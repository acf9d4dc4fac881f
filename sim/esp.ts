// The Enrollment Status Page as a function of time: the scenario's Device preparation and Device setup
// items run one after another on the simulated clock; a scenario failure stops them at an item with an error code.
// Pure: the device asks "what does the ESP show after this many seconds, and when does it next change?".
import type { EspPhaseView } from './view.ts';
import type { EspPhaseKey, Scenario } from './scenario.ts';

export interface EspPlanItem {
  phase: EspPhaseKey;
  name: string;
  seconds: number;
  total?: number;
  unit: string;
  /** Position of the item's start on the timeline (simulated seconds). */
  start: number;
}

export interface EspPlan {
  items: EspPlanItem[];
  /** Where this attempt starts on the timeline: 0, or the failed item's start when Retry resumes. */
  startSec: number;
  failure?: { index: number; atSec: number; code: string };
}

export interface EspSnapshot {
  phases: EspPhaseView[];
  outcome: 'running' | 'succeeded' | 'failed';
  /** The item in progress, or the one that failed. */
  current?: { index: number; phase: EspPhaseKey; name: string; state: string };
  /** Seconds since the attempt started at which the view next changes; null when it has ended. */
  nextChangeSec: number | null;
  code?: string;
}

export const PHASE_NAMES: Record<EspPhaseKey | 'accountSetup', string> = {
  devicePreparation: 'Device preparation',
  deviceSetup: 'Device setup',
  accountSetup: 'Account setup',
};

export const ESP_STATE = {
  complete: 'Complete',
  working: 'Working on it...',
  waiting: 'Waiting...',
  error: 'Error',
  notStarted: 'Not started',
  identifying: 'Identifying',
} as const;

/** Share of a counted item spent "Identifying" before it shows counts. */
const IDENTIFY_SHARE = 0.15;

/** The ESP of one provisioning attempt (1-based); `resumeAtItem` restarts at that item (Retry). */
export function buildEspPlan(scenario: Scenario, attempt: number, resumeAtItem = 0): EspPlan {
  const items: EspPlanItem[] = [];
  let t = 0;
  for (const phase of ['devicePreparation', 'deviceSetup'] as const) {
    for (const item of scenario.esp[phase]) {
      items.push({ phase, name: item.name, seconds: item.seconds, total: item.total, unit: item.unit, start: t });
      t += item.seconds;
    }
  }
  const startSec = items[Math.min(resumeAtItem, items.length - 1)]?.start ?? 0;
  const rule = scenario.failures.find((f) => f.attempt === undefined || f.attempt === attempt);
  let failure: EspPlan['failure'];
  if (rule) {
    const index = items.findIndex((i) => i.phase === rule.phase && i.name === rule.item);
    const item = items[index];
    // A failure at an item this attempt skips (already complete before the resume point) cannot happen.
    if (item && index >= resumeAtItem) {
      failure = { index, atSec: item.start + Math.min(rule.afterSeconds ?? item.seconds / 2, item.seconds), code: `0x${rule.code.slice(2).toUpperCase()}` };
    }
  }
  return { items, startSec, failure };
}

function itemBoundaries(item: EspPlanItem): number[] {
  const end = item.start + item.seconds;
  const out = [item.start, end];
  if (item.total) {
    const counting = item.start + item.seconds * IDENTIFY_SHARE;
    for (let k = 0; k < item.total; k++) out.push(counting + (k * item.seconds * (1 - IDENTIFY_SHARE)) / item.total);
  }
  return out;
}

function workingState(item: EspPlanItem, pos: number): string {
  if (!item.total) return ESP_STATE.working;
  const counting = item.start + item.seconds * IDENTIFY_SHARE;
  if (pos < counting - 1e-6) return ESP_STATE.identifying;
  const step = (item.seconds * (1 - IDENTIFY_SHARE)) / item.total;
  // The epsilon keeps a count from lagging one behind at its own boundary (floating point).
  const k = Math.min(item.total - 1, Math.floor((pos - counting) / step + 1e-6));
  return `(${k} of ${item.total} ${item.unit})`;
}

/** What the ESP shows `elapsedSec` simulated seconds after the attempt started; `detailsHidden` collapses every phase. */
export function espAt(plan: EspPlan, elapsedSec: number, detailsHidden = false): EspSnapshot {
  const end = plan.items.reduce((t, i) => Math.max(t, i.start + i.seconds), 0);
  let pos = plan.startSec + Math.max(0, elapsedSec);
  const failed = plan.failure !== undefined && pos >= plan.failure.atSec;
  if (failed) pos = plan.failure!.atSec;
  const succeeded = !failed && pos >= end;

  let current: EspSnapshot['current'];
  const itemStates = plan.items.map((item, index) => {
    let state: string;
    if (failed && index === plan.failure!.index) state = ESP_STATE.error;
    else if (pos >= item.start + item.seconds) state = ESP_STATE.complete;
    else if (pos >= item.start && !failed) state = workingState(item, pos);
    else state = ESP_STATE.waiting;
    if (state !== ESP_STATE.complete && state !== ESP_STATE.waiting && !current) {
      current = { index, phase: item.phase, name: item.name, state };
    }
    return state;
  });

  const failedPhase = failed ? plan.items[plan.failure!.index].phase : undefined;
  const phases: EspPhaseView[] = (['devicePreparation', 'deviceSetup'] as const).map((key) => {
    const states = plan.items.map((item, i) => ({ item, state: itemStates[i] })).filter((x) => x.item.phase === key);
    let state: string;
    if (failedPhase === key) state = ESP_STATE.error;
    else if (failedPhase === 'devicePreparation') state = ESP_STATE.notStarted;
    else if (states.every((s) => s.state === ESP_STATE.complete)) state = ESP_STATE.complete;
    else if (states.some((s) => s.state !== ESP_STATE.waiting)) state = ESP_STATE.working;
    else state = ESP_STATE.waiting;
    return {
      name: PHASE_NAMES[key],
      state,
      expanded: !detailsHidden && current?.phase === key,
      items: states.map((s) => ({ name: s.item.name, state: s.state })),
    };
  });
  phases.push({ name: PHASE_NAMES.accountSetup, state: ESP_STATE.notStarted, expanded: false, items: [] });

  let nextChangeSec: number | null = null;
  if (!failed && !succeeded) {
    const bounds = plan.items.flatMap(itemBoundaries);
    if (plan.failure) bounds.push(plan.failure.atSec);
    const next = Math.min(...bounds.filter((b) => b > pos + 1e-6));
    nextChangeSec = next - plan.startSec;
  }
  return {
    phases,
    outcome: failed ? 'failed' : succeeded ? 'succeeded' : 'running',
    current,
    nextChangeSec,
    code: failed ? plan.failure!.code : undefined,
  };
}
