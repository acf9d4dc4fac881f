// What a region hands to OCR, on the virtual device's frames (real pixels, JPEG as a grabber sends them): the
// empty network key box has no text to give, so it is left out of OCR (a fifth of that frame's OCR time); the
// box with the key's dots in it is kept, and the screen's texts are read as before. A line is as high as its
// letters reach, however few of them have a descender (its height sets its scale for OCR).

import { describe, expect, it } from 'vitest';
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

/** The ink lines of a region (Windows 11's body unless told), in frame pixels, with what cutRegion made of each. */
async function bodyLines(jpeg: Buffer, region = 'w11-body') {
  const spec = loadCatalog().regions[region];
  const box = regionBox({ x0: 0, y0: 0, x1: W, y1: H }, spec.box);
  const img = await cutRegion(await decodeFull(jpeg), box, { pictureHeight: H, fills: true });
  expect(img).not.toBeNull();
  return img!.lines.map((l) => ({ ...l, frame: lineInFrame(img!, l) }));
}

describe('a region made ready for OCR', () => {
  it('leaves an empty text box out, and keeps the box with the key typed in it', async () => {
    const empty = (await bodyLines(await frameOf('win11-oobe-network-wrong-key'))).filter((l) => l.emptyBox);
    expect(empty.length).toBe(1);
    // As high as a text box (about 5% of the picture), as wide as the list.
    expect(empty[0].frame.y1 - empty[0].frame.y0).toBeGreaterThan(0.04 * H);
    expect(empty[0].frame.x1 - empty[0].frame.x0).toBeGreaterThan(0.2 * W);
    expect((await bodyLines(await frameOf('win11-oobe-network-key'))).filter((l) => l.emptyBox)).toEqual([]);
  });

  it('measures a line as high as its letters, when only one of them reaches below the line (the p of "Account setup")', async () => {
    // Windows 10's ESP: "Device setup" and "Account setup", the phases behind an open circle (the leftmost
    // lines), are drawn in one size; lines are scaled by their height for OCR.
    const lines = await bodyLines(await frameOf('win10-esp'), 'w10-esp');
    const left = Math.min(...lines.map((l) => l.frame.x0));
    const heights = lines.filter((l) => l.frame.x0 - left <= 2).map((l) => l.frame.y1 - l.frame.y0);
    expect(heights.length).toBe(2);
    expect(Math.abs(heights[0] - heights[1])).toBeLessThanOrEqual(1);
  });

  it('reads the wrong-key screen as before: the label over the box, the error under it, the other networks', async () => {
    const recognizer = await Recognizer.create({ workers: 1 });
    try {
      const rec = await recognizer.read(await frameOf('win11-oobe-network-wrong-key'));
      expect(rec.screen).toBe('oobe-network');
      const texts = rec.lines.map((l) => l.text);
      expect(texts).toContain('Enter the network security key');
      expect(texts.some((t) => /security key isn.t correct/i.test(t))).toBe(true);
      expect(texts).toContain('Contoso-Guest');
    } finally {
      await recognizer.close();
    }
  });
});
