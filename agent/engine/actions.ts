// What the engine does on each screen (the `do:` of a flow). Every action is taken because a screen was
// recognized and is confirmed by the frame that follows; nothing is pressed on a timer.
import type { Action, ActionResult, RunContext } from './context.ts';
import type { Observation } from './observer.ts';
import { RunFailure } from './errors.ts';
import { labelFor, stepFor, type FlowStep } from './flow.ts';
import { sameText } from './text-match.ts';
import type { Box, OsId, ScreenFields } from '../vision/types.ts';
import type { Step } from '../report/report.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Error codes after which Retry cannot help (screens.md): the device record or tenant must be fixed first. */
const NOT_RETRYABLE = new Set(['0x80180014', '0xC1036501', '0x801C03F3']);

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

/** Records a step, performs it, and waits for the picture to change. Returns the frame after, or null. */
async function act(ctx: RunContext, obs: Observation, action: string, perform: () => Promise<void>,
  fields?: ScreenFields): Promise<Observation | null> {
  const started = Date.now();
  const step: Step = {
    screen: obs.rec.screen,
    action,
    at: new Date(started).toISOString(),
    ms: 0,
    frameBefore: ctx.evidence.keep(obs.frame, obs.rec.screen, 'before'),
    frameAfter: null,
    texts: obs.rec.lines.map((l) => l.text),
    ...(fields ? { fields: { ...fields } } : {}),
  };
  ctx.steps.push(step);
  ctx.progress.info(`${obs.rec.screen}: ${action}`);
  ctx.log.info({ screen: obs.rec.screen, action }, 'action');
  await perform();
  const after = await ctx.observer.waitForChange(obs, confirmMs(ctx));
  step.ms = Date.now() - started;
  if (after) step.frameAfter = ctx.evidence.keep(after.frame, after.rec.screen, 'after');
  else step.note = `no visible change within ${ctx.flow.timeouts.confirm} s`;
  return after;
}

function center(obs: Observation, box: Box): { x: number; y: number } {
  return { x: (box.x0 + box.x1) / 2 / obs.rec.width, y: (box.y0 + box.y1) / 2 / obs.rec.height };
}

async function clickBox(ctx: RunContext, obs: Observation, box: Box): Promise<void> {
  const { x, y } = center(obs, box);
  await ctx.hid.move(x, y);
  await ctx.hid.click('left');
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

/** Clicks a label that OCR located and waits for the screen to react; a click with no effect is tried again. */
async function press(ctx: RunContext, obs: Observation, label: string, fields?: ScreenFields): Promise<Observation> {
  let current = obs;
  for (let attempt = 1; attempt <= ctx.flow.retries.action; attempt++) {
    const found = await locate(ctx, current, label);
    const what = attempt === 1 ? `press ${label}` : `press ${label} (again: no effect before)`;
    const after = await act(ctx, found.obs, what, () => clickBox(ctx, found.obs, found.box), fields);
    if (after) return after;
    current = await ctx.observer.look();
    if (current.rec.screen !== obs.rec.screen) return current;
  }
  throw new RunFailure('flow', `pressing "${label}" on ${obs.rec.screen} had no visible effect (${ctx.flow.retries.action} tries)`);
}

const wait: Action = async () => 'continue';

const pressButton: Action = async (ctx, obs) => {
  const label = labelFor(stepOf(ctx, obs).button, osOf(ctx, obs));
  if (!label) throw new RunFailure('flow', `flow step for ${obs.rec.screen} names no button`);
  await press(ctx, obs, label);
  return 'continue';
};

/** Wired: Next once connected. Wi-Fi: select the network, Connect, type the key, Next. Decided by what shows. */
const connectNetwork: Action = async (ctx, seen) => {
  const obs = await ctx.observer.withAllText(seen);
  const connected = obs.rec.lines.some((l) => /\bconnected\b/i.test(l.text));
  if (connected) {
    await press(ctx, obs, 'Next');
    return 'continue';
  }
  const wifi = ctx.options.wifi;
  if (!wifi) {
    throw new RunFailure('infrastructure', 'the device asks for a network and none is connected: give --wifi-ssid and the key in AUTOPILOT_HIL_WIFI_KEY, or plug in a cable');
  }
  if (ctx.wifiKeyTyped > 0 && ctx.findText(obs.rec, "The network security key isn't correct")) {
    throw new RunFailure('infrastructure', `the device refused the Wi-Fi key for "${wifi.ssid}" (the key given is wrong)`);
  }
  const keyLabel = ctx.findText(obs.rec, 'Enter the network security key');
  if (keyLabel) {
    if (ctx.wifiKeyTyped >= 1) throw new RunFailure('infrastructure', `the Wi-Fi key for "${wifi.ssid}" was typed and the device still asks for it`);
    ctx.wifiKeyTyped += 1;
    // The key box sits right under its label: click into it first, so the key cannot go anywhere else.
    const h = keyLabel.y1 - keyLabel.y0;
    const inBox = { x0: keyLabel.x0 + h, y0: keyLabel.y1 + h, x1: keyLabel.x0 + 3 * h, y1: keyLabel.y1 + 1.4 * h };
    await act(ctx, obs, 'type the Wi-Fi key (hidden) and Enter', async () => {
      await clickBox(ctx, obs, inBox);
      await ctx.hid.type(wifi.key, { secret: true });
      await ctx.hid.tap('Enter');
    });
    return 'continue';
  }
  const connectBox = ctx.findText(obs.rec, 'Connect');
  const ssidBox = ctx.findText(obs.rec, wifi.ssid);
  if (!ssidBox) {
    const seen = obs.rec.fields.networks?.join(', ') || 'none read';
    throw new RunFailure('infrastructure', `Wi-Fi network "${wifi.ssid}" is not in the list (seen: ${seen})`);
  }
  // Connect belongs to the selected network: it shows just under it.
  if (connectBox && connectBox.y0 > ssidBox.y0 && connectBox.y0 - ssidBox.y1 < 8 * (ssidBox.y1 - ssidBox.y0)) {
    await press(ctx, obs, 'Connect');
  } else {
    await press(ctx, obs, wifi.ssid);
  }
  return 'continue';
};

/** Five Windows-key presses, evenly spaced and each acknowledged by the board; confirmed by the options screen. */
const windowsKeyX5: Action = async (ctx, obs) => {
  const rounds = ctx.flow.retries.windowsKey;
  while (ctx.windowsKeyRounds < rounds) {
    ctx.windowsKeyRounds += 1;
    const label = `Windows key ×5 (round ${ctx.windowsKeyRounds} of ${rounds})`;
    const after = await act(ctx, obs, label, async () => {
      for (let i = 0; i < 5; i++) {
        await ctx.hid.tap('MetaLeft');
        if (i < 4) await sleep(350);
      }
    });
    const deadline = Date.now() + confirmMs(ctx);
    let current = after;
    while (current && Date.now() < deadline) {
      if (current.rec.screen === 'provisioning-options') return 'continue';
      if (current.rec.screen !== obs.rec.screen && current.rec.screen !== 'unknown') return 'continue';
      current = await ctx.observer.look();
    }
    // Windows opened its Start-less OOBE key handler late or not at all: let the screen settle and go again.
    await sleep(1500);
  }
  throw new RunFailure('flow', `the provisioning options did not appear after ${rounds} rounds of five Windows-key presses`);
};

const chooseOption: Action = async (ctx, obs) => {
  const step = stepOf(ctx, obs);
  const os = osOf(ctx, obs);
  const option = labelFor(step.option, os)!;
  const button = labelFor(step.button, os)!;
  const { options, selected } = obs.rec.fields;
  if (selected && sameText(selected, option)) {
    await press(ctx, obs, button, { selected });
    return 'continue';
  }
  if (options && options.length > 0 && !options.some((o) => sameText(o, option))) {
    throw new RunFailure('flow', `"${option}" is not offered on the options screen (offered: ${options.join(', ')})`);
  }
  await press(ctx, obs, option, { options, selected });
  return 'continue';
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
  const step = stepOf(ctx, obs);
  const os = osOf(ctx, obs);
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
  if (wrong.some((w) => w.field === 'profile') && ctx.refreshes < ctx.flow.retries.refresh) {
    ctx.refreshes += 1;
    const refresh = labelFor(step.refresh, os) ?? 'Refresh';
    await press(ctx, obs, refresh, fields);
    return 'continue';
  }
  if (wrong.length > 0) {
    const what = wrong.map((w) => `${w.field}: expected "${w.expected}", the screen shows "${w.seen ?? '(unreadable)'}"`).join('; ');
    ctx.steps.push({
      screen: obs.rec.screen, action: 'check expectations: not provisioned', at: new Date().toISOString(), ms: 0,
      frameBefore: ctx.evidence.keep(obs.frame, obs.rec.screen, 'seen'), frameAfter: null,
      texts: obs.rec.lines.map((l) => l.text), fields: { ...fields },
    });
    throw new RunFailure('product', `configuration does not match: ${what}`);
  }
  ctx.attempts += 1;
  await press(ctx, obs, labelFor(step.button, os)!, fields);
  return 'continue';
};

function phaseSummary(obs: Observation): string {
  return (obs.rec.fields.esp?.phases ?? []).map((p) => {
    const active = p.items.find((i) => !/complete/i.test(i.state));
    return `${p.name}: ${p.state}${active && p.state !== 'complete' ? ` (${active.name}: ${active.state})` : ''}`;
  }).join(' | ');
}

const followEsp: Action = async (ctx, obs) => {
  if (!obs.changed && ctx.esp.length > 0) return 'continue';
  const phases = obs.rec.fields.esp?.phases;
  if (phases && phases.length > 0) {
    const summary = phaseSummary(obs);
    const last = ctx.esp[ctx.esp.length - 1];
    if (!last || JSON.stringify(last.phases) !== JSON.stringify(phases)) {
      ctx.esp.push({ at: new Date(obs.frame.at).toISOString(), phases });
      ctx.progress.info(`esp: ${summary}`);
    }
  }
  return 'continue';
};

const reseal: Action = async (ctx, obs) => {
  absorbFields(ctx, obs.rec.fields);
  if (!ctx.options.reseal) {
    ctx.steps.push({
      screen: obs.rec.screen, action: 'success (not resealed: --no-reseal)', at: new Date().toISOString(), ms: 0,
      frameBefore: ctx.evidence.keep(obs.frame, obs.rec.screen, 'seen'), frameAfter: null,
      texts: obs.rec.lines.map((l) => l.text), fields: { ...obs.rec.fields },
    });
    return 'passed';
  }
  const label = labelFor(stepOf(ctx, obs).button, osOf(ctx, obs)) ?? 'Reseal';
  await press(ctx, obs, label, obs.rec.fields);
  // Confirmed when the device goes dark (and its keyboard offline); it is never powered on again after this.
  const deadline = Date.now() + (stepOf(ctx, obs).timeout ?? 120) * 1000;
  while (Date.now() < deadline) {
    const current = await ctx.observer.look();
    if (current.rec.screen === 'no-signal') {
      const status = await ctx.hid.status().catch(() => null);
      ctx.steps.push({
        screen: 'no-signal', action: `device dark after Reseal${status ? `, keyboard ${status.keyboardOnline ? 'online' : 'offline'}` : ''}`,
        at: new Date().toISOString(), ms: 0, frameBefore: ctx.evidence.keep(current.frame, 'no-signal', 'seen'),
        frameAfter: null, texts: [],
      });
      return 'passed';
    }
  }
  throw new RunFailure('flow', 'the device did not go dark after Reseal');
};

const retryOrFail: Action = async (ctx, obs) => {
  absorbFields(ctx, obs.rec.fields);
  const code = obs.rec.fields.errorCode ?? ctx.device.errorCode ?? undefined;
  const retryable = !code || !NOT_RETRYABLE.has(code);
  if (ctx.retriesUsed < ctx.options.retries && retryable) {
    ctx.retriesUsed += 1;
    ctx.progress.warn(`provisioning failed${code ? ` with ${code}` : ''}: Retry ${ctx.retriesUsed} of ${ctx.options.retries}`);
    ctx.attempts += 1;
    await press(ctx, obs, labelFor(stepOf(ctx, obs).button, osOf(ctx, obs)) ?? 'Retry', obs.rec.fields);
    return 'continue';
  }
  ctx.steps.push({
    screen: obs.rec.screen, action: 'failure read', at: new Date().toISOString(), ms: 0,
    frameBefore: ctx.evidence.keep(obs.frame, obs.rec.screen, 'seen'), frameAfter: null,
    texts: obs.rec.lines.map((l) => l.text), fields: { ...obs.rec.fields },
  });
  const why = retryable ? `after ${ctx.retriesUsed} retr${ctx.retriesUsed === 1 ? 'y' : 'ies'}` : '(Retry cannot help with this error)';
  throw new RunFailure('product', `provisioning failed${code ? ` with ${code}` : ' (error code unreadable)'} ${why}`, code);
};

const fail: Action = async (ctx, obs) => {
  const step = stepOf(ctx, obs);
  ctx.steps.push({
    screen: obs.rec.screen, action: 'stop: off the path', at: new Date().toISOString(), ms: 0,
    frameBefore: ctx.evidence.keep(obs.frame, obs.rec.screen, 'seen'), frameAfter: null,
    texts: obs.rec.lines.map((l) => l.text),
  });
  throw new RunFailure(step.category ?? 'flow', step.message ?? `the flow stops at ${obs.rec.screen}`);
};

export const ACTIONS: Record<FlowStep['do'], Action> = {
  wait,
  press: pressButton,
  'connect-network': connectNetwork,
  'windows-key-x5': windowsKeyX5,
  'choose-option': chooseOption,
  'check-and-provision': checkAndProvision,
  'follow-esp': followEsp,
  reseal,
  'retry-or-fail': retryOrFail,
  fail,
};

export type { ActionResult };
