// Loads a flow (flows/*.yaml): what to do on each screen. Data, validated here with errors that name the field.
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import type { OsId, ScreenId } from '../vision/types.ts';
import { UsageError } from './errors.ts';

const perOs = z.union([z.string(), z.object({ win10: z.string(), win11: z.string() })]);

const screenStep = z.object({
  do: z.enum(['wait', 'press', 'connect-network', 'windows-key-x5', 'choose-option', 'check-and-provision',
    'follow-esp', 'reseal', 'retry-or-fail', 'fail']),
  button: perOs.optional(),
  option: perOs.optional(),
  refresh: perOs.optional(),
  timeout: z.number().positive().optional(),
  category: z.enum(['product', 'flow', 'infrastructure']).optional(),
  message: z.string().optional(),
}).strict();

const flowSchema = z.object({
  name: z.string(),
  description: z.string().optional(),
  timeouts: z.object({
    run: z.number().positive(),
    unknownGrace: z.number().positive(),
    confirm: z.number().positive(),
    defaultScreen: z.number().positive(),
  }).strict(),
  retries: z.object({
    action: z.number().int().min(1),
    windowsKey: z.number().int().min(1),
    refresh: z.number().int().min(0),
  }).strict(),
  screens: z.record(z.string(), screenStep),
}).strict();

export type Flow = z.infer<typeof flowSchema>;
export type FlowStep = z.infer<typeof screenStep>;
export type PerOs = z.infer<typeof perOs>;

export const FLOWS_DIR = fileURLToPath(new URL('../../flows/', import.meta.url));

/** A flow by name (flows/NAME.yaml) or by path. */
export function loadFlow(nameOrPath = 'technician'): Flow {
  const file = existsSync(nameOrPath) ? nameOrPath : `${FLOWS_DIR}${nameOrPath}.yaml`;
  if (!existsSync(file)) throw new UsageError(`flow '${nameOrPath}' not found (looked for ${file})`);
  let data: unknown;
  try {
    data = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`${file}: not valid YAML: ${(err as Error).message}`);
  }
  const parsed = flowSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`${file}: field '${issue.path.join('.')}': ${issue.message}`);
  }
  return parsed.data;
}

export function labelFor(value: PerOs | undefined, os: OsId): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value[os];
}

export function stepFor(flow: Flow, screen: ScreenId): FlowStep | undefined {
  return flow.screens[screen];
}
