// The agent's vision on frames as grabbers deliver them: every sample screen of the virtual device, rendered
// once at 1920x1080, put through the impairments of sim/impaired-matrix.ts (JPEG quality 30, other frame
// sizes, black bars, overscan, noise, blur, brightness, contrast, tint, a pointer over the title, and
// combinations) comes out as the right screen on the right OS, and the fields a run checks (organization,
// profile, error code, the QR code's serial number) stay right where the picture is big enough to read.
// The ESP, which a run follows to its end, is checked under every impairment: each phase and item with its
// state, and where the picture is too small to read a state, "unknown", never a wrong one.
//
// A deterministic share of the full matrix, so the file stays near a minute on two cores: frame k is sample
// k mod S under impairment 7k mod I, 2S frames in all; every sample is seen twice and every impairment about
// 2S/I times. The whole matrix (every sample under every impairment) is `npm run bench`'s.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../agent/vision/catalog.ts';
import { parseQrBlock } from '../agent/vision/qr.ts';
import { Recognizer } from '../agent/vision/recognizer.ts';
import type { Recognition } from '../agent/vision/types.ts';
import { geometryOf, impairFrame, type Impairments } from '../sim/impair.ts';
import { impairedMatrix, titleCursor } from '../sim/impaired-matrix.ts';
import { renderFrame } from '../sim/render/paint.ts';
import { sampleViews } from '../sim/render/samples.ts';
import type { ScreenView } from '../sim/view.ts';

const WIDTH = 1920, HEIGHT = 1080;
const SIM_ONLY = new Set(['entra-password', 'provisioning-package', 'provisioning-diagnostics', 'keyboard-layout-picker']);
/** Below this many lines of picture, small text is past reading (a 4:3 frame letterboxed to 576 lines, at q50). */
const READABLE_LINES = 700;

interface Case { sample: string; view: ScreenView; impairment: string; imp: Impairments }

const samples = sampleViews();
const impairmentCount = impairedMatrix().length;
const cases: Case[] = Array.from({ length: 2 * samples.length }, (_, k) => {
  const { name, view } = samples[k % samples.length];
  const c = impairedMatrix(titleCursor(view, WIDTH, HEIGHT))[(7 * k) % impairmentCount];
  return { sample: name, view, impairment: c.name, imp: c.imp };
});

/** Screen and OS a reader should give: sim-only panels are unknown; no OS on a blank or spinner frame. */
function expectedScreen(view: ScreenView) {
  const screen = SIM_ONLY.has(view.screen) ? 'unknown' : view.screen;
  const os = screen === 'unknown' || screen === 'no-signal' || view.style === 'spinner' ? null : view.os;
  return { screen, os };
}

/** The fields a run checks against what it expects, as the view shows them. */
function keyFields(view: ScreenView): Record<string, string> {
  if (SIM_ONLY.has(view.screen)) return {};
  const out: Record<string, string> = {};
  const detail = (label: string) => view.details?.find((d) => d.label === label)?.value;
  if (detail('Organization')) out.organization = detail('Organization')!;
  if (view.screen === 'entra-signin' && view.brand) out.organization = view.brand;
  if (detail('Profile')) out.profile = detail('Profile')!;
  const code = detail('Error code') ?? /0x[0-9A-F]{8}/.exec(view.paragraphs?.join(' ') ?? '')?.[0];
  if (code) out.errorCode = code;
  if (view.qr) out.serialNumber = parseQrBlock(view.qr)!.serialNumber!;
  return out;
}

function keyFieldsRead(rec: Recognition, keys: string[]): Record<string, string | undefined> {
  const got: Record<string, string | undefined> = {};
  for (const k of keys) got[k] = k === 'serialNumber' ? rec.fields.qr?.serialNumber ?? undefined : rec.fields[k as 'organization' | 'profile' | 'errorCode'];
  return got;
}

let recognizers: Recognizer[] = [];
const results = new Map<string, Promise<Recognition>>();
const key = (c: Case) => `${c.sample} ${c.impairment}`;

// Every ESP sample under every impairment (beside the share above).
const espCases: Case[] = samples.filter((s) => s.view.screen === 'esp').flatMap(({ name, view }) =>
  impairedMatrix(titleCursor(view, WIDTH, HEIGHT)).map((c) => ({ sample: name, view, impairment: c.name, imp: c.imp })));
const espResults = new Map<string, Promise<Recognition>>();

const espSpec = loadCatalog().variants.find((v) => v.screen === 'esp')?.texts.fields.esp;

/** The state a reader should give for a text the virtual device shows (the catalog's table; a count is in progress). */
function espStateOf(text: string): string {
  if (espSpec?.kind !== 'esp') throw new Error('the catalog has no esp field');
  return /^\(\d+ of \d+ [a-z]+\)$/.test(text) ? 'in-progress' : espSpec.states[text] ?? `(no state for "${text}")`;
}

beforeAll(async () => {
  // Two streams on one pool of two workers; each sample rendered once, impaired per case.
  recognizers = [await Recognizer.create({ workers: 2 }), await Recognizer.create({ workers: 2 })];
  const frames = new Map(await Promise.all(samples.map(async ({ name, view }) =>
    [name, (await renderFrame(view, { width: WIDTH, height: HEIGHT, quality: 90 })).jpeg] as const)));
  const readInto = (list: Case[], into: Map<string, Promise<Recognition>>) => list.forEach((c, i) => {
    const p = impairFrame(frames.get(c.sample)!, c.imp).then((jpeg) => recognizers[i % recognizers.length].read(jpeg));
    p.catch(() => {});
    into.set(key(c), p);
  });
  readInto(cases, results);
  readInto(espCases, espResults);
});
afterAll(async () => { await Promise.all(recognizers.map((r) => r.close())); });

describe('impaired frames', () => {
  it('cover every sample screen and every impairment', () => {
    expect(new Set(cases.map((c) => c.sample)).size).toBe(samples.length);
    expect(new Set(cases.map((c) => c.impairment))).toEqual(new Set(impairedMatrix().map((c) => c.name)));
  });

  it.each(cases.map((c) => [key(c), c] as const))('%s', async (_name, c) => {
    const rec = await results.get(key(c))!;
    expect({ screen: rec.screen, os: rec.os }).toEqual(expectedScreen(c.view));
    // The active picture is where the impairment put the picture (black bars left out), to a pixel or two.
    const g = geometryOf(c.imp, WIDTH, HEIGHT);
    if (c.view.style !== 'black' && c.view.style !== 'spinner' && c.view.style !== 'busy') {
      const a = rec.activeArea!;
      expect(Math.abs(a.x0 - g.active.x) + Math.abs(a.y0 - g.active.y)).toBeLessThanOrEqual(4);
      expect(Math.abs(a.x1 - (g.active.x + g.active.width)) + Math.abs(a.y1 - (g.active.y + g.active.height))).toBeLessThanOrEqual(4);
    }
    const want = keyFields(c.view);
    if (g.active.height >= READABLE_LINES && Object.keys(want).length) {
      expect(keyFieldsRead(rec, Object.keys(want))).toEqual(want);
    }
    // A message that quotes the error code quotes it as the errorCode field gives it.
    if (rec.fields.message && rec.fields.errorCode) {
      for (const code of rec.fields.message.match(/0x[0-9A-F]{8}/gi) ?? []) expect(code).toBe(rec.fields.errorCode);
    }
  });
});

describe('the ESP on impaired frames', () => {
  it.each(espCases.map((c) => [key(c), c] as const))('%s: every phase and item, each with its state', async (_name, c) => {
    const rec = await espResults.get(key(c))!;
    expect(rec.screen).toBe('esp');
    const readable = geometryOf(c.imp, WIDTH, HEIGHT).active.height >= READABLE_LINES;
    // A state is right, or (on a picture too small to read) unknown: never another state.
    const state = (got: string, want: string) => (got === 'unknown' && !readable ? want : got);
    const phases = rec.fields.esp?.phases ?? [];
    const want = c.view.esp!.phases;
    expect(phases.map((p) => p.name)).toEqual(want.map((p) => p.name));
    phases.forEach((p, i) => {
      const w = want[i];
      expect({ phase: p.name, state: state(p.state, espStateOf(w.state)) }).toEqual({ phase: w.name, state: espStateOf(w.state) });
      const items = w.expanded ? w.items : [];
      expect(p.items.map((it) => ({ name: it.name, state: state(it.state, espStateOf(items.find((x) => x.name === it.name)?.state ?? '')) })))
        .toEqual(items.map((it) => ({ name: it.name, state: espStateOf(it.state) })));
    });
  });
});
