// Loads a flow (flows/*.yaml): per screen, what to do, what may come next, how long to wait, how to press
// each button (a label to click, or keys). Data, validated here with errors that name the file, line and field.
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { OsId, ScreenId } from '../vision/types.ts';
import { UsageError } from './errors.ts';
import { lineOf, readYaml } from './yaml-positions.ts';

/** Every screen id of reference/screens.md: a flow names no other. */
export const SCREEN_IDS = [
  'no-signal', 'oobe-busy', 'oobe-region', 'oobe-keyboard', 'oobe-keyboard-second', 'oobe-network', 'oobe-eula',
  'entra-signin', 'provisioning-options', 'provisioning-config', 'esp', 'provisioning-success', 'provisioning-failure',
  'oobe-consumer-setup', 'msa-signin', 'oobe-device-name', 'oobe-privacy', 'windows-login',
] as const satisfies readonly Exclude<ScreenId, 'unknown'>[];

const screenId = z.enum(SCREEN_IDS);

/** A value that may differ per OS; an OS left out has none. */
function perOs<T extends z.ZodType>(value: T) {
  return z.union([value, z.strictObject({ win10: value.optional(), win11: value.optional() })]);
}

/** A key chord: W3C key codes joined by '+', e.g. Enter, ShiftLeft+Tab, ControlLeft+ShiftLeft+KeyD. */
const chord = z.string().regex(/^[A-Za-z0-9]+(\+[A-Za-z0-9]+)*$/, 'a key chord such as Enter or ShiftLeft+Tab');

const control = z.strictObject({
  /** The text OCR finds on screen; clicked with an absolute pointer. */
  label: perOs(z.string().min(1)).optional(),
  /** The chords that press it by keyboard, in order. */
  keys: perOs(z.array(chord).min(1)).optional(),
}).refine((c) => c.label !== undefined || c.keys !== undefined, { message: 'a control needs a label or keys' });

const ACTIONS = ['wait', 'press', 'connect-network', 'windows-key', 'choose-option', 'check-and-provision',
  'follow-esp', 'reseal', 'retry-or-fail', 'fail'] as const;

const screenStep = z.strictObject({
  do: z.enum(ACTIONS),
  next: z.array(screenId).optional(),
  transient: z.boolean().optional(),
  controls: z.record(z.string(), control).optional(),
  option: perOs(z.string().min(1)).optional(),
  timeout: z.number().positive().optional(),
  category: z.enum(['product', 'flow', 'infrastructure']).optional(),
  message: z.string().optional(),
});

const flowSchema = z.strictObject({
  name: z.string(),
  description: z.string().optional(),
  /** The screens the device may show first (after transient ones). */
  start: z.array(screenId).min(1),
  timeouts: z.strictObject({
    run: z.number().positive(),
    unknownGrace: z.number().positive(),
    confirm: z.number().positive(),
    defaultScreen: z.number().positive(),
    /** How long the picture may stay the same, byte for byte, before the capture counts as hung. */
    frozen: z.number().positive().default(300),
  }),
  /** What the engine does with the station's power, when it has one (drivers/power). */
  power: z.strictObject({
    /** Power the device on when the run starts on a dark screen (never after Reseal). */
    onAtStart: z.boolean().default(true),
    /** Seconds the screen must stay dark first: a PC that is booting shows its logo within them, and must
     * not get a press of its power button (that would shut it down). */
    darkBeforeOn: z.number().min(0).default(20),
    /** Power it off (forced) when the run ends in a failure, e.g. to save a bench overnight. */
    offAfterFailure: z.boolean().default(false),
  }).prefault({}),
  retries: z.strictObject({
    action: z.number().int().min(1),
    windowsKey: z.number().int().min(1),
    refresh: z.number().int().min(0),
    reset: z.number().int().min(0),
  }),
  windowsKey: z.strictObject({
    presses: z.number().int().min(1),
    spacingMs: z.number().min(0),
    on: z.array(screenId).min(1),
  }),
  screens: z.partialRecord(screenId, screenStep),
}).superRefine((flow, ctx) => {
  const listed = new Set(Object.keys(flow.screens));
  const need = (path: (string | number)[], id: string) => {
    if (!listed.has(id)) ctx.addIssue({ code: 'custom', path, message: `screen "${id}" has no step in this flow` });
  };
  flow.start.forEach((id, i) => need(['start', i], id));
  flow.windowsKey.on.forEach((id, i) => need(['windowsKey', 'on', i], id));
  for (const [id, step] of Object.entries(flow.screens)) {
    step!.next?.forEach((n, i) => need(['screens', id, 'next', i], n));
    const wants: Record<string, string[]> = {
      press: ['button'], 'choose-option': ['button'], 'check-and-provision': ['button'], reseal: ['button'],
      'retry-or-fail': ['retry'], 'connect-network': ['connect', 'next'],
    };
    for (const name of wants[step!.do] ?? []) {
      if (!step!.controls?.[name]) ctx.addIssue({ code: 'custom', path: ['screens', id, 'controls', name], message: `missing: "do: ${step!.do}" needs this control` });
    }
    if (step!.do === 'choose-option' && !step!.option) ctx.addIssue({ code: 'custom', path: ['screens', id, 'option'], message: 'missing: the option to choose' });
  }
});

export type Flow = z.infer<typeof flowSchema>;
export type FlowStep = z.infer<typeof screenStep>;
export type Control = z.infer<typeof control>;
export type PerOs<T> = T | { win10?: T; win11?: T };

export const FLOWS_DIR = fileURLToPath(new URL('../../flows/', import.meta.url));

/** A flow by name (flows/NAME.yaml) or by path. Bad input: a UsageError naming file:line: field. */
export function loadFlow(nameOrPath = 'technician'): Flow {
  const file = existsSync(nameOrPath) ? nameOrPath : `${FLOWS_DIR}${nameOrPath}.yaml`;
  if (!existsSync(file)) throw new UsageError(`flow '${nameOrPath}' not found (looked for ${file})`);
  const src = readYaml(file, readFileSync(file, 'utf8'));
  const parsed = flowSchema.safeParse(src.data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
    const keys = path.filter((k): k is string | number => typeof k !== 'symbol');
    throw new UsageError(`${file}:${lineOf(src, keys)}: field '${keys.join('.')}': ${issue.message}`);
  }
  return parsed.data;
}

/** A per-OS value for `os` (a plain value is for both). */
export function forOs<T>(value: PerOs<T> | undefined, os: OsId): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && ('win10' in value || 'win11' in value)) {
    return (value as { win10?: T; win11?: T })[os];
  }
  return value as T;
}

export function labelFor(value: PerOs<string> | undefined, os: OsId): string | undefined {
  return forOs(value, os);
}

export function stepFor(flow: Flow, screen: ScreenId): FlowStep | undefined {
  return screen === 'unknown' ? undefined : flow.screens[screen];
}

/** The screens the flow allows after `from` (null: at the start of the run). */
export function allowedNext(flow: Flow, from: ScreenId | null): ScreenId[] {
  if (from === null) return flow.start;
  return stepFor(flow, from)?.next ?? [];
}

/**
 * Whether `screen` may show now, coming from `from` (the last screen that was not transient): the same
 * screen again, a transient screen, an off-path screen (it ends the run with its own diagnosis), or one
 * the flow lists after `from`.
 */
export function mayFollow(flow: Flow, from: ScreenId | null, screen: ScreenId): boolean {
  const step = stepFor(flow, screen);
  if (!step) return false;
  if (screen === from || step.transient || step.do === 'fail') return true;
  return allowedNext(flow, from).includes(screen);
}
