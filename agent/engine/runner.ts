// Runs a flow on one station: observe → recognize → act → confirm, until a verdict. Always ends with a
// report, whatever failed, so nothing is lost.
import pino from 'pino';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { HidDevice } from '../../drivers/hid/types.ts';
import type { FrameSource } from '../../drivers/capture/types.ts';
import type { Power } from '../../drivers/power/types.ts';
import { Evidence } from '../report/evidence.ts';
import { emptyDevice, writeReport, type Report, type Result, type Step } from '../report/report.ts';
import type { ScreenId } from '../vision/types.ts';
import { lookBackAtEsp, runAction } from './actions.ts';
import { ScreenTracker } from './transitions.ts';
import type { RunContext, RunOptions, TextFinder } from './context.ts';
import { RunFailure } from './errors.ts';
import { loadFlow, stepFor } from './flow.ts';
import { Observer, type Observation, type ScreenReader } from './observer.ts';
import { Progress, espPosition } from './progress.ts';
import { MemoryJournal, type RunJournal } from './journal.ts';
import { restoreContext, resumeStep } from './resume.ts';

export interface StationParts {
  hid: HidDevice;
  capture: FrameSource;
  reader: ScreenReader;
  findText: TextFinder;
  /** The device's power, when the station has a driver for it: the flow's `power:` says when it is used. */
  power?: Power;
}

export interface RunOutcome { report: Report; reportPath: string }

/**
 * `journal` keeps the run resumable (FileJournal); when it was resumed (`journal.restored`), the run goes on from
 * what the earlier lives of the agent saw, and its report covers the whole run.
 */
export async function runFlow(parts: StationParts, options: RunOptions, progress = new Progress(),
  journal: RunJournal = new MemoryJournal()): Promise<RunOutcome> {
  mkdirSync(options.outDir, { recursive: true });
  const log = pino({ level: 'debug' }, pino.destination({ dest: join(options.outDir, 'run.log'), sync: true }));
  const flow = loadFlow(options.flow);
  const restored = journal.restored;
  const startedAt = restored ? new Date(restored.startedAt) : new Date();
  const ctx: RunContext = {
    hid: parts.hid,
    power: parts.power ?? null,
    observer: new Observer(parts.capture, parts.reader),
    flow,
    options,
    evidence: new Evidence(options.outDir),
    log,
    progress,
    findText: parts.findText,
    os: options.os === 'auto' ? null : options.os,
    device: emptyDevice(),
    steps: [],
    esp: [],
    attempts: 0,
    retriesUsed: 0,
    windowsKeyRounds: 0,
    refreshes: 0,
    wifiKeyTyped: 0,
    resets: 0,
    diagnosticsFor: 0,
    keyboardOnline: true,
    journal,
  };
  if (restored) {
    progress.setStart(startedAt.getTime());
    restoreContext(ctx, restored);
    log.info({ journal: restored.file, steps: restored.steps.length, taken: restored.taken, lives: restored.lives.length }, 'run resumed');
    progress.info(`resuming the run of ${restored.startedAt}: ${restored.steps.length} steps so far${restored.taken.length ? `, taken: ${restored.taken.map((a) => a.key).join(', ')}` : ''}`);
  }
  parts.hid.onStatus((status) => {
    if (status.keyboardOnline !== ctx.keyboardOnline) {
      ctx.keyboardOnline = status.keyboardOnline;
      log.info({ keyboardOnline: status.keyboardOnline }, 'keyboard status');
      progress.debug(`device keyboard ${status.keyboardOnline ? 'online' : 'offline'}`);
    }
  });
  log.info({ options: { ...options, wifi: options.wifi ? { ssid: options.wifi.ssid, key: '***' } : undefined } }, 'run start');

  let result: Result = 'passed';
  let failure: Report['failure'];
  try {
    await loop(ctx, startedAt.getTime(), journal);
  } catch (err) {
    const f = err instanceof RunFailure ? err : new RunFailure('infrastructure', `agent error: ${(err as Error).stack ?? err}`);
    result = f.category;
    const last = ctx.observer.current;
    failure = {
      category: f.category,
      ...(f.code ? { code: f.code } : {}),
      message: f.message,
      frame: last ? ctx.evidence.keep(last.frame, last.rec.screen, 'last') : null,
    };
    if (f.code && !ctx.device.errorCode) ctx.device.errorCode = f.code;
    log.error({ failure }, 'run failed');
    await powerOffAfterFailure(ctx);
  }
  const report: Report = {
    result,
    flow: flow.name,
    os: ctx.os,
    station: options.station,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    device: ctx.device,
    expected: options.expected,
    steps: ctx.steps,
    esp: ctx.esp,
    attempts: ctx.attempts,
    ...(failure ? { failure } : {}),
  };
  const reportPath = writeReport(options.outDir, report);
  try {
    journal.checkpoint(ctx);
    journal.end(result);
  } catch (err) {
    // The report is written whatever the journal's disk says; the run just cannot be told apart from an unfinished one.
    log.error({ err: (err as Error).message }, 'journal end not written');
  }
  log.info({ result }, 'run end');
  log.flush();
  return { report, reportPath };
}

/** `started`: when the run began (in an earlier life of the agent, for a resumed run): the run timeout counts from it. */
async function loop(ctx: RunContext, started: number, journal: RunJournal): Promise<void> {
  const { flow, options } = ctx;
  const runMs = (options.timeouts?.run ?? flow.timeouts.run) * 1000;
  let screen: ScreenId | null = null;
  let waiting: Step | null = null;
  // Until the device has shown a picture, a dark screen may mean it is off: the power driver may switch it on.
  let pictureSeen = Boolean(journal.restored);
  let darkSince: number | null = null;
  // Decided once: the driver's state() may run a program (uhubctl, a command), not something to do every frame.
  let powerDecided = false;
  // The flow's next-lists and timeouts, checked on every frame; the run's time limit holds inside actions too.
  const tracker = new ScreenTracker(flow, options, Boolean(journal.restored));
  ctx.observer.setDeadline(started + runMs, () => `the run took longer than ${runMs / 1000} s (--timeout); expected next: ${tracker.expected()}`);
  // A hung grabber repeats its last frame for good: the run ends (infrastructure) instead of waiting on it.
  ctx.observer.setFrozenLimit((options.timeouts?.frozen ?? flow.timeouts.frozen) * 1000);
  for (;;) {
    // Between two actions the run is consistent: what a restart would go on from.
    journal.checkpoint(ctx);
    showStatus(ctx, screen);
    if (Date.now() - started > runMs) {
      throw new RunFailure('flow', `the run took longer than ${runMs / 1000} s (--timeout); expected next: ${tracker.expected()}`);
    }
    const obs = await ctx.observer.look();
    const rec = obs.rec;
    if (rec.screen !== screen) {
      if (screen && stepFor(flow, screen)?.do === 'follow-esp') await lookBackAtEsp(ctx);
      ctx.progress.info(`screen ${rec.screen}${rec.os ? ` (${rec.os})` : ''}`);
      ctx.log.info({ screen: rec.screen, os: rec.os, confidence: rec.confidence, lines: rec.lines.map((l) => l.text) }, 'screen');
      if (waiting) {
        waiting.ms = Date.now() - Date.parse(waiting.at);
        waiting.frameAfter = ctx.evidence.keep(obs.frame, rec.screen, 'after');
        waiting = null;
      }
      if (screen === null && journal.restored) ctx.steps.push(resumeStep(ctx, journal.restored, obs));
      screen = rec.screen;
      showStatus(ctx, screen);
      const passive = stepFor(flow, rec.screen)?.do;
      if (passive === 'wait' || passive === 'follow-esp') {
        // Screens the agent only watches still get a step: the timeline shows how long the device stayed.
        waiting = {
          screen: rec.screen, action: passive === 'wait' ? 'wait' : 'follow the ESP', at: new Date().toISOString(), ms: 0,
          frameBefore: ctx.evidence.keep(obs.frame, rec.screen, 'seen'), frameAfter: null, texts: rec.lines.map((l) => l.text),
        };
        ctx.steps.push(waiting);
      }
    }
    if (ctx.os === null && rec.os && rec.screen !== 'unknown') ctx.os = rec.os;
    if (options.os !== 'auto' && rec.os && rec.os !== options.os && (rec.screen === 'provisioning-options' || rec.screen === 'provisioning-config')) {
      throw new RunFailure('flow', `the flow is for ${options.os} but the device shows ${rec.os} setup`);
    }
    tracker.see(rec);
    if (rec.screen === 'no-signal' && !pictureSeen) {
      darkSince ??= Date.now();
      if (!powerDecided && Date.now() - darkSince >= flow.power.darkBeforeOn * 1000) {
        powerDecided = true;
        await powerOnAtStart(ctx, obs);
      }
    } else if (rec.screen !== 'unknown') {
      pictureSeen = true;
    }
    if (rec.screen === 'unknown') continue;
    const outcome = await runAction(ctx, obs);
    if (outcome === 'passed') return;
  }
}

/**
 * A screen dark since the start (for the flow's darkBeforeOn): power the device on, once per run, never after
 * Reseal, and not when the driver knows it is on already.
 */
async function powerOnAtStart(ctx: RunContext, obs: Observation): Promise<void> {
  const power = ctx.power;
  if (!power || !ctx.flow.power.onAtStart || ctx.journal.has('reseal') || ctx.journal.has('power-on')) return;
  if (await power.state().catch(() => 'unknown') === 'on') return;
  const at = new Date().toISOString();
  ctx.progress.info(`the screen is dark: powering the device on (${power.description})`);
  const started = Date.now();
  try {
    await ctx.journal.once('power-on', () => power.on());
  } catch (err) {
    throw new RunFailure('infrastructure', `powering the device on failed (${power.description}): ${(err as Error).message}`);
  }
  ctx.steps.push({
    screen: 'no-signal', action: `power on (${power.description})`, at, ms: Date.now() - started,
    frameBefore: ctx.evidence.keep(obs.frame, 'no-signal', 'before'), frameAfter: null, texts: [],
  });
}

/** The flow may power a failed device off (forced), so a bench does not leave it on the red screen all night. */
async function powerOffAfterFailure(ctx: RunContext): Promise<void> {
  const power = ctx.power;
  if (!power || !ctx.flow.power.offAfterFailure) return;
  const at = new Date().toISOString();
  const started = Date.now();
  let note: string | undefined;
  try {
    await power.off(true);
  } catch (err) {
    note = `powering off failed: ${(err as Error).message}`;
    ctx.log.error({ err: note }, 'power off after failure');
  }
  ctx.steps.push({
    screen: ctx.observer.current?.rec.screen ?? 'unknown', action: `power off after the failure (${power.description})`, at,
    ms: Date.now() - started, frameBefore: null, frameAfter: null, texts: [], ...(note ? { note } : {}),
  });
}

/** The live status line: the screen, the last step, and where the ESP is (from the last sample the run kept). */
function showStatus(ctx: RunContext, screen: ScreenId | null): void {
  const last = ctx.steps[ctx.steps.length - 1];
  const where = screen === 'esp' ? espPosition(ctx.esp[ctx.esp.length - 1]) : {};
  ctx.progress.status({ screen, step: last ? `#${ctx.steps.length} ${last.action}` : null, ...where });
}
