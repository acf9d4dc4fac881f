// What a region hands to OCR, on the virtual device's frames (real pixels, JPEG as a grabber sends them): the
// empty network key box has no text to give, so it is left out of OCR (a fifth of that frame's OCR time); the
// box with the key's dots in it is kept, and the screen's texts are read as before; an ESP item with a count
// keeps its count.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { regionBox } from '../agent/vision/active-area.ts';
import { loadCatalog } from '../agent/vision/catalog.ts';
import { decodeFull } from '../agent/vision/raster.ts';
import { cutRegion, lineInFrame } from '../agent/vision/region-image.ts';
import { Recognizer } from '../agent/vision/recognizer.ts';
import { renderFrame } from '../sim/render/paint.ts';
import { sampleViews } from '../sim/render/samples.ts';

const W = 1920, H = 1080;

async function frameOf(name: string): Promise<Buffer> {
  const sample = sampleViews().find((s) => s.name === name);
  if (!sample) throw new Error(`no sample ${name}`);
  return (await renderFrame(sample.view, { width: W, height: H, quality: 90 })).jpeg;
}

/** The ink lines of Windows 11's body region, in frame pixels, with what cutRegion made of each. */
async function bodyLines(jpeg: Buffer) {
  const spec = loadCatalog().regions['w11-body'];
  const box = regionBox({ x0: 0, y0: 0, x1: W, y1: H }, spec.box);
  const img = await cutRegion(await decodeFull(jpeg), box, { pictureHeight: H, fills: true });
  expect(img).not.toBeNull();
  return img!.lines.map((l) => ({ ...l, frame: lineInFrame(img!, l) }));
}

let recognizer: Recognizer;
beforeAll(async () => { recognizer = await Recognizer.create({ workers: 1 }); });
afterAll(async () => { await recognizer?.close(); });

describe('a region made ready for OCR', () => {
  it('leaves an empty text box out, and keeps the box with the key typed in it', async () => {
    const empty = (await bodyLines(await frameOf('win11-oobe-network-wrong-key'))).filter((l) => l.emptyBox);
    expect(empty.length).toBe(1);
    // As high as a text box (about 5% of the picture), as wide as the list.
    expect(empty[0].frame.y1 - empty[0].frame.y0).toBeGreaterThan(0.04 * H);
    expect(empty[0].frame.x1 - empty[0].frame.x0).toBeGreaterThan(0.2 * W);
    expect((await bodyLines(await frameOf('win11-oobe-network-key'))).filter((l) => l.emptyBox)).toEqual([]);
  });

  it('reads an ESP item shown with a count ("Apps (1 of 3 installed)") as in progress', async () => {
    // (Read at a text height of 16, the count was lost and the item with it: the ESP is read at 20.)
    const rec = await recognizer.read(await frameOf('win11-esp-setup'));
    expect(rec.screen).toBe('esp');
    const setup = rec.fields.esp?.phases.find((p) => p.name === 'Device setup');
    expect(setup?.state).toBe('in-progress');
    expect(setup?.items.find((i) => i.name === 'Apps')?.state).toBe('in-progress');
  });

  it('reads the wrong-key screen as before: the label over the box, the error under it, the other networks', async () => {
    const rec = await recognizer.read(await frameOf('win11-oobe-network-wrong-key'));
    expect(rec.screen).toBe('oobe-network');
    const texts = rec.lines.map((l) => l.text);
    expect(texts).toContain('Enter the network security key');
    expect(texts.some((t) => /security key isn.t correct/i.test(t))).toBe(true);
    expect(texts).toContain('Contoso-Guest');
  });
});
