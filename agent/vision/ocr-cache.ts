// What OCR made of an image a stream has already sent it: tesseract gives the same lines for the same bytes,
// so a region whose pixels did not change since an earlier frame (the title while a progress line moves, a
// page under a cursor that moved elsewhere) is answered from here instead of being read again. Keyed by a
// hash of the exact image given to OCR and its layout; bounded, least recently used out first.
import { createHash } from 'node:crypto';
import type { OcrLayout, OcrLine } from './ocr-pool.ts';

/** Images remembered per stream: a screen needs a handful, a whole flow a few dozen. */
export const OCR_CACHE_ENTRIES = 256;

export class OcrCache {
  private readonly entries = new Map<string, OcrLine[]>();

  constructor(private readonly limit = OCR_CACHE_ENTRIES) {}

  static keyOf(image: Buffer, layout: OcrLayout): string {
    return createHash('sha1').update(layout).update(image).digest('base64');
  }

  get(key: string): OcrLine[] | undefined {
    const lines = this.entries.get(key);
    if (lines === undefined) return undefined;
    // Most recently used last: Map keeps insertion order.
    this.entries.delete(key);
    this.entries.set(key, lines);
    return lines;
  }

  set(key: string, lines: OcrLine[]): void {
    this.entries.delete(key);
    this.entries.set(key, lines);
    while (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value!);
  }

  clear(): void { this.entries.clear(); }
}
