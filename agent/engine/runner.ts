// Runs a flow on one station: observe → recognize → act → confirm, until a verdict. Always ends with a
// report, whatever failed, so nothing is lost.
import pino from 'pino';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { HidDevice } from '../../drivers/hid/types.ts';
import type { FrameSource } from '../../drivers/capture/types.ts';
import { Evidence } from '../report/evidence.ts';
import { emptyDevice, writeReport, type Report, type Result, type Step } from '../report/report.ts';
import type { ScreenId } from '../vision/types.ts';
import { ACTIONS } from './actions.ts';
import type { RunContext, RunOptions, TextFinder } from './context.ts';
import { RunFailure } from './errors.ts';
import { loadFlow, stepFor } from './flow.ts';
import { Observer, type ScreenReader } from './observer.ts';
import { Progress } from './progress.ts';
import { MemoryJournal } from './journal.ts';

export interface StationParts {
  hid: HidDevice;
  capture: FrameSource;
  reader: ScreenReader;
  findText: TextFinder;
}

export interface RunOutcome { report: Report; reportPath: string }

export async function runFlow(parts: StationParts, options: RunOptions, progress = new Progress()): Promise<RunOutcome> {
  mkdirSync(options.outDir, { recursive: true });
  const log = pino({ level: 'debug' }, pino.destination({ dest: join(options.outDir, 'run.log'), sync: true }));
  const flow = loadFlow(options.flow);
  const startedAt = new Date();
  const ctx: RunContext = {
    hid: parts.hid,
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
    keyboardOnline: true,
    journal: new MemoryJournal(),
  };
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
    await loop(ctx);
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
  log.info({ result }, 'run end');
  log.flush();
  return { report, reportPath };
}

async function loop(ctx: RunContext): Promise<void> {
  const { flow, options } = ctx;
  const runMs = (options.timeouts?.run ?? flow.timeouts.run) * 1000;
  const started = Date.now();
  let screen: ScreenId | null = null;
  let since = Date.now();
  let waiting: Step | null = null;
  for (;;) {
    if (Date.now() - started > runMs) {
      throw new RunFailure('flow', `the run took longer than ${runMs / 1000} s (last screen: ${screen ?? 'none'})`);
    }
    const obs = await ctx.observer.look();
    const rec = obs.rec;
    if (rec.screen !== screen) {
      ctx.progress.info(`screen ${rec.screen}${rec.os ? ` (${rec.os})` : ''}`);
      ctx.log.info({ screen: rec.screen, os: rec.os, confidence: rec.confidence, lines: rec.lines.map((l) => l.text) }, 'screen');
      if (waiting) {
        waiting.ms = Date.now() - Date.parse(waiting.at);
        waiting.frameAfter = ctx.evidence.keep(obs.frame, rec.screen, 'after');
        waiting = null;
      }
      screen = rec.screen;
      since = Date.now();
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
    const stayedS = (Date.now() - since) / 1000;
    if (rec.screen === 'unknown') {
      if (stayedS > flow.timeouts.unknownGrace) {
        const best = rec.candidates?.slice(0, 3).map((c) => `${c.screen} ${c.score.toFixed(2)}`).join(', ');
        throw new RunFailure('flow', `an unexpected screen stayed for ${Math.round(stayedS)} s: it reads "${rec.lines.slice(0, 4).map((l) => l.text).join(' / ')}"${best ? ` (closest: ${best})` : ''}`);
      }
      continue;
    }
    const step = stepFor(flow, rec.screen);
    if (!step) throw new RunFailure('flow', `screen ${rec.screen} is not part of flow ${flow.name}`);
    const limitS = rec.screen === 'esp' && options.timeouts?.esp ? options.timeouts.esp
      : step.timeout ?? options.timeouts?.screen ?? flow.timeouts.defaultScreen;
    if (stayedS > limitS) {
      throw new RunFailure('flow', `the device stayed on ${rec.screen} for more than ${limitS} s`);
    }
    const outcome = await ACTIONS[step.do](ctx, obs);
    if (outcome === 'passed') return;
  }
}
