// What the engine does on each screen (the `do:` of a flow). Every action is taken because a screen was
// recognized and is confirmed by the frames that follow; nothing is pressed on a timer. Buttons are pressed
// by a click where OCR found them (absolute pointer) or by the keys the flow names (--pointer none).
// Irreversible presses (Provision, Retry, Reset, Reseal) go through the journal: at most once per run.
import type { Action, ActionResult, RunContext } from './context.ts';
import type { Observation } from './observer.ts';
import { RunFailure } from './errors.ts';
import { forOs, labelFor, stepFor, type Control, type FlowStep } from './flow.ts';
import { sameText } from './text-match.ts';
import type { Box, EspPhase, OsId, ScreenFields } from '../vision/types.ts';
import type { Step } from '../report/report.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Error codes after which Retry cannot help (screens.md): the device record or tenant must be fixed first. */
export const NOT_RETRYABLE = new Set(['0x80180014', '0xC1036501', '0x801C03F3']);

/** A short pause between the keys of a sequence, so a real setup page takes each one. */
const KEY_GAP_MS = 150;

function osOf(ctx: RunContext, obs: Observation): OsId {
  return obs.rec.os ?? ctx.os ?? (ctx.options.os === 'auto' ? 'win11' : ctx.options.os);
}

function stepOf(ctx: RunContext, obs: Observation): FlowStep {
  const step = stepFor(ctx.flow, obs.rec.screen);
  if (!step) throw new RunFailure('flow', `screen ${obs.rec.screen} is not part of flow ${ctx.flow.name}`);
  return step;
}

function confirmMs(ctx: RunContext): number {
  return ctx.flow.timeouts.confirm * 1000;
}

const usePointer = (ctx: RunContext) => (ctx.options.pointer ?? 'absolute') === 'absolute';

function newStep(ctx: RunContext, obs: Observation, action: string, fields?: ScreenFields | Record<string, unknown>): Step {
  return {
    screen: obs.rec.screen,
    action,
    at: new Date().toISOString(),
    ms: 0,
    frameBefore: ctx.evidence.keep(obs.frame, obs.rec.screen, 'before'),
    frameAfter: null,
    texts: obs.rec.lines.map((l) => l.text),
    ...(fields ? { fields: { ...fields } } : {}),
  };
}

/** A step without an action of the agent: what it saw (evidence only). */
function recordSeen(ctx: RunContext, obs: Observation, action: string, fields?: ScreenFields | Record<string, unknown>, note?: string): void {
  const step = newStep(ctx, obs, action, fields);
  step.frameBefore = ctx.evidence.keep(obs.frame, obs.rec.screen, 'seen');
  if (note) step.note = note;
  ctx.steps.push(step);
}

type Wait = 'change' | 'leave';

/**
 * Records a step, performs it, and waits for its effect: the picture changing ('change'), or the device
 * showing another screen ('leave'), so the engine never acts twice on the old screen. The frame after, or null.
 */
async function act(ctx: RunContext, obs: Observation, action: string, perform: () => Promise<void>,
  opts: { fields?: ScreenFields | Record<string, unknown>; wait?: Wait; waitMs?: number } = {}): Promise<Observation | null> {
  const started = Date.now();
  const step = newStep(ctx, obs, action, opts.fields);
  ctx.steps.push(step);
  ctx.progress.info(`${obs.rec.screen}: ${action}`);
  ctx.log.info({ screen: obs.rec.screen, action }, 'action');
  await perform();
  const ms = opts.waitMs ?? confirmMs(ctx);
  const after = opts.wait === 'leave' ? await ctx.observer.waitForOtherScreen(obs, ms) : await ctx.observer.waitForChange(obs, ms);
  step.ms = Date.now() - started;
  if (after) step.frameAfter = ctx.evidence.keep(after.frame, after.rec.screen, 'after');
  else step.note = `no visible ${opts.wait === 'leave' ? 'move to another screen' : 'change'} within ${Math.round(ms / 1000)} s`;
  return after;
}

/** The point to click, 0..1 of the device's screen: the box's centre inside the active picture (a grabber's bars are not the screen). */
export function pointFor(obs: Observation, box: Box): { x: number; y: number } {
  const a = obs.rec.activeArea ?? { x0: 0, y0: 0, x1: obs.rec.width, y1: obs.rec.height };
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  return {
    x: clamp(((box.x0 + box.x1) / 2 - a.x0) / (a.x1 - a.x0)),
    y: clamp(((box.y0 + box.y1) / 2 - a.y0) / (a.y1 - a.y0)),
  };
}

/** Where the pointer rests between clicks: an edge of the screen, so it never covers the next label OCR looks for. */
const POINTER_PARK = { x: 0.995, y: 0.02 };

async function clickBox(ctx: RunContext, obs: Observation, box: Box): Promise<void> {
  const { x, y } = pointFor(obs, box);
  await ctx.hid.move(x, y);
  await ctx.hid.click('left');
  await ctx.hid.move(POINTER_PARK.x, POINTER_PARK.y);
}

async function tapKeys(ctx: RunContext, chords: string[]): Promise<void> {
  for (let i = 0; i < chords.length; i++) {
    await ctx.hid.tap(chords[i].split('+'));
    if (i < chords.length - 1) await sleep(KEY_GAP_MS);
  }
}

/** Finds a label on screen, looking at a few more frames when OCR missed it on this one. */
async function locate(ctx: RunContext, obs: Observation, label: string): Promise<{ obs: Observation; box: Box }> {
  let current = obs;
  for (let tries = 0; tries < 4; tries++) {
    current = await ctx.observer.withAllText(current);
    const box = ctx.findText(current.rec, label);
    if (box) return { obs: current, box };
    current = await ctx.observer.look();
    if (current.rec.screen !== obs.rec.screen) break;
  }
  throw new RunFailure('flow', `"${label}" not found on screen ${obs.rec.screen}`);
}

/** How a control of `step` is pressed here: a click on its label (pointer, when it has one) or its keys. */
function howToPress(ctx: RunContext, obs: Observation, step: FlowStep, name: string): { label?: string; keys?: string[]; what: string } {
  const os = osOf(ctx, obs);
  const c: Control | undefined = step.controls?.[name];
  if (!c) throw new RunFailure('flow', `the flow step for ${obs.rec.screen} has no control "${name}"`);
  const label = labelFor(c.label, os);
  const keys = forOs(c.keys, os);
  if (label && (usePointer(ctx) || !keys)) {
    if (!usePointer(ctx)) throw new RunFailure('flow', `"${label}" on ${obs.rec.screen} can only be clicked, and the station has no pointer (--pointer none): give it keys in the flow`);
    return { label, what: `press ${label}` };
  }
  if (!keys) throw new RunFailure('flow', `control "${name}" of ${obs.rec.screen} has neither a label nor keys for ${os}`);
  return { keys, what: `press ${label ?? name} (keys ${keys.join(' ')})` };
}

interface PressOptions {
  fields?: ScreenFields | Record<string, unknown>;
  wait?: Wait;
  /** Journal key of an irreversible press: taken at most once per run, never pressed again for lack of effect. */
  once?: string;
  waitMs?: number;
  /** The flow step whose control it is (default: the step of the screen on show; a page of its own, such as
   * the diagnostics that the recognizer does not name, uses its parent's). */
  step?: FlowStep;
}

/**
 * Presses a control and waits for its effect. A reversible press with no effect is tried again (bounded); an
 * irreversible one is not: its effect is only waited for. Returns the frame after.
 */
async function pressControl(ctx: RunContext, obs: Observation, name: string, opts: PressOptions = {}): Promise<Observation> {
  const tries = opts.once ? 1 : ctx.flow.retries.action;
  const step = opts.step ?? stepOf(ctx, obs);
  let current = obs;
  for (let attempt = 1; attempt <= tries; attempt++) {
    const how = howToPress(ctx, current, step, name);
    const found = how.label ? await locate(ctx, current, how.label) : { obs: current, box: null };
    const perform = async () => {
      if (found.box) await clickBox(ctx, found.obs, found.box);
      else await tapKeys(ctx, how.keys!);
    };
    let what = attempt === 1 ? how.what : `${how.what} (again: no effect before)`;
    let after: Observation | null;
    if (opts.once) {
      let pressedNow = false;
      const key = opts.once;
      after = await act(ctx, found.obs, `${what} [${key}]`, async () => {
        pressedNow = await ctx.journal.once(key, perform);
      }, { ...opts, wait: opts.wait ?? 'leave' });
      if (!pressedNow) {
        const taken = ctx.steps[ctx.steps.length - 1];
        taken.action = `${how.what} [${key}]: taken in an earlier life of the run, not pressed again; watching the screen`;
        what = taken.action;
        after ??= await ctx.observer.waitForOtherScreen(found.obs, (step.timeout ?? ctx.flow.timeouts.defaultScreen) * 1000);
      }
      if (after) return after;
      throw new RunFailure('flow', `${what} on ${obs.rec.screen} had no visible effect; not pressed again (irreversible)`);
    }
    after = await act(ctx, found.obs, what, perform, opts);
    if (after) return after;
    current = await ctx.observer.look();
    if (current.rec.screen !== obs.rec.screen) return current;
  }
  const label = labelFor(step.controls?.[name]?.label, osOf(ctx, obs)) ?? name;
  throw new RunFailure('flow', `pressing ${label} on ${obs.rec.screen} had no visible effect (${tries} tries)`);
}

const wait: Action = async () => 'continue';

/** The page's one button; the screen is expected to move on. */
const pressButton: Action = async (ctx, obs) => {
  const stays = (stepOf(ctx, obs).next as string[] | undefined)?.includes(obs.rec.screen);
  await pressControl(ctx, obs, 'button', { wait: stays ? 'change' : 'leave' });
  return 'continue';
};

const WRONG_KEY = "The network security key isn't correct";

/** Whether the selected network is `ssid`: the selected item shows its own Connect button just under it. */
function connectUnder(ctx: RunContext, obs: Observation, ssid: string): boolean {
  const ssidBox = ctx.findText(obs.rec, ssid);
  const connectBox = ctx.findText(obs.rec, 'Connect');
  if (!ssidBox || !connectBox) return false;
  return connectBox.y0 > ssidBox.y0 && connectBox.y0 - ssidBox.y1 < 8 * (ssidBox.y1 - ssidBox.y0);
}

/** Wired: Next once connected. Wi-Fi: select the network, Connect, type the key, Next. Decided by what shows. */
const connectNetwork: Action = async (ctx, seen) => {
  const obs = await ctx.observer.withAllText(seen);
  const connected = obs.rec.lines.some((l) => /\bconnected\b/i.test(l.text));
  if (connected) {
    await pressControl(ctx, obs, 'next', { wait: 'leave' });
    return 'continue';
  }
  const wifi = ctx.options.wifi;
  if (!wifi) {
    throw new RunFailure('infrastructure', 'the device asks for a network and none is connected: give --wifi-ssid and the key in AUTOPILOT_HIL_WIFI_KEY, or plug in a cable');
  }
  if (ctx.wifiKeyTyped > 0 && ctx.findText(obs.rec, WRONG_KEY)) {
    throw new RunFailure('infrastructure', `the device refused the Wi-Fi key for "${wifi.ssid}" (the key given is wrong)`);
  }
  const keyLabel = ctx.findText(obs.rec, 'Enter the network security key');
  if (keyLabel) {
    if (ctx.wifiKeyTyped >= 1) throw new RunFailure('infrastructure', `the Wi-Fi key for "${wifi.ssid}" was typed and the device still asks for it`);
    ctx.wifiKeyTyped += 1;
    // The key box sits right under its label: with a pointer, click into it first, so the key cannot go
    // anywhere else; by keys, the box has focus once Connect was pressed.
    const h = keyLabel.y1 - keyLabel.y0;
    const inBox = { x0: keyLabel.x0 + h, y0: keyLabel.y1 + h, x1: keyLabel.x0 + 3 * h, y1: keyLabel.y1 + 1.4 * h };
    const after = await act(ctx, obs, 'type the Wi-Fi key (hidden) and Enter', async () => {
      if (usePointer(ctx)) await clickBox(ctx, obs, inBox);
      await ctx.hid.type(wifi.key, { secret: true });
      await ctx.hid.tap('Enter');
    });
    // The first frames after may still show the box (the dots of the key): wait for the box to close, or for
    // the device to say the key is wrong, before the page is read again.
    const deadline = Date.now() + confirmMs(ctx);
    let current = after;
    while (current && current.rec.screen === 'oobe-network' && Date.now() < deadline) {
      const page = await ctx.observer.withAllText(current);
      if (!ctx.findText(page.rec, 'Enter the network security key') || ctx.findText(page.rec, WRONG_KEY)) break;
      current = await ctx.observer.waitForChange(current, Math.max(1, deadline - Date.now()));
    }
    return 'continue';
  }
  if (!ctx.findText(obs.rec, wifi.ssid)) {
    const listed = obs.rec.fields.networks?.join(', ') || 'none read';
    throw new RunFailure('infrastructure', `Wi-Fi network "${wifi.ssid}" is not in the list (seen: ${listed})`);
  }
  if (connectUnder(ctx, obs, wifi.ssid)) {
    await pressControl(ctx, obs, 'connect');
    return 'continue';
  }
  if (usePointer(ctx)) {
    const { box } = await locate(ctx, obs, wifi.ssid);
    await act(ctx, obs, `select ${wifi.ssid}`, () => clickBox(ctx, obs, box));
    return 'continue';
  }
  // By keys: down the list until the wanted network is the selected one (seen on screen), bounded by its length.
  const n = Math.max(obs.rec.fields.networks?.length ?? 0, 1) + 1;
  let current = obs;
  for (let i = 0; i < n; i++) {
    const after = await act(ctx, current, `select the next network (keys ArrowDown), looking for ${wifi.ssid}`, () => ctx.hid.tap('ArrowDown'));
    if (!after) break;
    if (after.rec.screen !== 'oobe-network') return 'continue';
    current = await ctx.observer.withAllText(after);
    if (connectUnder(ctx, current, wifi.ssid)) return 'continue';
  }
  throw new RunFailure('flow', `could not select Wi-Fi network "${wifi.ssid}" with the arrow keys`);
};

/** Since the last Reset (or the start): whether the provisioning options showed, so the Windows key is done. */
function optionsReached(ctx: RunContext): boolean {
  for (let i = ctx.steps.length - 1; i >= 0; i--) {
    const s = ctx.steps[i];
    if (s.screen === 'provisioning-failure' && /^press Reset/.test(s.action)) return false;
    if (s.screen === 'provisioning-options') return true;
  }
  return false;
}

/** Five Windows-key presses, evenly spaced and each acknowledged by the board; confirmed by the options screen. */
const windowsKey: Action = async (ctx, obs) => {
  const rounds = ctx.flow.retries.windowsKey;
  const { presses, spacingMs } = ctx.flow.windowsKey;
  while (ctx.windowsKeyRounds < rounds) {
    ctx.windowsKeyRounds += 1;
    const label = `Windows key ×${presses} (round ${ctx.windowsKeyRounds} of ${rounds})`;
    const at: number[] = [];
    const after = await act(ctx, obs, label, async () => {
      const t0 = Date.now();
      for (let i = 0; i < presses; i++) {
        // Evenly spaced from the first press, whatever each acknowledgement took.
        const due = t0 + i * spacingMs;
        // A timer may fire a millisecond early by the wall clock: wait until the due time has really come.
        while (Date.now() < due) await sleep(due - Date.now());
        at.push(Date.now() - t0);
        await ctx.hid.tap('MetaLeft'); // resolves once the board acknowledged it
      }
    }, { wait: 'leave' });
    const step = ctx.steps[ctx.steps.length - 1];
    step.fields = { ...(step.fields ?? {}), pressesAtMs: at };
    if (after && after.rec.screen !== 'unknown') return 'continue';
    if (after) {
      // A transition frame: give the next screen a moment to show.
      const next = await ctx.observer.waitForChange(after, confirmMs(ctx));
      if (next && next.rec.screen !== obs.rec.screen) return 'continue';
    }
    // The presses were not taken (setup was not listening yet): let the screen settle and go again.
    await sleep(1500);
  }
  throw new RunFailure('flow', `the provisioning options did not appear after ${rounds} rounds of ${presses} Windows-key presses on ${obs.rec.screen}`);
};

const chooseOption: Action = async (ctx, obs) => {
  const step = stepOf(ctx, obs);
  const os = osOf(ctx, obs);
  const option = labelFor(step.option, os)!;
  let current = obs;
  const bound = Math.max(obs.rec.fields.options?.length ?? 0, 2) + 1;
  for (let i = 0; i <= bound; i++) {
    const { options, selected } = current.rec.fields;
    // The wanted option must be the selected one ON SCREEN before the button is pressed.
    if (selected && sameText(selected, option)) {
      await pressControl(ctx, current, 'button', { fields: { options, selected }, wait: 'leave' });
      return 'continue';
    }
    if (options && options.length > 0 && !options.some((o) => sameText(o, option))) {
      throw new RunFailure('flow', `"${option}" is not offered on the options screen (offered: ${options.join(', ')})`);
    }
    let after: Observation | null;
    if (usePointer(ctx)) {
      const found = await locate(ctx, current, option);
      after = await act(ctx, found.obs, `select ${option}`, () => clickBox(ctx, found.obs, found.box), { fields: { options, selected } });
    } else {
      after = await act(ctx, current, `select the next option (keys ArrowDown), looking for ${option}`, () => ctx.hid.tap('ArrowDown'), { fields: { options, selected } });
    }
    if (!after) after = await ctx.observer.look();
    if (after.rec.screen !== obs.rec.screen) return 'continue';
    current = after;
  }
  throw new RunFailure('flow', `could not select "${option}" on the options screen (selected: ${current.rec.fields.selected ?? 'none read'})`);
};

/** Compares what the configuration screen shows with what the run expects, BEFORE anything is provisioned. */
function mismatches(ctx: RunContext): { field: string; expected: string; seen: string | null }[] {
  const e = ctx.options.expected;
  const d = ctx.device;
  const pairs: [string, string | undefined, string | null][] = [
    ['organization', e.organization, d.organization],
    ['profile', e.profile, d.profile],
    ['user', e.user, d.user],
    ['ztdId', e.ztdId, d.ztdId],
    ['serialNumber', e.serialNumber, d.serialNumber],
  ];
  return pairs
    .filter(([, expected, seen]) => expected !== undefined && !sameText(expected, seen))
    .map(([field, expected, seen]) => ({ field, expected: expected!, seen }));
}

function absorbFields(ctx: RunContext, fields: ScreenFields): void {
  const d = ctx.device;
  if (fields.organization !== undefined) d.organization = fields.organization;
  if (fields.profile !== undefined) d.profile = fields.profile;
  if (fields.user !== undefined) d.user = fields.user;
  if (fields.elapsed !== undefined) d.elapsed = fields.elapsed;
  if (fields.errorCode !== undefined) d.errorCode = fields.errorCode;
  if (fields.qr) {
    if (fields.qr.ztdId) d.ztdId = fields.qr.ztdId;
    if (fields.qr.serialNumber) d.serialNumber = fields.qr.serialNumber;
  }
}

const checkAndProvision: Action = async (ctx, obs) => {
  const fields = obs.rec.fields;
  if (!fields.organization || !fields.profile) {
    throw new RunFailure('flow', 'the configuration screen was recognized but its organization or profile could not be read');
  }
  absorbFields(ctx, fields);
  const e = ctx.options.expected;
  if ((e.ztdId !== undefined || e.serialNumber !== undefined) && !fields.qr) {
    throw new RunFailure('flow', 'the QR code of the configuration screen could not be read, so ZtdId and serial cannot be checked');
  }
  const wrong = mismatches(ctx);
  const check = { ...fields, expected: { ...e }, mismatches: wrong };
  if (wrong.some((w) => w.field === 'profile') && ctx.refreshes < ctx.flow.retries.refresh) {
    // The profile may reach the device late: download it again and read the page anew.
    ctx.refreshes += 1;
    await pressControl(ctx, obs, 'refresh', { fields: check, wait: 'leave' });
    ctx.steps[ctx.steps.length - 1].note = `profile "${fields.profile}" is not the expected "${e.profile}": Refresh ${ctx.refreshes} of ${ctx.flow.retries.refresh}`;
    return 'continue';
  }
  if (wrong.length > 0) {
    const what = wrong.map((w) => `${w.field}: expected "${w.expected}", the screen shows "${w.seen ?? '(unreadable)'}"`).join('; ');
    recordSeen(ctx, obs, 'check expectations: not provisioned', check);
    throw new RunFailure('product', `configuration does not match: ${what}`);
  }
  const key = `provision#${ctx.resets + 1}`;
  await pressControl(ctx, obs, 'button', { fields: check, once: key });
  ctx.attempts += 1;
  return 'continue';
};

function phaseSummary(phases: EspPhase[]): string {
  return phases.map((p) => {
    const active = p.items.find((i) => !/complete/i.test(i.state));
    return `${p.name}: ${p.state}${active && p.state !== 'complete' ? ` (${active.name}: ${active.state})` : ''}`;
  }).join(' | ');
}

/** An ESP item or phase as kept in report.json: its state and since when it has had it. */
interface Timed { name: string; state: string; since: string }
interface TimedPhase extends Timed { items: Timed[] }

/** Follows the Enrollment Status Page: a sample each time a phase or item changes, with when each took its state. */
const followEsp: Action = async (ctx, obs) => {
  if (!obs.changed && ctx.esp.length > 0) return 'continue';
  absorbFields(ctx, { ...(obs.rec.fields.errorCode ? { errorCode: obs.rec.fields.errorCode } : {}) });
  const phases = obs.rec.fields.esp?.phases;
  if (!phases || phases.length === 0) return 'continue';
  const last = ctx.esp[ctx.esp.length - 1];
  const plain = (ps: EspPhase[]) => JSON.stringify(ps.map((p) => ({ name: p.name, state: p.state, items: p.items.map((i) => ({ name: i.name, state: i.state })) })));
  if (last && plain(last.phases) === plain(phases)) return 'continue';
  const at = new Date(obs.frame.at).toISOString();
  const before = (last?.phases ?? []) as TimedPhase[];
  const sinceOf = (prev: Partial<Timed> | undefined, state: string) => (prev && prev.state === state && prev.since ? prev.since : at);
  const timed: TimedPhase[] = phases.map((p) => {
    const prevPhase = before.find((b) => b.name === p.name);
    return {
      name: p.name,
      state: p.state,
      since: sinceOf(prevPhase, p.state),
      items: p.items.map((i) => ({ name: i.name, state: i.state, since: sinceOf(prevPhase?.items.find((b) => b.name === i.name), i.state) })),
    };
  });
  ctx.esp.push({ at, phases: timed });
  ctx.progress.info(`esp: ${phaseSummary(phases)}`);
  return 'continue';
};

/**
 * When the device has left the ESP: its last picture, if the agent was still reading an earlier one while it
 * showed (the end state, which item failed). Looked back at among the frames the capture kept.
 */
export async function lookBackAtEsp(ctx: RunContext): Promise<void> {
  const last = await ctx.observer.lastSkipped('esp');
  if (!last) return;
  ctx.log.info({ seq: last.frame.seq, at: new Date(last.frame.at).toISOString() }, 'esp: its last picture, looked back at');
  await followEsp(ctx, last);
}

const reseal: Action = async (ctx, obs) => {
  absorbFields(ctx, obs.rec.fields);
  if (!ctx.options.reseal) {
    recordSeen(ctx, obs, 'success (not resealed: --no-reseal)', obs.rec.fields);
    return 'passed';
  }
  await pressControl(ctx, obs, 'button', { fields: obs.rec.fields, once: 'reseal', waitMs: (stepOf(ctx, obs).timeout ?? 120) * 1000 });
  // Confirmed when the device goes dark (and its keyboard offline); it is never powered on again after this.
  const deadline = Date.now() + (stepOf(ctx, obs).timeout ?? 120) * 1000;
  let current = ctx.observer.current!;
  while (Date.now() < deadline) {
    if (current.rec.screen === 'no-signal') {
      const status = await ctx.hid.status().catch(() => null);
      ctx.steps.push({
        screen: 'no-signal', action: `device dark after Reseal${status ? `, keyboard ${status.keyboardOnline ? 'online' : 'offline'}` : ''}`,
        at: new Date().toISOString(), ms: 0, frameBefore: ctx.evidence.keep(current.frame, 'no-signal', 'seen'),
        frameAfter: null, texts: [],
      });
      return 'passed';
    }
    current = await ctx.observer.look();
  }
  throw new RunFailure('flow', 'the device did not go dark after Reseal');
};

/**
 * The diagnostics of a failure, before anything else is pressed: Windows 11 Ctrl+Shift+D, Windows 10
 * "View diagnostics"; then Export logs, and Close back to the red screen. Each screen is kept as a step.
 */
async function collectDiagnostics(ctx: RunContext, obs: Observation): Promise<void> {
  ctx.diagnosticsFor = ctx.attempts;
  const step = stepOf(ctx, obs);
  let page: Observation;
  try {
    page = await pressControl(ctx, obs, 'diagnostics', { fields: obs.rec.fields, wait: 'leave' });
    ctx.steps[ctx.steps.length - 1].note = 'collect diagnostics before anything else is pressed';
  } catch (err) {
    if (!(err instanceof RunFailure)) throw err;
    ctx.steps[ctx.steps.length - 1].note = `diagnostics did not open: ${err.message}`;
    return;
  }
  page = await ctx.observer.withAllText(page);
  if (!ctx.findText(page.rec, 'Export logs')) {
    recordSeen(ctx, page, 'diagnostics: no "Export logs" on this page', undefined, 'the diagnostics page did not show; going on without logs');
    return;
  }
  const exported = await pressControl(ctx, page, 'export', { wait: 'change', step });
  const read = await ctx.observer.withAllText(exported);
  const saved = read.rec.lines.find((l) => /saved|exported/i.test(l.text));
  ctx.steps[ctx.steps.length - 1].note = saved ? `the device says: ${saved.text}` : 'exported (no confirmation read)';
  const back = await pressControl(ctx, read, 'close', { wait: 'leave', step });
  if (back.rec.screen !== 'provisioning-failure' && back.rec.screen !== 'unknown') {
    throw new RunFailure('flow', `closing the diagnostics led to ${back.rec.screen}, not back to the failure screen`);
  }
}

const retryOrFail: Action = async (ctx, obs) => {
  absorbFields(ctx, obs.rec.fields);
  if (ctx.diagnosticsFor !== ctx.attempts) {
    await collectDiagnostics(ctx, obs);
    return 'continue';
  }
  const code = obs.rec.fields.errorCode ?? ctx.device.errorCode ?? undefined;
  const retryable = !code || !NOT_RETRYABLE.has(code);
  if (ctx.retriesUsed < ctx.options.retries && retryable) {
    const key = `retry#${ctx.retriesUsed + 1}`;
    ctx.progress.warn(`provisioning failed${code ? ` with ${code}` : ''}: Retry ${ctx.retriesUsed + 1} of ${ctx.options.retries}`);
    await pressControl(ctx, obs, 'retry', { fields: obs.rec.fields, once: key });
    ctx.retriesUsed += 1;
    ctx.attempts += 1;
    return 'continue';
  }
  if (ctx.options.allowReset && retryable && ctx.resets < ctx.flow.retries.reset) {
    const key = `reset#${ctx.resets + 1}`;
    ctx.progress.warn(`provisioning failed${code ? ` with ${code}` : ''} after ${ctx.retriesUsed} retries: Reset ${ctx.resets + 1} of ${ctx.flow.retries.reset} (--allow-reset), then setup from the start`);
    await pressControl(ctx, obs, 'reset', { fields: obs.rec.fields, once: key });
    ctx.resets += 1;
    // Setup starts over: the per-setup counters do too.
    ctx.windowsKeyRounds = 0;
    ctx.wifiKeyTyped = 0;
    ctx.refreshes = 0;
    return 'continue';
  }
  recordSeen(ctx, obs, 'failure read', obs.rec.fields);
  const why = !retryable ? '(Retry cannot help with this error)'
    : `after ${ctx.retriesUsed} retr${ctx.retriesUsed === 1 ? 'y' : 'ies'}${ctx.resets ? ` and ${ctx.resets} reset${ctx.resets === 1 ? '' : 's'}` : ''}`;
  throw new RunFailure('product', `provisioning failed${code ? ` with ${code}` : ' (error code unreadable)'} ${why}`, code);
};

const fail: Action = async (ctx, obs) => {
  const step = stepOf(ctx, obs);
  recordSeen(ctx, obs, 'stop: off the path');
  throw new RunFailure(step.category ?? 'flow', step.message ?? `the flow stops at ${obs.rec.screen}`);
};

export const ACTIONS: Record<FlowStep['do'], Action> = {
  wait,
  press: pressButton,
  'connect-network': connectNetwork,
  'windows-key': windowsKey,
  'choose-option': chooseOption,
  'check-and-provision': checkAndProvision,
  'follow-esp': followEsp,
  reseal,
  'retry-or-fail': retryOrFail,
  fail,
};

/**
 * The action for the screen on show: its step's `do`, except on the screens where the Windows-key presses
 * go (flow windowsKey.on, or --windows-key-on) before the provisioning options were reached.
 */
export function runAction(ctx: RunContext, obs: Observation): Promise<ActionResult> {
  const step = stepOf(ctx, obs);
  const keyOn = ctx.options.windowsKeyOn ?? ctx.flow.windowsKey.on;
  if (step.do !== 'windows-key' && keyOn.includes(obs.rec.screen) && !optionsReached(ctx)) return windowsKey(ctx, obs);
  return ACTIONS[step.do](ctx, obs);
}

export type { ActionResult };
