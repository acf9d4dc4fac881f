// Does OCR work here: the tesseract data loads and reads a known frame right. The frame is a Windows 11
// region page rendered once by the virtual device (1280x720), shipped beside this file.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Recognizer } from '../vision/recognizer.ts';
import type { CheckResult } from './types.ts';

export const KNOWN_FRAME_PATH = fileURLToPath(new URL('./known-frame.jpg', import.meta.url));
/** What the known frame must read as. */
export const KNOWN_FRAME = { screen: 'oobe-region', os: 'win11', selected: 'United States' } as const;

/**
 * Reads the known frame. With no recognizer, one is made and closed again (it shares the process's OCR
 * pool). A given recognizer remembers the frame it read last, so give a fresh one, not a stream's.
 */
export async function checkOcr(recognizer?: Recognizer): Promise<CheckResult> {
  const name = 'ocr';
  let image: Buffer;
  try {
    image = readFileSync(KNOWN_FRAME_PATH);
  } catch (err) {
    return { name, ok: false, detail: `the known frame ${KNOWN_FRAME_PATH} is missing (${(err as NodeJS.ErrnoException).code})`, fix: 'reinstall the package (npm ci)' };
  }
  let rec: Recognizer;
  const t0 = performance.now();
  try {
    rec = recognizer ?? (await Recognizer.create());
  } catch (err) {
    return {
      name, ok: false, detail: `the OCR data does not load: ${(err as Error).message}`,
      fix: 'reinstall the packages (npm ci): tesseract.js reads its English data from @tesseract.js-data/eng',
    };
  }
  const startMs = Math.round(performance.now() - t0);
  try {
    const r = await rec.read(image);
    const selected = r.fields.selected ?? '';
    const wanted = `${KNOWN_FRAME.screen} (${KNOWN_FRAME.os}) with "${KNOWN_FRAME.selected}" selected`;
    const got = `${r.screen}${r.os ? ` (${r.os})` : ''}${selected ? ` with "${selected}" selected` : ''}`;
    if (r.screen !== KNOWN_FRAME.screen || r.os !== KNOWN_FRAME.os || selected !== KNOWN_FRAME.selected) {
      return { name, ok: false, detail: `the known frame reads as ${got}, expected ${wanted}`, fix: 'the OCR data or the screen catalog (flows/screens.yaml) is damaged: reinstall (npm ci) or undo local changes to the catalog' };
    }
    return { name, ok: true, detail: `OCR data loads${recognizer ? '' : ` (${startMs} ms)`} and reads the known frame right: ${got} in ${r.ms} ms` };
  } catch (err) {
    return { name, ok: false, detail: `reading the known frame failed: ${(err as Error).message}`, fix: 'reinstall the packages (npm ci)' };
  } finally {
    if (!recognizer) await rec.close().catch(() => {});
  }
}
