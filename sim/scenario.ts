// Scenarios of the virtual device: what the PC is (OS, Autopilot record, network) and how its setup goes
// (optional screens, ESP items and their durations, failures, clock speed). Loaded from YAML files, with
// errors that name the file, the line and the field; a few are built in by name (sim/scenarios/*.yaml).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, isMap, parseDocument, type Document } from 'yaml';
import { z } from 'zod';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HRESULT = /^0x[0-9a-f]{8}$/i;

const DeviceSchema = z.strictObject({
  serial: z.string().min(1),
  ztdId: z.string().regex(GUID, 'must be a GUID such as 6f1d0b3e-8c2a-4e57-9b1d-3a7c5e9f2d41'),
  organization: z.string().min(1),
  profile: z.string().min(1),
  /** Assigned user (UPN); "" means none. */
  user: z.string().default(''),
  /** false: the device is not registered or has no profile assigned (consumer setup, "No Autopilot profile"). */
  hasProfile: z.boolean().default(true),
  /** The two JSON shapes of reference/screens.md. */
  qrFormat: z.enum(['flat', 'block-sequence']).default('flat'),
  /** The profile reaches the device late: the configuration page shows `before` until Refresh was pressed `afterRefreshes` times. */
  profileArrives: z.strictObject({ afterRefreshes: z.number().int().min(1), before: z.string().min(1) }).optional(),
});

const WifiNetworkSchema = z.strictObject({
  ssid: z.string().min(1),
  secured: z.boolean().default(true),
  /** Omitted: no key is right (the lab does not know it). */
  key: z.string().optional(),
  /** Connecting works but there is no internet behind it: setup cannot go on. */
  internet: z.boolean().default(false),
});

const DEFAULT_OTHER_NETWORKS = [
  { ssid: 'CORP-5G', secured: true, internet: false },
  { ssid: 'Guest', secured: false, internet: false },
  { ssid: 'Printer-Direct', secured: true, internet: false },
];

const NetworkSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('wifi'),
    ssid: z.string().min(1),
    /** The network key; required unless `secured: false`. Never logged. */
    key: z.string().optional(),
    secured: z.boolean().default(true),
    /** Other networks in range (no internet behind them unless they say so). */
    others: z.array(WifiNetworkSchema).default(DEFAULT_OTHER_NETWORKS),
    /** Where the scenario's network appears in the list (0 = top). */
    listIndex: z.number().int().min(0).default(1),
  }),
  z.strictObject({ kind: z.literal('wired') }),
  z.strictObject({ kind: z.literal('none') }),
]);

const ScreensSchema = z.strictObject({
  /** Region, keyboard and second keyboard pages; default: shown unless the network is wired. */
  setupPages: z.boolean().optional(),
  /** The license page after the network. */
  eula: z.boolean().default(false),
  /** "Your PC will restart before you continue" and a reboot after the network. */
  rebootAfterNetwork: z.boolean().default(true),
  /** A reboot between Provision/Next and the Enrollment Status Page. */
  rebootBeforeEsp: z.boolean().default(true),
  /** "Install provisioning package" among the options. */
  provisioningPackage: z.boolean().default(true),
  /** Setup already finished on this device: after boot it shows the Windows sign-in screen (not fresh). */
  setUp: z.boolean().default(false),
});

const EspItemSchema = z.strictObject({
  name: z.string().min(1),
  /** Simulated seconds the item takes. */
  seconds: z.number().positive(),
  /** Counted items show "(k of N installed)" while they run. */
  total: z.number().int().positive().optional(),
  unit: z.string().default('installed'),
});

const DEFAULT_ESP = {
  devicePreparation: [
    { name: 'Securing your hardware', seconds: 120 },
    { name: "Joining your organization's network", seconds: 180 },
    { name: 'Registering your device for mobile management', seconds: 150 },
    { name: 'Preparing your device for mobile management', seconds: 300 },
  ],
  deviceSetup: [
    { name: 'Security policies', seconds: 240, total: 4, unit: 'applied' },
    { name: 'Certificates', seconds: 150, total: 2, unit: 'added' },
    { name: 'Network connections', seconds: 120, total: 1, unit: 'added' },
    { name: 'Apps', seconds: 1140, total: 5, unit: 'installed' },
  ],
};

const EspSchema = z.strictObject({
  devicePreparation: z.array(EspItemSchema).min(1).default(DEFAULT_ESP.devicePreparation.map((i) => ({ ...i, unit: 'installed' }))),
  deviceSetup: z.array(EspItemSchema).min(1).default(DEFAULT_ESP.deviceSetup),
});

const FailureSchema = z.strictObject({
  /** Which provisioning attempt fails (1 = the first Provision); omitted: every attempt. */
  attempt: z.number().int().positive().optional(),
  phase: z.enum(['devicePreparation', 'deviceSetup']),
  item: z.string().min(1),
  // YAML reads an unquoted 0x800705B4 as a number: take it back to its hex form.
  code: z.preprocess(
    (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? `0x${v.toString(16).toUpperCase().padStart(8, '0')}` : v),
    z.string().regex(HRESULT, 'must be an error code such as 0x800705B4'),
  ),
  /** Simulated seconds into the item; default half its duration. */
  afterSeconds: z.number().min(0).optional(),
});

/** Durations in simulated seconds, except minStepMs. */
const TimingSchema = z.strictObject({
  firmware: z.number().min(0).default(3),
  boot: z.number().min(0).default(25),
  busy: z.number().min(0).default(6),
  updates: z.number().min(0).default(30),
  restartNotice: z.number().min(0).default(8),
  rebootBlack: z.number().min(0).default(4),
  reboot: z.number().min(0).default(45),
  connect: z.number().min(0).default(4),
  wait: z.number().min(0).default(5),
  /** How long the ESP stays on screen after it ends (complete or error) before the result screen. */
  espHold: z.number().min(0).default(5),
  /** Real milliseconds that each boot/busy/reboot step lasts at least, so that a 5 fps video shows it. */
  minStepMs: z.number().min(0).default(250),
  /** Real milliseconds that the ended ESP stays at least: as a real one does, long enough for a reader on a
   * loaded machine (most of a second a frame) to see its last state, however fast the simulated clock runs. */
  espHoldMs: z.number().min(0).default(1500),
});

export const ScenarioSchema = z
  .strictObject({
    /** Another scenario (built-in name or file) whose keys this one overrides; resolved before validation. */
    extends: z.string().optional(),
    name: z.string().min(1).optional(),
    description: z.string().optional(),
    os: z.enum(['win11', 'win10']),
    device: DeviceSchema,
    network: NetworkSchema,
    screens: ScreensSchema.prefault({}),
    esp: EspSchema.prefault({}),
    failures: z.array(FailureSchema).default([]),
    timing: TimingSchema.prefault({}),
    /** Simulated seconds per real second. */
    speed: z.number().positive().default(60),
  })
  .superRefine((s, ctx) => {
    s.failures.forEach((f, i) => {
      if (!s.esp[f.phase].some((item) => item.name === f.item)) {
        ctx.addIssue({
          code: 'custom',
          path: ['failures', i, 'item'],
          message: `no ESP item "${f.item}" in ${f.phase} (items: ${s.esp[f.phase].map((x) => `"${x.name}"`).join(', ')})`,
        });
      }
    });
    const net = s.network;
    if (net.kind === 'wifi') {
      if (net.secured && net.key === undefined) {
        ctx.addIssue({ code: 'custom', path: ['network', 'key'], message: 'missing: a secured network needs its key (or say secured: false)' });
      }
      net.others.forEach((o, i) => {
        if (o.ssid === net.ssid) ctx.addIssue({ code: 'custom', path: ['network', 'others', i, 'ssid'], message: `"${o.ssid}" is the scenario's own network` });
      });
    }
  });

type ParsedScenario = z.output<typeof ScenarioSchema>;
export type Scenario = Omit<ParsedScenario, 'name' | 'screens' | 'extends'> & {
  name: string;
  /** Where it came from: a file path, or "built-in". */
  source: string;
  screens: ParsedScenario['screens'] & { setupPages: boolean };
};
export type EspPhaseKey = 'devicePreparation' | 'deviceSetup';
export type WifiNetwork = z.output<typeof WifiNetworkSchema>;
export type ScenarioFailure = z.output<typeof FailureSchema>;

/** A scenario that cannot be used; the message names the file, line and field. */
export class ScenarioError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ScenarioError';
  }
}

const BUILTIN_DIR = fileURLToPath(new URL('./scenarios/', import.meta.url));

export function builtinScenarioNames(): string[] {
  return readdirSync(BUILTIN_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

interface RawFile {
  file: string;
  doc: Document;
  lines: LineCounter;
  data: Record<string, unknown>;
}

function readRaw(file: string, text: string): RawFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const bad = doc.errors[0];
  if (bad) {
    const pos = lines.linePos(bad.pos[0]);
    throw new ScenarioError(`${file}:${pos.line}: not valid YAML: ${bad.message.split('\n')[0]}`, file, pos.line);
  }
  const data = doc.toJS();
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ScenarioError(`${file}:1: a scenario is a YAML mapping (os:, device:, network:, ...)`, file, 1);
  }
  return { file, doc, lines, data: data as Record<string, unknown> };
}

/** The line of the deepest node of `path` that exists in the document (keys of a mapping, else the value). */
function lineOf(raw: RawFile, path: (string | number)[], unknownKey?: string): number | undefined {
  const full = unknownKey === undefined ? path : [...path, unknownKey];
  for (let n = full.length; n >= 1; n--) {
    const parent = n === 1 ? raw.doc.contents : raw.doc.getIn(full.slice(0, n - 1), true);
    const key = full[n - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      const range = (pair?.key as { range?: number[] } | null)?.range;
      if (range) return raw.lines.linePos(range[0]).line;
    }
    const node = raw.doc.getIn(full.slice(0, n), true) as { range?: number[] } | undefined;
    if (node?.range) return raw.lines.linePos(node.range[0]).line;
  }
  return undefined;
}

/** Maps merge key by key; lists, values and a map of another `kind` (network: wifi → wired) replace. */
function mergeDeep(base: unknown, over: unknown): unknown {
  const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
  if (isObj(base) && isObj(over) && (!('kind' in over) || over.kind === base.kind)) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over as Record<string, unknown>)) out[k] = mergeDeep(out[k], v);
    return out;
  }
  return over === undefined ? base : over;
}

function describeIssue(issue: z.core.$ZodIssue, value: unknown): string {
  if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_type' && value === undefined) return `missing (expected ${issue.expected})`;
  if (issue.code === 'invalid_union' && issue.path.at(-1) === undefined) return issue.message;
  return issue.message;
}

function valueAt(data: unknown, path: PropertyKey[]): unknown {
  let v: unknown = data;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/**
 * Parses a scenario from YAML text. `file` is used in error messages and to resolve `extends:` paths.
 * Throws ScenarioError naming the file, line and field of the first problem (all problems in the message).
 */
export function parseScenario(text: string, file: string): Scenario {
  const chain = readChain(readRaw(file, text), [resolve(file)]);
  const raw = chain[0];
  // Merge from the deepest base up; name and description are never inherited.
  let data: Record<string, unknown> = {};
  for (const r of chain.slice(1).reverse()) {
    const inherited = { ...r.data };
    delete inherited.name;
    delete inherited.description;
    data = mergeDeep(data, inherited) as Record<string, unknown>;
  }
  data = mergeDeep(data, raw.data) as Record<string, unknown>;
  const result = ScenarioSchema.safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path as (string | number)[];
      const field = path.join('.') || '(top level)';
      const unknownKey = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
      // Point into the file that holds the field: this one, else the one it extends.
      let where: { file: string; line?: number } = { file };
      for (const r of chain) {
        const line = valueAt(r.data, path) !== undefined || unknownKey ? lineOf(r, path, unknownKey) : undefined;
        if (line !== undefined) { where = { file: r.file, line }; break; }
      }
      if (where.line === undefined) where.line = lineOf(raw, path.slice(0, -1));
      const fieldName = unknownKey ? (path.length ? `${field}.${unknownKey}` : unknownKey) : field;
      return { ...where, field: fieldName, text: `${where.file}:${where.line ?? 1}: ${fieldName}: ${describeIssue(issue, valueAt(data, path))}` };
    });
    const first = problems[0];
    throw new ScenarioError(
      problems.length === 1 ? first.text : `${first.text}\n${problems.slice(1).map((p) => `  also ${p.text}`).join('\n')}`,
      first.file,
      first.line,
      first.field,
    );
  }
  const s = result.data;
  const { extends: _e, ...rest } = s;
  return {
    ...rest,
    name: s.name ?? basename(file, extname(file)),
    source: file,
    screens: { ...s.screens, setupPages: s.screens.setupPages ?? s.network.kind !== 'wired' },
  };
}

/** The file and the files it extends, nearest first. */
function readChain(raw: RawFile, seen: string[]): RawFile[] {
  const base = raw.data.extends;
  if (base === undefined) return [raw];
  const line = lineOf(raw, ['extends']);
  if (typeof base !== 'string') throw new ScenarioError(`${raw.file}:${line}: extends: must be a scenario name or file`, raw.file, line, 'extends');
  let baseFile: string;
  try {
    baseFile = locateScenario(base, raw.file);
  } catch (err) {
    throw new ScenarioError(`${raw.file}:${line}: extends: ${(err as Error).message}`, raw.file, line, 'extends');
  }
  if (seen.includes(baseFile)) {
    throw new ScenarioError(`${raw.file}:${line}: extends: circular (${[...seen, baseFile].join(' -> ')})`, raw.file, line, 'extends');
  }
  return [raw, ...readChain(readRaw(baseFile, readFileSync(baseFile, 'utf8')), [...seen, baseFile])];
}

/** A built-in name or a file path, as a path (relative paths against `from`'s folder or the working dir). */
function locateScenario(nameOrFile: string, from?: string): string {
  if (/^[a-z0-9-]+$/i.test(nameOrFile) && existsSync(resolve(BUILTIN_DIR, `${nameOrFile}.yaml`))) {
    return resolve(BUILTIN_DIR, `${nameOrFile}.yaml`);
  }
  const candidates = [resolve(nameOrFile)];
  if (from) candidates.unshift(resolve(from, '..', nameOrFile));
  const found = candidates.find((c) => existsSync(c));
  if (found) return found;
  throw new ScenarioError(
    `no scenario "${nameOrFile}": not a built-in (${builtinScenarioNames().join(', ')}) and no such file`,
    nameOrFile,
  );
}

export function loadScenarioFile(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ScenarioError(`${file}: cannot read: ${(err as Error).message}`, file);
  }
  return parseScenario(text, file);
}

/**
 * The scenario for a built-in name or a YAML file (default "win11"); `speed` overrides the file's clock speed
 * (simulated seconds per real second), as the CLI's --speed does.
 */
export function resolveScenario(nameOrFile = 'win11', overrides: { speed?: number } = {}): Scenario {
  const file = locateScenario(nameOrFile);
  const scenario = loadScenarioFile(file);
  if (file.startsWith(BUILTIN_DIR)) scenario.source = 'built-in';
  if (overrides.speed !== undefined) {
    if (!(overrides.speed > 0) || !Number.isFinite(overrides.speed)) {
      throw new ScenarioError(`--speed: must be a positive number, got ${overrides.speed}`, '--speed', undefined, 'speed');
    }
    scenario.speed = overrides.speed;
  }
  return scenario;
}
