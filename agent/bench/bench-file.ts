// The bench file (YAML): the stations of one bench, each with its board, capture, power, flow, expectations,
// Wi-Fi (the NAME of an environment variable that holds the key, never the key), calibration, retries and
// timeouts; or `virtual: SCENARIO`, the built-in virtual device. Errors name the file, the line and the field.
import { readFileSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { parseHidSpec } from '../../drivers/hid/transport.ts';
import { isPikvmSpec } from '../../drivers/hid/open.ts';
import { parseCaptureSpec } from '../../drivers/capture/open.ts';
import { powerSpecSchema } from '../../drivers/power/open.ts';
import { UsageError } from '../engine/errors.ts';
import { fieldName, lineOf, parseWith, readYaml } from '../engine/yaml-positions.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SCREENS_FOR_FAULTS = /^[a-z][a-z0-9-]*$/;

function hidSpecProblem(spec: string): string | null {
  if (isPikvmSpec(spec)) return null; // PiKVM's HTTP API: checked by its driver when opened
  try {
    parseHidSpec(spec);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

const CAPTURE_FORMS = 'an MJPEG URL (http://HOST:8080/stream), a V4L2 device (/dev/video0), folder:PATH (a folder of images) or pikvm:…';
function captureSpecProblem(spec: string): string | null {
  try {
    parseCaptureSpec(spec);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** A folder of images is named relative to the bench file, like every other path in it. */
function anchoredCapture(spec: string, baseDir: string): string {
  const m = /^folder:(.*)$/s.exec(spec.trim());
  return m && m[1] && !isAbsolute(m[1]) ? `folder:${resolve(baseDir, m[1])}` : spec;
}

const Expect = z.strictObject({
  organization: z.string().min(1).optional(),
  profile: z.string().min(1).optional(),
  /** The assigned user; "" for none. */
  user: z.string().optional(),
  ztdId: z.string().min(1).optional(),
  serialNumber: z.string().min(1).optional(),
});

const Wifi = z.object({
  ssid: z.string().min(1),
  keyEnv: z.string().regex(ENV_NAME, 'must be the NAME of an environment variable, such as LAB_WIFI_KEY').optional(),
}).passthrough().superRefine((w, ctx) => {
  const extra = Object.keys(w).filter((k) => k !== 'ssid' && k !== 'keyEnv');
  for (const k of extra) {
    ctx.addIssue({
      code: 'custom', path: [k],
      message: k === 'key' || k === 'password'
        ? 'a Wi-Fi key never goes into the bench file: put it in an environment variable and name that with keyEnv'
        : `unknown key "${k}" (wifi has ssid and keyEnv)`,
    });
  }
  if (w.keyEnv === undefined && !extra.includes('key')) {
    ctx.addIssue({ code: 'custom', path: ['keyEnv'], message: 'missing: the NAME of the environment variable that holds the key (e.g. keyEnv: LAB_WIFI_KEY)' });
  }
}).transform((w) => ({ ssid: w.ssid, keyEnv: w.keyEnv! }));

const Seconds = z.number().positive();
const Timeouts = z.strictObject({
  /** The whole run. */
  run: Seconds.optional(),
  /** The Enrollment Status Page. */
  esp: Seconds.optional(),
  /** The picture may stay the same, byte for byte, this long before the capture counts as frozen (a hung grabber). */
  frozen: Seconds.optional(),
  /** Each check of the self-test. */
  selfTest: Seconds.optional(),
});

const SelfTest = z.strictObject({
  /** Run the self-test before the station's run (default true). */
  enabled: z.boolean().default(true),
  /** The device must already read the board's keyboard (powered on, board plugged in); default false. */
  keyboardOnline: z.boolean().default(false),
});

/** A fault the bench injects into a virtual station once the device has shown `at`: what the lab meets at 3 a.m. */
const Fault = z.strictObject({
  /** The screen of the virtual device after which the fault comes (its /state history), e.g. esp, oobe-network. */
  at: z.string().regex(SCREENS_FOR_FAULTS, 'must be a screen id such as esp or oobe-network'),
  /** Real milliseconds after the screen showed. */
  afterMs: z.number().int().min(0).default(0),
  fault: z.enum(['black', 'freeze', 'resize', 'reboot', 'unplug', 'board-restart']),
  /** How long the fault lasts (black, freeze, unplug, board-restart; resize: until the run ends when left out). */
  ms: z.number().int().min(0).max(600_000).optional(),
  /** resize: the new frame size, WIDTHxHEIGHT. */
  size: z.string().regex(/^\d{3,4}x\d{3,4}$/, 'must be WIDTHxHEIGHT such as 1280x720').optional(),
}).superRefine((f, ctx) => {
  if (f.fault === 'resize' && !f.size) ctx.addIssue({ code: 'custom', path: ['size'], message: 'missing: resize needs the new size, e.g. 1280x720' });
  if (f.fault !== 'resize' && f.size) ctx.addIssue({ code: 'custom', path: ['size'], message: `only resize takes a size (this fault is ${f.fault})` });
});

/** What a station and the bench's `defaults:` may say. */
const stationFields = {
  /** The built-in virtual device with this scenario (name or YAML file), instead of hid and capture. */
  virtual: z.string().min(1).optional(),
  /** Virtual device: simulated seconds per real second. */
  speed: z.number().positive().optional(),
  /** Virtual device: how its board is reached (tcp, or pty through socat). */
  serial: z.enum(['tcp', 'pty']).optional(),
  /** Virtual device: its screen size, WIDTHxHEIGHT (default 1920x1080). */
  size: z.string().regex(/^\d{3,4}x\d{3,4}$/, 'must be WIDTHxHEIGHT such as 1280x720').optional(),
  faults: z.array(Fault).optional(),
  hid: z.string().min(1).optional(),
  capture: z.string().min(1).optional(),
  /** How the device is powered: board, uhubctl:…, pikvm:…, command:…, manual; or a mapping for the power driver. */
  power: powerSpecSchema.optional(),
  flow: z.enum(['win11', 'win10', 'auto']).optional(),
  expect: Expect.optional(),
  wifi: Wifi.optional(),
  /** A calibration profile: a name (calibration/NAME.json beside the bench file) or a file. */
  calibration: z.string().min(1).optional(),
  /** Retry presses allowed on the red screen. */
  retries: z.number().int().min(0).max(10).optional(),
  reseal: z.boolean().optional(),
  timeouts: Timeouts.optional(),
  selfTest: SelfTest.optional(),
};

const StationSchema = z.strictObject({
  name: z.string().regex(NAME, 'must be 1..64 letters, digits, dots, dashes or underscores, starting with a letter or digit'),
  ...stationFields,
}).superRefine((s, ctx) => {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (s.virtual !== undefined) {
    if (s.hid !== undefined) issue('hid', 'a virtual station has no board: leave out hid (or virtual)');
    if (s.capture !== undefined) issue('capture', 'a virtual station has no capture: leave out capture (or virtual)');
  } else {
    if (s.hid === undefined) issue('hid', 'missing: the keyboard board (serial:/dev/…, tcp://HOST:PORT, usb:VID:PID, pikvm:…), or virtual: SCENARIO');
    if (s.capture === undefined) issue('capture', `missing: the video source (${CAPTURE_FORMS}), or virtual: SCENARIO`);
    for (const k of ['speed', 'serial', 'size', 'faults'] as const) if (s[k] !== undefined) issue(k, `${k} is for virtual stations only`);
  }
  if (s.hid !== undefined) { const p = hidSpecProblem(s.hid); if (p) issue('hid', p); }
  if (s.capture !== undefined) { const p = captureSpecProblem(s.capture); if (p) issue('capture', p); }
});

const BenchSchema = z.strictObject({
  /** The bench's name in the summary (default: the file's name). */
  name: z.string().min(1).optional(),
  /** Folder of the health file (relative to the bench file); default .autopilot-hil beside it. */
  health: z.string().min(1).optional(),
  /** Keys every station gets unless it says otherwise. */
  defaults: z.strictObject(stationFields).optional(),
  stations: z.array(z.unknown()).min(1, 'a bench needs at least one station'),
});

export type StationConfig = z.output<typeof StationSchema> & {
  flow: 'win11' | 'win10' | 'auto';
  selfTest: z.output<typeof SelfTest>;
  /** The bench file and the line of the station in it, for messages. */
  file: string;
  line: number;
  /** Where the station's wifi.keyEnv is written (its own, or the defaults'). */
  keyEnvAt?: { line: number; field: string };
  /** The folder of the bench file: relative paths (scenario files, calibration) are resolved against it. */
  baseDir: string;
};
export type FaultConfig = z.output<typeof Fault>;

export interface Bench {
  file: string;
  name: string;
  dir: string;
  /** Where health.json lives. */
  healthDir: string;
  stations: StationConfig[];
}

/** Merges the bench's defaults under a station (expect, timeouts and selfTest key by key). */
function withDefaults(station: Record<string, unknown>, defaults: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!defaults) return station;
  const out: Record<string, unknown> = { ...defaults, ...station };
  for (const k of ['expect', 'timeouts', 'selfTest'] as const) {
    const d = defaults[k], s = station[k];
    if (d && typeof d === 'object' && s && typeof s === 'object') out[k] = { ...d, ...s };
  }
  // A real station does not inherit virtual-only keys, nor a virtual station the parts of a real one.
  if (station.hid !== undefined || station.capture !== undefined) for (const k of ['virtual', 'speed', 'serial', 'size', 'faults']) if (station[k] === undefined) delete out[k];
  if (station.virtual !== undefined) for (const k of ['hid', 'capture']) if (station[k] === undefined) delete out[k];
  return out;
}

/** Parses a bench file's text; `file` names it in messages and anchors relative paths. */
export function parseBench(text: string, file: string): Bench {
  const src = readYaml(file, text);
  if (src.data === null || typeof src.data !== 'object' || Array.isArray(src.data)) {
    throw new UsageError(`${file}:1: a bench file is a YAML mapping with stations: (a list of stations)`);
  }
  const top = parseWith(src, BenchSchema);
  const dir = dirname(resolve(file));
  const stations: StationConfig[] = [];
  const seen = new Map<string, number>();
  const problems: string[] = [];
  top.stations.forEach((raw, i) => {
    const at = (path: (string | number)[]) => `${file}:${lineOf(src, ['stations', i, ...path])}`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      problems.push(`${at([])}: stations[${i}]: a station is a mapping (name:, virtual: or hid: and capture:, …)`);
      return;
    }
    const merged = withDefaults(raw as Record<string, unknown>, top.defaults as Record<string, unknown> | undefined);
    if (typeof merged.capture === 'string') merged.capture = anchoredCapture(merged.capture, dirname(resolve(file)));
    const parsed = StationSchema.safeParse(merged);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const path = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
        const key = issue.code === 'unrecognized_keys' ? [...path, issue.keys[0]] : path;
        // A problem in a key the station inherits from defaults: points at the defaults.
        const own = path.length === 0 || (raw as Record<string, unknown>)[path[0] as string] !== undefined
          || (top.defaults as Record<string, unknown> | undefined)?.[path[0] as string] === undefined;
        const full = own ? ['stations', i, ...key] : ['defaults', ...key];
        const value = key.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined), merged);
        const message = issue.code === 'unrecognized_keys' ? 'unknown key'
          : issue.code === 'invalid_type' && value === undefined ? `missing (expected ${issue.expected})` : issue.message;
        problems.push(`${file}:${lineOf(src, full)}: ${fieldName(full)}: ${message}`);
      }
      return;
    }
    const s = parsed.data;
    const before = seen.get(s.name);
    if (before !== undefined) {
      problems.push(`${at(['name'])}: stations[${i}].name: duplicate station name "${s.name}" (also stations[${before}], line ${lineOf(src, ['stations', before, 'name'])})`);
      return;
    }
    seen.set(s.name, i);
    stations.push({
      ...s,
      flow: s.flow ?? 'auto',
      selfTest: s.selfTest ?? { enabled: true, keyboardOnline: false },
      file,
      line: lineOf(src, ['stations', i]),
      ...(s.wifi ? { keyEnvAt: (raw as Record<string, unknown>).wifi !== undefined
        ? { line: lineOf(src, ['stations', i, 'wifi', 'keyEnv']), field: `stations[${i}].wifi.keyEnv` }
        : { line: lineOf(src, ['defaults', 'wifi', 'keyEnv']), field: 'defaults.wifi.keyEnv' } } : {}),
      baseDir: dir,
    });
  });
  if (problems.length) {
    throw new UsageError(problems.length === 1 ? problems[0] : `${problems[0]}\n${problems.slice(1).map((p) => `  also ${p}`).join('\n')}`);
  }
  return {
    file: resolve(file),
    name: top.name ?? basename(file, extname(file)),
    dir,
    healthDir: resolve(dir, top.health ?? '.autopilot-hil'),
    stations,
  };
}

export function loadBench(file: string): Bench {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${file}: cannot read the bench file: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  return parseBench(text, file);
}

/** The stations named by --stations (all when none); an unknown name is bad usage. */
export function selectStations(bench: Bench, names?: string): StationConfig[] {
  if (!names) return bench.stations;
  const wanted = names.split(',').map((n) => n.trim()).filter(Boolean);
  const unknown = wanted.filter((n) => !bench.stations.some((s) => s.name === n));
  if (unknown.length) {
    throw new UsageError(`--stations: no station ${unknown.map((n) => `"${n}"`).join(', ')} in ${bench.file} (stations: ${bench.stations.map((s) => s.name).join(', ')})`);
  }
  return bench.stations.filter((s) => wanted.includes(s.name));
}
