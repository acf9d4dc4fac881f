// The virtual device's renderer: frames of the right size, controls where a click can reach them, a QR code
// that decodes to its payload, a masked key that cannot be read back, titles that OCR reads as drawn.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { createWorker, type Worker } from 'tesseract.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareZXingModule, readBarcodes } from 'zxing-wasm/reader';
import { hasGlyphs } from '../sim/render/fonts.ts';
import { layoutScreen, type ScreenLayout } from '../sim/render/layout.ts';
import { renderFrame, renderPng } from '../sim/render/paint.ts';
import { renderQr } from '../sim/render/qr.ts';
import { SAMPLE_QR_PAYLOAD, SAMPLE_WIFI_KEY, sampleViews } from '../sim/render/samples.ts';
import { hitTest, type Rect, type ScreenView } from '../sim/view.ts';

const require = createRequire(import.meta.url);
const samples = sampleViews();
const sample = (name: string): ScreenView => {
  const s = samples.find((x) => x.name === name);
  if (!s) throw new Error(`no sample ${name}`);
  return s.view;
};

const SIZES: [number, number][] = [[1920, 1080], [1024, 768], [1018, 764], [1280, 720], [3840, 2160]];

function inside(r: Rect, w: number, h: number): boolean {
  return r.x >= 0 && r.y >= 0 && r.width > 0 && r.height > 0 && r.x + r.width <= w && r.y + r.height <= h;
}

function overlap(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/** Every text a view may show (a masked value is not one of them), whitespace collapsed. */
function viewTexts(v: ScreenView): string[] {
  const out: (string | undefined)[] = [v.title, v.brand, v.error, ...(v.paragraphs ?? []), ...v.buttons.map((b) => b.label)];
  for (const item of v.list?.items ?? []) out.push(item.label, item.detail);
  if (v.input) out.push(v.input.label, v.input.placeholder, v.input.masked ? undefined : v.input.value);
  for (const d of v.details ?? []) out.push(`${d.label}: ${d.value}`);
  for (const p of v.esp?.phases ?? []) out.push(p.name, p.state, ...p.items.flatMap((i) => [i.name, i.state]));
  return out.filter((s): s is string => !!s).map((s) => s.replace(/\s+/g, ' '));
}

describe('layout', () => {
  it('has a sample for every screen of SCREEN-TEXTS.md on both systems', () => {
    const screens = ['no-signal', 'oobe-busy', 'oobe-region', 'oobe-keyboard', 'oobe-keyboard-second', 'oobe-network',
      'oobe-eula', 'entra-signin', 'provisioning-options', 'provisioning-config', 'esp', 'provisioning-success',
      'provisioning-failure', 'provisioning-diagnostics', 'oobe-consumer-setup', 'entra-password', 'provisioning-package'];
    for (const os of ['win11', 'win10']) {
      for (const screen of screens) expect(samples.some((s) => s.view.os === os && s.view.screen === screen), `${os} ${screen}`).toBe(true);
    }
    expect(new Set(samples.map((s) => s.name)).size).toBe(samples.length);
  });

  for (const [w, h] of SIZES) {
    it(`at ${w}x${h}: targets inside the frame, buttons apart, every control reachable, only the view's text`, () => {
      for (const { name, view } of samples) {
        const layout = layoutScreen(view, w, h);
        const where = `${name} at ${w}x${h}`;
        expect(layout.width).toBe(w);
        expect(layout.height).toBe(h);
        for (const t of layout.targets) expect(inside(t.rect, w, h), `${where}: ${JSON.stringify(t)}`).toBe(true);
        for (const run of layout.texts) {
          expect(inside(run.rect, w, h), `${where}: text "${run.text}" ${JSON.stringify(run.rect)}`).toBe(true);
          expect(viewTexts(view).some((s) => s.includes(run.text)), `${where}: "${run.text}" is not in the view`).toBe(true);
          // A character missing from Open Sans would be drawn by whatever system font the machine has.
          expect(hasGlyphs(run.text, run.weight), `${where}: "${run.text}" has characters Open Sans lacks`).toBe(true);
        }
        if (layout.focus) expect(inside(layout.focus, w, h), `${where}: focus`).toBe(true);
        const buttons = layout.targets.filter((t) => t.target.kind === 'button');
        for (let i = 0; i < buttons.length; i++) {
          for (let j = i + 1; j < buttons.length; j++) {
            expect(overlap(buttons[i].rect, buttons[j].rect), `${where}: ${JSON.stringify(buttons[i])} overlaps ${JSON.stringify(buttons[j])}`).toBe(false);
          }
        }
        // A click in the middle of each control presses that control (in-list buttons and the key box win
        // over the list item they sit in).
        for (const b of view.buttons) {
          const t = buttons.find((x) => x.target.kind === 'button' && x.target.id === b.id);
          expect(t, `${where}: button ${b.id} has no target`).toBeDefined();
          expect(hitTest(layout, t!.rect.x + t!.rect.width / 2, t!.rect.y + t!.rect.height / 2)).toEqual({ kind: 'button', id: b.id });
        }
        if (view.input) {
          const t = layout.targets.find((x) => x.target.kind === 'input');
          expect(t, `${where}: input has no target`).toBeDefined();
          expect(hitTest(layout, t!.rect.x + 5, t!.rect.y + t!.rect.height / 2)).toEqual({ kind: 'input' });
        }
        if (view.list) {
          const items = layout.targets.filter((x) => x.target.kind === 'list-item');
          expect(items.length, `${where}: list items shown`).toBeGreaterThanOrEqual(Math.min(2, view.list.items.length));
          if (view.list.selected >= 0) expect(items.some((x) => x.target.kind === 'list-item' && x.target.index === view.list!.selected), `${where}: selected item shown`).toBe(true);
          for (const it1 of items) expect(hitTest(layout, it1.rect.x + 3, it1.rect.y + 3)).toEqual(it1.target);
        }
        if (view.focus && view.style !== 'busy') expect(layout.focus, `${where}: focus ring for ${view.focus}`).toBeDefined();
        if (h === 1080) for (const run of layout.texts) expect(run.size, `${where}: "${run.text}" too small`).toBeGreaterThanOrEqual(16);
      }
    });
  }

  it('never lays out the characters of a masked value', () => {
    for (const name of ['win11-oobe-network-key', 'win10-oobe-network-key', 'win11-entra-password']) {
      const view = sample(name);
      const layout = layoutScreen(view, 1920, 1080);
      const secret = view.input!.value;
      expect(secret.length).toBeGreaterThan(3);
      for (const run of layout.texts) expect(run.text.includes(secret.slice(0, 3)) || run.text.includes(secret.slice(-3))).toBe(false);
      // One dot per character instead.
      const box = layout.regions.input!;
      const dots = layout.shapes.filter((s) => s.kind === 'circle' && s.cy > box.y && s.cy < box.y + box.height && s.cx > box.x && s.cx < box.x + box.width);
      expect(dots.length).toBe([...secret].length);
    }
  });

  it('rejects a frame size that is not whole pixels', () => {
    expect(() => layoutScreen(sample('win11-oobe-region'), 1920.5, 1080)).toThrow(/1920\.5x1080/);
  });
});

describe('frames', () => {
  for (const [w, h] of [[1920, 1080], [1024, 768]] as const) {
    it(`every sample renders as a ${w}x${h} JPEG`, async () => {
      for (const { name, view } of samples) {
        const { jpeg, layout } = await renderFrame(view, { width: w, height: h });
        const meta = await sharp(jpeg).metadata();
        expect([meta.format, meta.width, meta.height], name).toEqual(['jpeg', w, h]);
        expect(layout.width).toBe(w);
      }
    });
  }

  it('draws what the style says: black is all black, success green, failure red, Win11 page light', async () => {
    const mean = async (name: string) => {
      const { png } = await renderPng(sample(name), { width: 1024, height: 768 });
      return (await sharp(png).stats()).channels.map((c) => Math.round(c.mean));
    };
    expect(await mean('win11-no-signal')).toEqual([0, 0, 0]);
    const [sr, sg, sb] = await mean('win11-provisioning-success');
    expect(sg).toBeGreaterThan(sr + 40);
    expect(sg).toBeGreaterThan(sb + 40);
    const [fr, fg] = await mean('win10-provisioning-failure');
    expect(fr).toBeGreaterThan(fg + 80);
    const page = await mean('win11-oobe-region');
    expect(Math.min(...page)).toBeGreaterThan(180);
  });
});

describe('QR code', () => {
  beforeAll(() => {
    const bytes = readFileSync(require.resolve('zxing-wasm/reader/zxing_reader.wasm'));
    prepareZXingModule({ overrides: { wasmBinary: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer } });
  });

  for (const name of ['win11-provisioning-config', 'win10-provisioning-config', 'win10-provisioning-success']) {
    for (const [w, h] of [[1920, 1080], [1024, 768]] as const) {
      it(`${name} at ${w}x${h}: the frame's QR code reads back as the exact payload`, async () => {
        const { jpeg, layout } = await renderFrame(sample(name), { width: w, height: h });
        expect(layout.qr?.text).toBe(SAMPLE_QR_PAYLOAD);
        const found = await readBarcodes(new Uint8Array(jpeg), { formats: ['QRCode'] });
        expect(found.map((r) => r.text)).toEqual([SAMPLE_QR_PAYLOAD]);
      });
    }
  }

  it('renderQr: a square of the asked size with white quiet zone, too small a size is an error', async () => {
    const png = await renderQr('hello', 200);
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height]).toEqual([200, 200]);
    const { data } = await sharp(png).extract({ left: 0, top: 0, width: 200, height: 8 }).raw().toBuffer({ resolveWithObject: true });
    expect(Math.min(...data)).toBe(255);
    expect((await readBarcodes(new Uint8Array(png))).map((r) => r.text)).toEqual(['hello']);
    await expect(renderQr(SAMPLE_QR_PAYLOAD, 40)).rejects.toThrow(/too small/);
  });
});

describe('OCR of rendered frames', () => {
  let worker: Worker;
  beforeAll(async () => {
    const eng = require('@tesseract.js-data/eng') as { langPath: string; gzip: boolean };
    expect(eng.langPath).toContain('node_modules'); // local data, never a CDN
    worker = await createWorker('eng', 1, { langPath: eng.langPath, gzip: eng.gzip, cacheMethod: 'none' });
  });
  afterAll(async () => {
    await worker?.terminate();
  });

  async function ocr(jpeg: Buffer, rect: Rect, layout: ScreenLayout): Promise<string> {
    const pad = Math.round(layout.height * 0.01);
    const left = Math.max(0, rect.x - pad), top = Math.max(0, rect.y - pad);
    const crop = await sharp(jpeg).extract({
      left, top, width: Math.min(layout.width - left, rect.width + 2 * pad), height: Math.min(layout.height - top, rect.height + 2 * pad),
    }).png().toBuffer();
    const { data } = await worker.recognize(crop);
    return data.text.replace(/\s+/g, ' ').trim();
  }

  /** Normalized edit distance: 0 same, 1 nothing in common. */
  function distance(a: string, b: string): number {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    return d[a.length][b.length] / Math.max(a.length, b.length, 1);
  }

  for (const name of ['win11-oobe-region', 'win10-provisioning-config', 'win11-provisioning-failure', 'win11-oobe-busy']) {
    it(`${name}: the title reads back as drawn, at 1920x1080 and 1024x768`, async () => {
      const view = sample(name);
      for (const [width, height] of [[1920, 1080], [1024, 768]]) {
        const { jpeg, layout } = await renderFrame(view, { width, height });
        const text = await ocr(jpeg, layout.regions.title!, layout);
        expect(distance(text, view.title!), `read "${text}" at ${width}x${height}`).toBeLessThan(0.1);
      }
    });
  }

  it('a masked key box shows no character of the key, while the same key unmasked reads back', async () => {
    const view = sample('win11-oobe-network-key');
    expect(view.input!.value).toBe(SAMPLE_WIFI_KEY);
    const norm = (s: string) => s.toLowerCase().replace(/o/g, '0').replace(/[il|]/g, '1').replace(/\s/g, '');
    const masked = await renderFrame(view);
    const hidden = norm(await ocr(masked.jpeg, masked.layout.regions.input!, masked.layout));
    const key = norm(SAMPLE_WIFI_KEY);
    for (let i = 0; i + 3 <= key.length; i++) expect(hidden.includes(key.slice(i, i + 3)), `OCR "${hidden}" shows "${key.slice(i, i + 3)}"`).toBe(false);
    const plain = await renderFrame({ ...view, input: { ...view.input!, masked: false } });
    const shown = norm(await ocr(plain.jpeg, plain.layout.regions.input!, plain.layout));
    expect(distance(shown, key), `unmasked read "${shown}"`).toBeLessThan(0.25);
  });
});
