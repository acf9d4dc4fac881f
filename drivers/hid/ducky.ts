// The small key script language a bench engineer already knows: DuckyScript's STRING, STRINGLN, DELAY,
// DEFAULT_DELAY, REPEAT, REM, HOLD and RELEASE, chords of DuckyScript names or W3C codes (`GUI r`,
// `CTRL SHIFT d`, `ControlLeft+KeyD`), and `KEY*N` to tap a key or chord N times (`MetaLeft*5`).
// A script is checked whole before a key is sent: every key known, every STRING typeable with the layout.
import { findKey, type KeyInfo } from './keymap.ts';
import { textToStrokes, type KeyboardLayout } from './layouts/index.ts';

export type DuckyStep = { line: number; source: string } & (
  | { kind: 'tap'; keys: string[]; times: number }
  | { kind: 'type'; text: string }
  | { kind: 'delay'; ms: number }
  | { kind: 'hold'; keys: string[] }
  | { kind: 'release'; keys: string[] }
  | { kind: 'releaseAll' }
);

export interface DuckyScript {
  steps: DuckyStep[];
  /** Key events the script sends (each press and each release), for a summary. */
  keyEvents: number;
}

/** A mistake in a script: where (source and line), which token, and why. */
export class DuckyError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    readonly token: string,
    why: string,
  ) {
    super(`${source}:${line}: ${why}`);
    this.name = 'DuckyError';
  }
}

/** DuckyScript key names that keymap.ts's aliases do not cover. */
const EXTRA_NAMES: Record<string, string> = {
  altgr: 'AltRight', ralt: 'AltRight', rctrl: 'ControlRight', rshift: 'ShiftRight', rgui: 'MetaRight',
  lalt: 'AltLeft', lctrl: 'ControlLeft', lshift: 'ShiftLeft', lgui: 'MetaLeft', super: 'MetaLeft',
  prtsc: 'PrintScreen', ins: 'Insert', pgup: 'PageUp', pgdn: 'PageDown', contextmenu: 'ContextMenu',
};

/** Most steps a script may expand to (REPEAT and *N multiply): a typo like REPEAT 1000000 is refused. */
const MAX_STEPS = 100_000;
const MAX_DELAY_MS = 3_600_000;

interface ParseContext {
  source: string;
  layout: KeyboardLayout;
}

/** One key of a chord: a W3C code, a DuckyScript name, a letter or digit, or a character the layout types unshifted. */
function keyOf(token: string, ctx: ParseContext, line: number, text: string): KeyInfo {
  const named = findKey(token) ?? findKey(EXTRA_NAMES[token.toLowerCase()] ?? '');
  if (named) return named;
  if ([...token].length === 1) {
    const strokes = ctx.layout.strokesFor(token);
    if (strokes?.length === 1 && !strokes[0].shift && !strokes[0].altGr) return findKey(strokes[0].code)!;
  }
  throw new DuckyError(ctx.source, line, token, `unknown key '${token}' in "${text}": use W3C code names (KeyA, Enter, MetaLeft, F10) or DuckyScript names (GUI, CTRL, ALT, SHIFT, ENTER, TAB, ESC)${token === text ? `; to type text, write STRING ${text}` : ''}`);
}

function wholeNumber(token: string | undefined, what: string, max: number, ctx: ParseContext, line: number, text: string): number {
  const n = Number(token);
  if (token === undefined || !/^\d+$/.test(token) || n > max) {
    throw new DuckyError(ctx.source, line, token ?? '', `${what} needs a whole number 0..${max}, got ${token === undefined ? 'nothing' : `'${token}'`} in "${text}"`);
  }
  return n;
}

/**
 * Parses a script (the text of a file, or one command-line argument, which may hold several lines).
 * `source` names it in errors: a file name, or "argument 2".
 */
export function parseDucky(text: string, opts: { source: string; layout: KeyboardLayout }): DuckyScript {
  const ctx: ParseContext = { source: opts.source, layout: opts.layout };
  const steps: DuckyStep[] = [];
  let defaultDelay = 0;
  let previous: DuckyStep[] = [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = index + 1;
    const trimmed = raw.trim();
    if (!trimmed || /^REM(\s|$)/i.test(trimmed) || trimmed.startsWith('//')) continue;
    const [word, ...rest] = trimmed.split(/\s+/);
    const command = word.toUpperCase();
    const at = { line, source: ctx.source };
    let made: DuckyStep[];
    if (command === 'STRING' || command === 'STRINGLN') {
      // The text is everything after one space, kept as written (spaces included).
      const body = raw.replace(/^\s*\S+ ?/, '');
      const textToType = command === 'STRINGLN' ? `${body}\n` : body;
      try {
        textToStrokes(textToType, ctx.layout);
      } catch (err) {
        throw new DuckyError(ctx.source, line, word, (err as Error).message);
      }
      made = [{ ...at, kind: 'type', text: textToType }];
    } else if (command === 'DELAY') {
      made = [{ ...at, kind: 'delay', ms: wholeNumber(rest[0], 'DELAY', MAX_DELAY_MS, ctx, line, trimmed) }];
    } else if (command === 'DEFAULT_DELAY' || command === 'DEFAULTDELAY') {
      defaultDelay = wholeNumber(rest[0], command, MAX_DELAY_MS, ctx, line, trimmed);
      continue;
    } else if (command === 'REPEAT') {
      const times = wholeNumber(rest[0], 'REPEAT', MAX_STEPS, ctx, line, trimmed);
      if (previous.length === 0) throw new DuckyError(ctx.source, line, word, `REPEAT has no command before it to repeat`);
      if (steps.length + previous.length * times > MAX_STEPS) throw new DuckyError(ctx.source, line, rest[0], `REPEAT ${times} makes the script longer than ${MAX_STEPS} steps`);
      for (let i = 0; i < times; i++) steps.push(...previous.map((s) => ({ ...s, line })));
      continue;
    } else if (command === 'HOLD' || command === 'RELEASE') {
      const keys = rest.flatMap((t) => t.split('+')).filter(Boolean).map((t) => keyOf(t, ctx, line, trimmed).code);
      if (command === 'HOLD' && keys.length === 0) throw new DuckyError(ctx.source, line, word, `HOLD needs the keys to hold, e.g. "HOLD SHIFT"`);
      made = command === 'HOLD' ? [{ ...at, kind: 'hold', keys }] : keys.length ? [{ ...at, kind: 'release', keys }] : [{ ...at, kind: 'releaseAll' }];
    } else {
      // A chord: keys separated by spaces (DuckyScript) or + (ControlLeft+KeyD), the last maybe with *N.
      // (DuckyScript 1 also wrote CTRL-ALT DELETE.)
      const tokens = trimmed.split(/\s+/).flatMap((t) => (t.length > 1 ? t.split(/\+(?=.)|(?<=[A-Za-z])-(?=[A-Za-z])/) : [t])).filter(Boolean);
      let times = 1;
      const last = tokens[tokens.length - 1];
      const star = /^(.+)\*(\d+)$/.exec(last);
      if (star) {
        tokens[tokens.length - 1] = star[1];
        times = wholeNumber(star[2], `${star[1]}*N`, MAX_STEPS, ctx, line, trimmed);
        if (times === 0) throw new DuckyError(ctx.source, line, last, `${last} taps nothing: N must be 1 or more`);
      }
      const keys = tokens.map((t) => keyOf(t, ctx, line, trimmed).code);
      made = [{ ...at, kind: 'tap', keys, times }];
    }
    if (defaultDelay > 0) made.push({ ...at, kind: 'delay', ms: defaultDelay });
    if (steps.length + made.length > MAX_STEPS) throw new DuckyError(ctx.source, line, word, `the script is longer than ${MAX_STEPS} steps`);
    steps.push(...made);
    previous = made;
  }
  return { steps, keyEvents: countKeyEvents(steps, ctx.layout) };
}

function countKeyEvents(steps: DuckyStep[], layout: KeyboardLayout): number {
  let n = 0;
  for (const step of steps) {
    if (step.kind === 'tap') n += step.keys.length * 2 * step.times;
    else if (step.kind === 'type') {
      for (const ch of textToStrokes(step.text, layout)) for (const s of ch.strokes) n += 2 * (1 + Number(s.shift) + Number(s.altGr));
    } else if (step.kind === 'hold' || step.kind === 'release') n += step.keys.length;
  }
  return n;
}

/** What running a script needs from a keyboard (SerialBoard has all of it). */
export interface DuckyKeyboard {
  tap(chord: string[]): Promise<void>;
  down(key: string): Promise<void>;
  up(key: string): Promise<void>;
  type(text: string, options?: { layout?: string }): Promise<void>;
  releaseAll(): Promise<void>;
}

/** Runs a parsed script; `onStep` hears each step before it runs (for a progress line). */
export async function runDucky(
  script: DuckyScript,
  keyboard: DuckyKeyboard,
  opts: { layout: string; onStep?: (step: DuckyStep) => void; sleep?: (ms: number) => Promise<void> },
): Promise<void> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (const step of script.steps) {
    opts.onStep?.(step);
    switch (step.kind) {
      case 'tap':
        for (let i = 0; i < step.times; i++) await keyboard.tap(step.keys);
        break;
      case 'type':
        await keyboard.type(step.text, { layout: opts.layout });
        break;
      case 'delay':
        await sleep(step.ms);
        break;
      case 'hold':
        for (const key of step.keys) await keyboard.down(key);
        break;
      case 'release':
        for (const key of [...step.keys].reverse()) await keyboard.up(key);
        break;
      case 'releaseAll':
        await keyboard.releaseAll();
        break;
    }
  }
}
