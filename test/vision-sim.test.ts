// The agent's vision on the virtual device's frames: every sample screen, rendered as a grabber would send it
// (JPEG) at 1920x1080 and 1024x768, comes out as the screen and OS the view holds, with the fields it shows,
// and, with every line of the page asked for (as the engine does when it clicks), every button and visible
// list item is found where a click reaches it. Sim-only panels come out unknown.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseQrBlock } from '../agent/vision/qr.ts';
import { Recognizer, findText } from '../agent/vision/recognizer.ts';
import type { Recognition } from '../agent/vision/types.ts';
import { renderFrame } from '../sim/render/paint.ts';
import { sampleViews } from '../sim/render/samples.ts';
import { hitTest, type Layout, type ScreenView } from '../sim/view.ts';

const SIM_ONLY = new Set(['entra-password', 'provisioning-package', 'provisioning-diagnostics', 'keyboard-layout-picker']);
const ESP_STATE: Record<string, string> = {
  'Complete': 'complete', 'Working on it...': 'in-progress', 'Identifying': 'in-progress',
  'Waiting...': 'waiting', 'Error': 'error', 'Not started': 'not-started',
};
/** Screens whose catalog entry reads the selected list item. */
const SELECTED = new Set(['oobe-region', 'oobe-keyboard', 'provisioning-options', 'oobe-consumer-setup']);

/** What a reader of the frame should get, from what the view holds. */
function expectedOf(view: ScreenView) {
  const screen = SIM_ONLY.has(view.screen) ? 'unknown' : view.screen;
  // A spinner alone (black, no text) tells no OS; neither does a black frame or an unknown panel.
  const os = screen === 'unknown' || screen === 'no-signal' || view.style === 'spinner' ? null : view.os;
  const detail = (label: string) => view.details?.find((d) => d.label === label)?.value;
  const fields: Record<string, unknown> = {};
  if (screen === 'unknown') return { screen, os, fields };
  if (detail('Organization')) fields.organization = detail('Organization');
  if (view.screen === 'entra-signin') fields.organization = view.brand;
  if (detail('Profile')) fields.profile = detail('Profile');
  const user = detail('Assigned user');
  if (user !== undefined) fields.user = user === 'None' ? '' : user;
  if (detail('Elapsed time')) fields.elapsed = detail('Elapsed time');
  const code = detail('Error code') ?? /0x[0-9A-F]{8}/.exec(view.paragraphs?.join(' ') ?? '')?.[0];
  if (code) fields.errorCode = code;
  if (view.screen === 'oobe-busy' && view.title) fields.message = view.title;
  if (view.screen === 'provisioning-options') fields.options = view.list!.items.map((i) => i.label);
  if (view.screen === 'oobe-network') fields.networks = view.list!.items.map((i) => i.label);
  if (SELECTED.has(view.screen) && view.list && view.list.selected >= 0) fields.selected = view.list.items[view.list.selected].label;
  if (view.qr) {
    const block = parseQrBlock(view.qr)!;
    fields.qr = { ztdId: block.ztdId, serialNumber: block.serialNumber };
  }
  if (view.esp) fields.esp = view.esp.phases.map((p) => ({ name: p.name, state: ESP_STATE[p.state] }));
  return { screen, os, fields };
}

/** The fields as compared: the QR code by its ids, the ESP by its phase states. */
function comparable(rec: Recognition, keys: string[]) {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const v = rec.fields[key as keyof Recognition['fields']];
    if (key === 'qr' && rec.fields.qr) out.qr = { ztdId: rec.fields.qr.ztdId, serialNumber: rec.fields.qr.serialNumber };
    else if (key === 'esp' && rec.fields.esp) out.esp = rec.fields.esp.phases.map((p) => ({ name: p.name, state: p.state }));
    else out[key] = v;
  }
  return out;
}

function clickLandsOn(rec: Recognition, layout: Layout, text: string) {
  const box = findText(rec, text);
  return box && hitTest(layout, (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2);
}

const SIZES: [number, number][] = [[1920, 1080], [1024, 768]];
const samples = sampleViews();
let recognizers: Recognizer[] = [];
const results = new Map<string, Promise<{ rec: Recognition; all: Recognition; layout: Layout }>>();

beforeAll(async () => {
  // Two streams (a Recognizer reads its frames one after the other) on one pool of two workers.
  recognizers = [await Recognizer.create({ workers: 2 }), await Recognizer.create({ workers: 2 })];
  let i = 0;
  for (const [width, height] of SIZES) {
    for (const { name, view } of samples) {
      const recognizer = recognizers[i++ % recognizers.length];
      const p = renderFrame(view, { width, height, quality: 85 }).then(async ({ jpeg, layout }) => {
        // Queued back to back: the second read is of the same frame, so it only adds the page's other lines.
        const [rec, all] = await Promise.all([recognizer.read(jpeg), recognizer.read(jpeg, { allText: true })]);
        return { rec, all, layout };
      });
      p.catch(() => {});
      results.set(`${name}@${width}`, p);
    }
  }
});
afterAll(async () => { await Promise.all(recognizers.map((r) => r.close())); });

describe.each(SIZES)('sim frames at %ix%i', (width) => {
  it.each(samples.map((s) => [s.name, s.view] as const))('%s', async (name, view) => {
    const { rec, all, layout } = await results.get(`${name}@${width}`)!;
    const want = expectedOf(view);
    expect({ screen: rec.screen, os: rec.os }).toEqual({ screen: want.screen, os: want.os });
    if (want.screen === 'unknown') expect(rec.candidates?.length).toBeGreaterThan(0);
    expect(comparable(rec, Object.keys(want.fields))).toEqual(want.fields);
    expect({ screen: all.screen, os: all.os, fields: all.fields }).toEqual({ screen: rec.screen, os: rec.os, fields: rec.fields });
    // Where a click on what OCR located lands: each enabled button with a label of its own, each list item
    // that is drawn (has a target).
    for (const b of view.buttons) {
      if (!b.enabled || view.buttons.filter((o) => o.label === b.label).length > 1) continue;
      expect(clickLandsOn(all, layout, b.label), `button "${b.label}"`).toEqual({ kind: 'button', id: b.id });
    }
    view.list?.items.forEach((item, index) => {
      if (!layout.targets.some((t) => t.target.kind === 'list-item' && t.target.index === index)) return;
      expect(clickLandsOn(all, layout, item.label), `list item "${item.label}"`).toEqual({ kind: 'list-item', index });
    });
  });
});
