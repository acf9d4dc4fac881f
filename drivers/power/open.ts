// A station's power from its spec (a bench file's `power:` or a command-line option): one of
//   board                                  the keyboard board's power-button output (this project's firmware)
//   uhubctl:LOCATION:PORT                  USB hub port power, e.g. uhubctl:1-1.4:2
//   pikvm:https://HOST[,insecure][,user-env=VAR][,password-env=VAR]   a PiKVM's ATX
//   command:ON CMD|OFF CMD[|STATE CMD]     external commands (no shell), e.g. command:plug on b|plug off b
//   manual[:WAIT-FILE]                     a person, asked on the terminal (or a file that appears)
// or the same as a mapping with `kind:` (for YAML), validated field by field (powerSpecSchema). Credentials are
// never in a spec: a PiKVM's come from the environment variables that it names.
import { z } from 'zod';
import { UsageError } from '../errors.ts';
import { PikvmClient, PikvmSpecError, checkPikvmConfig, parsePikvmSpec, type PikvmConfig } from '../hid/pikvm-api.ts';
import { BoardButtonPower, type PowerButtonBoard } from './board-button.ts';
import { CommandPower, type PowerCommands } from './command.ts';
import { splitCommandLine } from './exec.ts';
import { ManualPower } from './manual.ts';
import { PikvmAtxPower } from './pikvm-atx.ts';
import type { Power } from './types.ts';
import { UhubctlPower } from './uhubctl.ts';

/** What openPower builds from, whichever way the spec was written. */
export type PowerConfig =
  | { kind: 'board'; onTimeoutMs?: number; offTimeoutMs?: number }
  | { kind: 'uhubctl'; location: string; port: number; command?: string; cycleDelayS?: number; timeoutMs?: number }
  | { kind: 'pikvm'; pikvm: PikvmConfig; onTimeoutMs?: number; offTimeoutMs?: number }
  | { kind: 'command'; commands: PowerCommands; timeoutMs?: number; cycleDelayMs?: number }
  | { kind: 'manual'; waitFile?: string; timeoutMs?: number };

export const POWER_FORMS = [
  'board',
  'uhubctl:LOCATION:PORT (e.g. uhubctl:1-1.4:2)',
  'pikvm:https://HOST[,insecure][,user-env=VAR][,password-env=VAR]',
  'command:ON COMMAND|OFF COMMAND[|STATE COMMAND]',
  'manual[:WAIT-FILE]',
  'or a mapping with kind: board | uhubctl | pikvm | command | manual',
];

/** A wrong power spec: bad input (exit 64); `field` is where, e.g. "port". */
export class PowerSpecError extends UsageError {
  constructor(message: string, readonly field: (string | number)[] = []) {
    super(message);
    this.name = 'PowerSpecError';
  }
}

const seconds = z.number().positive().max(86_400);
const ms = (s: number | undefined) => (s === undefined ? undefined : Math.round(s * 1000));
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name (letters, digits, _)');
/** A command as argv, or as one line split like a shell would split words (no shell runs it). */
const commandLine = z.union([
  z.array(z.string().min(1)).min(1),
  z.string().min(1).transform((text, ctx) => {
    try {
      const argv = splitCommandLine(text);
      if (argv.length === 0) throw new Error('an empty command');
      return argv;
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  }),
], { error: 'must be a command: a string ("plug on b") or a list of arguments (["plug", "on", "b"])' });
const location = z.string().regex(/^\d+(-\d+(\.\d+)*)?$/, 'must be a USB hub location such as 1-1 or 2-1.4 (uhubctl lists them)');

const objectSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('board'),
    /** Seconds to wait for the device to read the keyboard after a press / stop reading it. */
    onTimeout: seconds.optional(),
    offTimeout: seconds.optional(),
  }),
  z.strictObject({
    kind: z.literal('uhubctl'),
    location,
    port: z.number().int().min(1).max(255),
    command: z.string().min(1).optional(),
    cycleDelay: z.number().min(0).max(600).optional(),
    timeout: seconds.optional(),
  }),
  z.strictObject({
    kind: z.literal('pikvm'),
    url: z.string().regex(/^https?:\/\/[^\s]+$/i, 'must be the PiKVM\'s http(s):// URL'),
    userEnv: envName.optional(),
    passwordEnv: envName.optional(),
    insecureTls: z.boolean().optional(),
    onTimeout: seconds.optional(),
    offTimeout: seconds.optional(),
  }),
  z.strictObject({
    kind: z.literal('command'),
    on: commandLine,
    off: commandLine,
    forceOff: commandLine.optional(),
    cycle: commandLine.optional(),
    state: commandLine.optional(),
    timeout: seconds.optional(),
    cycleDelay: z.number().min(0).max(600).optional(),
  }),
  z.strictObject({
    kind: z.literal('manual'),
    waitFile: z.string().min(1).optional(),
    timeout: seconds.optional(),
  }),
], { error: 'kind must be one of board, uhubctl, pikvm, command, manual' });

type PowerObject = z.output<typeof objectSchema>;

function fromObject(o: PowerObject): PowerConfig {
  switch (o.kind) {
    case 'board':
      return { kind: 'board', onTimeoutMs: ms(o.onTimeout), offTimeoutMs: ms(o.offTimeout) };
    case 'uhubctl':
      return { kind: 'uhubctl', location: o.location, port: o.port, command: o.command, cycleDelayS: o.cycleDelay, timeoutMs: ms(o.timeout) };
    case 'pikvm':
      return {
        kind: 'pikvm', pikvm: { url: o.url, userEnv: o.userEnv, passwordEnv: o.passwordEnv, insecureTls: o.insecureTls },
        onTimeoutMs: ms(o.onTimeout), offTimeoutMs: ms(o.offTimeout),
      };
    case 'command':
      return {
        kind: 'command', commands: { on: o.on, off: o.off, forceOff: o.forceOff, cycle: o.cycle, state: o.state },
        timeoutMs: ms(o.timeout), cycleDelayMs: ms(o.cycleDelay),
      };
    case 'manual':
      return { kind: 'manual', waitFile: o.waitFile, timeoutMs: ms(o.timeout) };
  }
}

/** A spec string to its config; throws PowerSpecError naming what is wrong. */
export function parsePowerString(spec: string): PowerConfig {
  const text = spec.trim();
  const bad = (why: string) => new PowerSpecError(`power '${spec}': ${why}; accepted forms: ${POWER_FORMS.join('; ')}`);
  if (text === 'board') return { kind: 'board' };
  if (text === 'manual') return { kind: 'manual' };
  if (text.startsWith('manual:')) {
    const waitFile = text.slice('manual:'.length).trim();
    if (!waitFile) throw bad('manual: names no wait file');
    return { kind: 'manual', waitFile };
  }
  if (text.startsWith('uhubctl:')) {
    const m = /^uhubctl:([^:]+):(\d+)$/.exec(text);
    if (!m) throw bad('expected uhubctl:LOCATION:PORT, e.g. uhubctl:1-1.4:2');
    const loc = location.safeParse(m[1]);
    if (!loc.success) throw bad(`location '${m[1]}' ${loc.error.issues[0].message}`);
    const port = Number(m[2]);
    if (port < 1 || port > 255) throw bad(`port ${m[2]} must be 1..255`);
    return { kind: 'uhubctl', location: m[1], port };
  }
  if (/^pikvm:/i.test(text)) {
    try {
      const { flags: _flags, ...pikvm } = parsePikvmSpec(text);
      return { kind: 'pikvm', pikvm };
    } catch (error) {
      throw error instanceof PikvmSpecError ? new PowerSpecError(`power: ${error.message}`) : error;
    }
  }
  if (text.startsWith('command:')) {
    const parts = text.slice('command:'.length).split('|').map((p) => p.trim());
    if (parts.length < 2 || parts.length > 3 || parts.some((p) => !p)) throw bad('expected command:ON COMMAND|OFF COMMAND[|STATE COMMAND]');
    try {
      const [on, off, state] = parts.map(splitCommandLine);
      return { kind: 'command', commands: { on, off, ...(state ? { state } : {}) } };
    } catch (error) {
      throw bad((error as Error).message);
    }
  }
  throw bad('is not understood');
}

/**
 * The bench file's `power:` (a string or a mapping) to a PowerConfig, with an issue at the right field when it
 * is wrong: `stations[2].power.port: …`. Embed it: `power: powerSpecSchema.optional()`.
 */
export const powerSpecSchema = z.any().transform((value, ctx): PowerConfig => {
  if (typeof value === 'string') {
    try {
      return parsePowerString(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: `must be a string or a mapping: ${POWER_FORMS.join('; ')}` });
    return z.NEVER;
  }
  const parsed = objectSchema.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path as (string | number)[] });
    return z.NEVER;
  }
  return fromObject(parsed.data);
});

/** Parses any spec (string or mapping) outside a bench file; errors name the field. */
export function parsePowerSpec(value: unknown): PowerConfig {
  const parsed = powerSpecSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue.path.length ? `${issue.path.join('.')}: ` : '';
  throw new PowerSpecError(`power ${field}${issue.message}`, issue.path as (string | number)[]);
}

/** What openPower may need from the station. */
export interface PowerContext {
  /** The station's name (in prompts, and given to commands as AUTOPILOT_HIL_STATION). */
  station?: string;
  /** The station's keyboard: `board` power needs it to be the serial board (with powerButton()). */
  board?: object | null;
  /** Where the PiKVM credentials are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** For manual power: where the prompt goes and the answer comes from. */
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
}

function hasPowerButton(board: object | null | undefined): board is PowerButtonBoard {
  return !!board && typeof (board as { powerButton?: unknown }).powerButton === 'function' && typeof (board as { status?: unknown }).status === 'function';
}

/** Builds the station's power from its spec. Nothing is switched yet. */
export async function openPower(spec: string | PowerConfig | Record<string, unknown>, ctx: PowerContext = {}): Promise<Power> {
  const config: PowerConfig = typeof spec === 'object' && 'kind' in spec && isConfig(spec) ? spec : parsePowerSpec(spec);
  switch (config.kind) {
    case 'board': {
      if (!hasPowerButton(ctx.board)) {
        const what = ctx.board ? `its keyboard (${(ctx.board as { description?: string }).description ?? 'not a serial board'}) has no power-button output` : 'no board was given';
        throw new PowerSpecError(`power 'board' uses the station's serial HID board, but ${what}: use uhubctl:, pikvm:, command: or manual instead`);
      }
      return new BoardButtonPower(ctx.board, { onTimeoutMs: config.onTimeoutMs, offTimeoutMs: config.offTimeoutMs });
    }
    case 'uhubctl':
      return new UhubctlPower({ location: config.location, port: config.port, command: config.command, cycleDelayS: config.cycleDelayS, timeoutMs: config.timeoutMs });
    case 'pikvm': {
      try {
        checkPikvmConfig(config.pikvm, 'power');
      } catch (error) {
        throw new PowerSpecError((error as Error).message, ['url']);
      }
      const client = new PikvmClient(config.pikvm, { env: ctx.env });
      return new PikvmAtxPower(client, { onTimeoutMs: config.onTimeoutMs, offTimeoutMs: config.offTimeoutMs });
    }
    case 'command':
      return new CommandPower(config.commands, { timeoutMs: config.timeoutMs, cycleDelayMs: config.cycleDelayMs, station: ctx.station });
    case 'manual':
      return new ManualPower({ station: ctx.station, waitFile: config.waitFile, timeoutMs: config.timeoutMs, input: ctx.input, output: ctx.output });
  }
}

/** A PowerConfig already (from powerSpecSchema), rather than a mapping still to validate. */
function isConfig(value: object): value is PowerConfig {
  const v = value as Record<string, unknown>;
  switch (v.kind) {
    case 'pikvm': return typeof v.pikvm === 'object' && v.pikvm !== null;
    case 'command': return typeof v.commands === 'object' && v.commands !== null;
    case 'uhubctl': return typeof v.location === 'string' && typeof v.port === 'number' && !('cycleDelay' in v) && !('timeout' in v);
    case 'board': return !('onTimeout' in v) && !('offTimeout' in v);
    case 'manual': return !('timeout' in v);
    default: return false;
  }
}
