// The agent's vision on real Windows 11 screenshots (test/fixtures/real, labels.tsv), on frames with no
// signal, and on QR codes of both Autopilot payload shapes: real tesseract.js, real zxing-wasm, real pixels.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareZXingModule as prepareWriter, writeBarcode } from 'zxing-wasm/writer';
import { loadCatalog, parseCatalog, CATALOG_PATH } from '../agent/vision/catalog.ts';
import { parseErrorCode, parseElapsed } from '../agent/vision/fields.ts';
import { assembleQrBlocks, readQrPayload } from '../agent/vision/qr.ts';
import { Recognizer, findAllText, findText } from '../agent/vision/recognizer.ts';
import type { Recognition } from '../agent/vision/types.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'real');
const labels = readFileSync(join(FIXTURES, 'labels.tsv'), 'utf8').split('\n')
  .filter((l) => l.trim() && !l.startsWith('#'))
  .map((l) => { const [file, screen, os] = l.split('\t'); return { file, screen, os }; });

let recognizer: Recognizer;
const read = new Map<string, Promise<Recognition>>();
const recOf = (file: string) => {
  let p = read.get(file);
  if (!p) { p = recognizer.read(readFileSync(join(FIXTURES, file))); read.set(file, p); }
  return p;
};
/** Every line of a screenshot, as the engine asks for them when it clicks. */
const allTextOf = (file: string) => recognizer.read(readFileSync(join(FIXTURES, file)), { allText: true });

beforeAll(async () => { recognizer = await Recognizer.create({ workers: 1 }); });
afterAll(async () => { await recognizer?.close(); });

describe('real Windows 11 screenshots', () => {
  it('has labels for the fixtures', () => {
    expect(labels.length).toBeGreaterThanOrEqual(6);
  });

  for (const { file, screen, os } of labels) {
    it(`${file} is ${screen} on ${os}`, async () => {
      const rec = await recOf(file);
      expect({ screen: rec.screen, os: rec.os }).toEqual({ screen, os });
      expect(rec.confidence).toBeGreaterThanOrEqual(0.8);
      expect(rec.width).toBe(1018);
      expect(rec.height).toBe(764);
    });
  }

  it('reads the selected list item (the one on the accent fill), the busy message', async () => {
    expect((await recOf('16_system_locale_1.png')).fields.selected).toBe('United States');
    expect((await recOf('22_system_keyboard.png')).fields.selected).toBe('US');
    expect((await recOf('30_personal_use.png')).fields.selected).toBe('Set up for personal use');
    expect((await recOf('14_moment_1_message.png')).fields.message).toBe('Just a moment...');
    expect((await recOf('24_check_update_1_message.png')).fields.message).toBe('Checking for updates');
  });

  it('locates buttons and list items in frame pixels, so a click lands on them', async () => {
    const region = await allTextOf('16_system_locale_1.png');
    expect(region.allText).toBe(true);
    expect(region.screen).toBe('oobe-region');
    const yes = findText(region, 'Yes')!;
    const centre = { x: (yes.x0 + yes.x1) / 2, y: (yes.y0 + yes.y1) / 2 };
    // The Yes button of that screenshot spans x 798..926, y 634..674.
    expect(centre.x).toBeGreaterThan(798); expect(centre.x).toBeLessThan(926);
    expect(centre.y).toBeGreaterThan(634); expect(centre.y).toBeLessThan(674);
    const albania = findText(region, 'Albania')!;
    expect(albania.y0).toBeGreaterThan(380); expect(albania.y1).toBeLessThan(420);
    expect(findText(region, 'Provision')).toBeNull();
    // A link label read as a whole line counts as a control, not as words inside a sentence.
    const name = await allTextOf('28_hostname.png');
    expect(findAllText(name, 'Skip for now')[0]?.wholeLine).toBe(true);
  });

  it('reads only the title where the title tells the screen, and every line when asked', async () => {
    const fast = await recOf('16_system_locale_1.png');
    expect(fast.regionsRead).toEqual(['w11-title']);
    expect(findText(fast, 'Is this the right country or region?')).not.toBeNull();
    expect(findText(fast, 'Afghanistan')).toBeNull();
    const all = await allTextOf('16_system_locale_1.png');
    expect(all.lines.length).toBeGreaterThan(fast.lines.length);
    expect(findText(all, 'Afghanistan')).not.toBeNull();
  });
});

describe('frames with nothing on them', () => {
  it('a black frame is no-signal, read without OCR', async () => {
    const black = await sharp({ create: { width: 1920, height: 1080, channels: 3, background: '#000000' } }).jpeg().toBuffer();
    const before = recognizer.counts.ocrJobs;
    const rec = await recognizer.read(black);
    expect(rec.screen).toBe('no-signal');
    expect(rec.os).toBeNull();
    expect(rec.lines).toEqual([]);
    expect(recognizer.counts.ocrJobs).toBe(before);
  });

  it('a uniform grey frame with alpha is no-signal too', async () => {
    const grey = await sharp({ create: { width: 1280, height: 720, channels: 4, background: { r: 90, g: 90, b: 90, alpha: 0.5 } } }).png().toBuffer();
    expect((await recognizer.read(grey)).screen).toBe('no-signal');
  });

});

describe('frames that did not change', () => {
  const keyboard = readFileSync(join(FIXTURES, '22_system_keyboard.png'));

  it('a frame with the same bytes as the last one is not read again, and how long it stayed is told', async () => {
    const t = Date.parse('2026-01-01T10:00:00Z');
    const first = await recognizer.read(keyboard, { at: t });
    const before = recognizer.counts;
    const again = await recognizer.read(Buffer.from(keyboard), { at: t + 90_000 });
    expect(again).toMatchObject({ screen: first.screen, os: first.os, fields: first.fields, frozenMs: 90_000 });
    expect(recognizer.counts).toMatchObject({ newFrames: before.newFrames, sameBytes: before.sameBytes + 1, ocrJobs: before.ocrJobs });
  });

  it('the same picture encoded again (a grabber re-sending a still screen) is not read again either', async () => {
    const t = Date.parse('2026-01-01T11:00:00Z');
    const first = await recognizer.read(await sharp(keyboard).jpeg({ quality: 90 }).toBuffer(), { at: t });
    const before = recognizer.counts;
    const reencoded = await sharp(keyboard).jpeg({ quality: 75 }).toBuffer();
    const again = await recognizer.read(reencoded, { at: t + 1000 });
    expect(again).toMatchObject({ screen: first.screen, fields: first.fields, frozenMs: 0 });
    expect(recognizer.counts).toMatchObject({ newFrames: before.newFrames, nearlySame: before.nearlySame + 1, ocrJobs: before.ocrJobs });
  });

  it('a screen seen before in the stream is read again without OCR: its regions come from the stream\'s cache', async () => {
    const personal = readFileSync(join(FIXTURES, '30_personal_use.png'));
    const first = await recognizer.read(keyboard);
    await recognizer.read(personal);
    const before = recognizer.counts;
    const back = await recognizer.read(keyboard);
    expect(back).toMatchObject({ screen: first.screen, os: first.os, fields: first.fields });
    expect(back.lines.map((l) => l.text)).toEqual(first.lines.map((l) => l.text));
    expect(recognizer.counts.newFrames).toBe(before.newFrames + 1);
    expect(recognizer.counts.ocrJobs).toBe(before.ocrJobs);
    expect(recognizer.counts.ocrCached).toBeGreaterThan(before.ocrCached);
  });

  it('a pointer moved onto an empty part of a screen read before costs OCR only where pixels changed', async () => {
    const meta = await sharp(keyboard).metadata();
    // A 24x36 white-edged arrow-sized mark in the bottom left corner, away from every text.
    const mark = await sharp({ create: { width: 24, height: 36, channels: 3, background: { r: 250, g: 250, b: 250 } } })
      .extend({ top: 2, bottom: 2, left: 2, right: 2, background: { r: 0, g: 0, b: 0 } }).png().toBuffer();
    const pointed = await sharp(keyboard).composite([{ input: mark, left: 8, top: meta.height! - 60 }]).png().toBuffer();
    const first = await recognizer.read(keyboard);
    await recognizer.read(readFileSync(join(FIXTURES, '30_personal_use.png')));
    const before = recognizer.counts;
    const rec = await recognizer.read(pointed);
    expect(rec).toMatchObject({ screen: first.screen, os: first.os, fields: first.fields });
    expect(recognizer.counts.ocrCached).toBeGreaterThan(before.ocrCached);
  });

  it('a picture that changed is read anew, and frozen time starts again', async () => {
    const t = Date.parse('2026-01-01T12:00:00Z');
    await recognizer.read(keyboard, { at: t });
    await recognizer.read(keyboard, { at: t + 5000 });
    const before = recognizer.counts;
    const next = await recognizer.read(readFileSync(join(FIXTURES, '30_personal_use.png')), { at: t + 6000 });
    expect(next).toMatchObject({ screen: 'oobe-consumer-setup', frozenMs: 0 });
    expect(recognizer.counts.newFrames).toBe(before.newFrames + 1);
  });
});

describe('the active picture', () => {
  it('a screenshot inside black bars reads the same, with boxes in the frame\'s pixels', async () => {
    const png = readFileSync(join(FIXTURES, '16_system_locale_1.png'));
    // The 1018x764 picture pillarboxed into a 1366x764 frame, as a 16:9 grabber would show it.
    const boxed = await sharp(png).extend({ left: 174, right: 174, background: '#000000' }).jpeg({ quality: 80 }).toBuffer();
    const rec = await recognizer.read(boxed, { allText: true });
    expect({ screen: rec.screen, os: rec.os, selected: rec.fields.selected }).toEqual({ screen: 'oobe-region', os: 'win11', selected: 'United States' });
    expect(rec.activeArea).toEqual({ x0: 174, y0: 0, x1: 1192, y1: 764 });
    const yes = findText(rec, 'Yes')!;
    const centre = (yes.x0 + yes.x1) / 2;
    expect(centre).toBeGreaterThan(798 + 174); expect(centre).toBeLessThan(926 + 174);
  });
});

// ---------------------------------------------------------------- QR codes

const require = createRequire(import.meta.url);
const ZTD = '6f1d0b3e-2c4a-4d8e-9b7f-1a2b3c4d5e6f';
const SERIAL = 'PF3X9K2L';

async function qrPng(text: string, px = 8): Promise<Buffer> {
  const res = await writeBarcode(text, { format: 'QRCode', scale: px, withQuietZones: true });
  if (!res.image) throw new Error(`QR writer: ${res.error}`);
  return Buffer.from(await res.image.arrayBuffer());
}

/** QR codes placed on a Windows-10-blue page, as a grabber would show them. */
async function page(qrs: Buffer[]): Promise<Buffer> {
  const composite = qrs.map((input, i) => ({ input, left: 120 + i * 520, top: 200 }));
  return sharp({ create: { width: 1280, height: 720, channels: 3, background: '#003e92' } }).composite(composite).jpeg({ quality: 90 }).toBuffer();
}

describe('QR payloads', () => {
  beforeAll(async () => {
    const bytes = readFileSync(require.resolve('zxing-wasm/writer/zxing_writer.wasm'));
    const wasmBinary = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    await prepareWriter({ overrides: { wasmBinary }, fireImmediately: true });
  });

  it('reads ZtdId and SerialNumber from the flat shape, after a prefix', async () => {
    const text = `AUTOPILOT:${JSON.stringify({ Version: '1.0.0', Id: 'c0ffee00-0000-4000-8000-000000000001', ZtdId: ZTD, PKID: '', SerialNumber: SERIAL, SequenceBlockNumber: 1, TotalBlocks: 1 })}`;
    const qr = await readQrPayload(await page([await qrPng(text)]));
    expect(qr).toEqual({ raw: text, ztdId: ZTD, serialNumber: SERIAL });
  });

  it('reads them from inside BlockSequence', async () => {
    const text = JSON.stringify({ BlockSequence: { Id: 'x', ZtdId: ZTD, PKID: '', SerialNumber: SERIAL, HardwareId: '', SequenceBlockNumber: 1, TotalBlocks: 1 } });
    const qr = await readQrPayload(await page([await qrPng(text)]));
    expect(qr?.ztdId).toBe(ZTD);
    expect(qr?.serialNumber).toBe(SERIAL);
  });

  it('puts a payload of two blocks together in SequenceBlockNumber order', async () => {
    const block = (n: number, extra: object) => JSON.stringify({ BlockSequence: { Id: 'x', PKID: '', HardwareId: `part${n}`, SequenceBlockNumber: n, TotalBlocks: 2, ...extra } });
    const first = block(1, { ZtdId: ZTD });
    const second = block(2, { SerialNumber: SERIAL });
    // Drawn second block first: the order on screen does not count.
    const qr = await readQrPayload(await page([await qrPng(second, 6), await qrPng(first, 6)]));
    expect(qr).toEqual({ raw: `${first}\n${second}`, ztdId: ZTD, serialNumber: SERIAL });
    // One block of two is not a payload yet.
    expect(assembleQrBlocks([second])).toBeNull();
  });

  it('gives null for an image without a QR code and for text that is not JSON', async () => {
    expect(await readQrPayload(await page([]))).toBeNull();
    expect(assembleQrBlocks(['hello world'])).toBeNull();
  });
});

describe('field parsing', () => {
  it('fixes O/l/I only inside an error code', () => {
    expect(parseErrorCode('Error code: Ox8OO7O5B4')).toBe('0x800705B4');
    expect(parseErrorCode('Something went wrong. Error code: 0x80l8OO14.')).toBe('0x80180014');
    expect(parseErrorCode('0x800705B')).toBeUndefined();
    expect(parseErrorCode('Organization: Contoso')).toBeUndefined();
  });

  it('reads elapsed time as h:mm:ss, NaN as shown, nothing else', () => {
    expect(parseElapsed('0:41:07')).toBe('0:41:07');
    expect(parseElapsed('O:4l:O7')).toBe('0:41:07');
    expect(parseElapsed('NaN')).toBe('NaN');
    expect(parseElapsed('about an hour')).toBeUndefined();
  });
});

describe('the screen catalog', () => {
  it('loads flows/screens.yaml with both OSes for every screen of the path', () => {
    const catalog = loadCatalog();
    for (const screen of ['oobe-region', 'entra-signin', 'provisioning-options', 'provisioning-config', 'esp', 'provisioning-success', 'provisioning-failure']) {
      expect(catalog.variants.filter((v) => v.screen === screen).map((v) => v.os).sort()).toEqual(['win10', 'win11']);
    }
  });

  it('names the file and the field that is wrong', () => {
    const text = readFileSync(CATALOG_PATH, 'utf8');
    expect(() => parseCatalog(text.replace('kind: error-code', 'kind: error-codes'), 'flows/screens.yaml'))
      .toThrow(/flows\/screens\.yaml: .*screens\.esp\.win1[01]\.en-US\.fields\.errorCode\.kind/);
    expect(() => parseCatalog(text.replace('look: [light]', 'look: [lite]'), 'flows/screens.yaml'))
      .toThrow(/unknown look "lite"/);
    expect(() => parseCatalog(text.replace('title: w11-title, body', 'title: w11-titel, body'), 'flows/screens.yaml'))
      .toThrow(/screens\.oobe-region\.win11\.regions\.title: unknown region "w11-titel"/);
    expect(() => parseCatalog(text.replace('threshold: 0.8, in: footer }', 'threshold: 0.8, in: side }'), 'flows/screens.yaml'))
      .toThrow(/flows\/screens\.yaml: .*\.in/);
    expect(() => parseCatalog(text.replace(/(w11-title: .*)textPx: 16/, '$1textPx: 6'), 'flows/screens.yaml'))
      .toThrow(/flows\/screens\.yaml: .*regions\.w11-title\.textPx/);
  });
});

describe('autopilot-hil classify', () => {
  it('prints one JSON line per image and exits 64 naming a missing file', async () => {
    const run = promisify(execFile);
    const bin = join(import.meta.dirname, '..', 'bin', 'autopilot-hil.js');
    const missing = join(FIXTURES, 'no-such-frame.png');
    const err = await run(process.execPath, [bin, 'classify', '--json', join(FIXTURES, '16_system_locale_1.png'), missing])
      .then(() => null, (e: { code: number; stdout: string; stderr: string }) => e);
    expect(err?.code).toBe(64);
    const lines = err!.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ screen: 'oobe-region', os: 'win11', fields: { selected: 'United States' } });
    expect(typeof lines[0].ms).toBe('number');
    expect(lines[1]).toEqual({ file: missing, error: 'file not found' });
    expect(err!.stderr).toContain('no-such-frame.png');
  });
});
