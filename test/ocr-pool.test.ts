// The OCR pool over a long run: workers are replaced after a number of jobs, and every job still reads as its
// layout says, before and after a replacement (real tesseract.js workers on text drawn with the sim's font).
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { OcrPool, type OcrLayout } from '../agent/vision/ocr-pool.ts';
import { fontFile } from '../sim/render/fonts.ts';

/** Dark text on white, as the reader hands regions to OCR (PNG). */
async function textPicture(text: string): Promise<Buffer> {
  const { data, info } = await sharp({
    text: { text, font: 'Open Sans 22px', fontfile: fontFile('regular'), dpi: 72, spacing: 12 },
  }).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  // Text input is white ink on black: turned round, with a margin of page around it.
  return sharp(Buffer.from(data.map((v) => 255 - v)), { raw: { width: info.width, height: info.height, channels: 1 } })
    .extend({ top: 12, bottom: 12, left: 12, right: 12, background: '#ffffff' })
    .png().toBuffer();
}

async function waitFor(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('OCR pool', () => {
  const pool = new OcrPool({ size: 1, recycleAfter: 2 });
  afterAll(() => pool.close());

  it('reads each job in its own layout, and goes on doing so once a worker has been replaced', async () => {
    const twoLines = await textPicture('Device preparation\nAccount setup');
    const title = await textPicture('Setting up your device for work');
    const read = async (image: Buffer, layout: OcrLayout) => (await pool.recognize(image, layout)).lines.map((l) => l.text);

    // A block gives both lines; the same picture as one line (PSM 7) gives a single line.
    expect(await read(twoLines, 'block')).toEqual(['Device preparation', 'Account setup']);
    expect(await read(twoLines, 'line')).toHaveLength(1);
    // Two jobs done: the replacement loads while the worker goes on, and takes over when it is idle.
    await waitFor('the worker to be replaced', () => pool.recycledWorkers >= 1);

    // The new worker was last told nothing: a single line is still read as one line, a block as a block.
    expect(await read(twoLines, 'line')).toHaveLength(1);
    expect(await read(title, 'line')).toEqual(['Setting up your device for work']);
    expect(await read(twoLines, 'block')).toEqual(['Device preparation', 'Account setup']);
    expect(await read(twoLines, 'sparse')).toEqual(['Device preparation', 'Account setup']);
  });

  it('answers jobs queued beyond its workers in order, none lost', async () => {
    const words = ['Organization', 'Profile', 'Certificates', 'Complete', 'Provision', 'Refresh'];
    const pictures = await Promise.all(words.map(textPicture));
    const got = await Promise.all(pictures.map((p, i) => pool.recognize(p, i % 2 ? 'line' : 'block')));
    expect(got.map((r) => r.lines.map((l) => l.text).join(' '))).toEqual(words);
  });

  it('refuses jobs once closed', async () => {
    const other = new OcrPool({ size: 1 });
    await other.close();
    await expect(other.recognize(await textPicture('Next'))).rejects.toThrow(/closed/);
  });
});
