// Reads a frame: which screen it is, on which OS, what it says, and where each text is (so the engine can
// click a button that OCR located). One whole-frame OCR per new frame; nothing at all for a frame with no
// signal or a frame equal to the last one.
import { loadCatalog, type Catalog } from './catalog.ts';
import { classify, isNoSignal, normalizeText, textSimilarity } from './classifier.ts';
import { readFields } from './fields.ts';
import { acquireOcrPool, releaseOcrPool, type OcrPool } from './ocr-pool.ts';
import { analyzeFrame, prepareForOcr } from './preprocess.ts';
import { readQrPayload } from './qr.ts';
import type { Box, QrPayload, Recognition, TextLine } from './types.ts';

export interface RecognizerOptions {
  /** OCR workers of the shared pool (default min(2, cores)); only the first Recognizer of a process sets it. */
  workers?: number;
  /** A catalog other than flows/screens.yaml: a path or a loaded one. */
  catalog?: string | Catalog;
  /** OCR scale override (OCR pixels per frame pixel); default from the frame height. */
  ocrScale?: number;
}

export class Recognizer {
  private last: { image: Buffer; rec: Recognition } | null = null;
  private closed = false;

  private constructor(private readonly pool: OcrPool, private readonly catalog: Catalog, private readonly opts: RecognizerOptions) {}

  static async create(opts: RecognizerOptions = {}): Promise<Recognizer> {
    const catalog = typeof opts.catalog === 'object' ? opts.catalog : loadCatalog(opts.catalog);
    const pool = acquireOcrPool({ size: opts.workers });
    try {
      await pool.ready();
    } catch (e) {
      await releaseOcrPool();
      throw new Error(`OCR did not start: ${e instanceof Error ? e.message : String(e)}`);
    }
    return new Recognizer(pool, catalog, opts);
  }

  async read(image: Buffer): Promise<Recognition> {
    if (this.closed) throw new Error('Recognizer is closed');
    const t0 = performance.now();
    if (this.last && this.last.image.equals(image)) return { ...this.last.rec, ms: Math.round(performance.now() - t0) };
    const rec = await this.readNew(image, t0);
    this.last = { image, rec };
    return rec;
  }

  private async readNew(image: Buffer, t0: number): Promise<Recognition> {
    const analysis = await analyzeFrame(image);
    const { width, height } = analysis.stats;
    const done = (r: Omit<Recognition, 'ms' | 'width' | 'height'>): Recognition => ({ ...r, width, height, ms: Math.round(performance.now() - t0) });
    if (isNoSignal(analysis.stats)) return done({ screen: 'no-signal', os: null, confidence: 1, lines: [], fields: {} });

    const ocrImage = await prepareForOcr(image, analysis, this.opts.ocrScale);
    const ocr = await this.pool.recognize(ocrImage.image);
    const k = ocrImage.scale;
    const toFrame = (b: Box): Box => ({ x0: Math.round(b.x0 / k), y0: Math.round(b.y0 / k), x1: Math.round(b.x1 / k), y1: Math.round(b.y1 / k) });
    const lines: TextLine[] = ocr.lines.map((l) => ({
      text: l.text, box: toFrame(l.box), confidence: l.confidence,
      words: l.words.map((w) => ({ text: w.text, box: toFrame(w.box), confidence: w.confidence })),
    })).sort((a, b) => a.box.y0 - b.box.y0 || a.box.x0 - b.box.x0);

    let qrRead: Promise<QrPayload | null> | null = null;
    const readQr = () => (qrRead ??= readQrPayload(image).catch(() => null));
    const c = await classify(this.catalog, lines, analysis.stats, readQr);
    if (!c.variant) {
      // A dark frame with a few marks and no words: a boot or reboot spinner. Nothing tells the OS.
      if (analysis.dark && analysis.stats.luma < 60 && !lines.some((l) => /\p{L}{3,}/u.test(l.text) && l.confidence >= 0.6)) {
        return done({ screen: 'oobe-busy', os: null, confidence: 0.5, lines, fields: {} });
      }
      return done({ screen: 'unknown', os: null, confidence: c.confidence, lines, fields: {}, candidates: c.candidates });
    }
    const fields = readFields({
      lines, variant: c.variant, matchedOneOf: c.matchedOneOf, thumb: analysis.thumb, page: analysis.stats.page, height,
    });
    if (c.variant.qr !== 'absent') {
      const qr = await readQr();
      if (qr) fields.qr = qr;
    }
    return done({ screen: c.screen, os: c.os, confidence: c.confidence, lines, fields });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.last = null;
    await releaseOcrPool();
  }
}

export interface TextHit {
  box: Box;
  /** The text as read. */
  text: string;
  /** 0..1 similarity to the text asked for. */
  score: number;
  /** The match is the whole line (a button's caption, a list item), not words inside a sentence. */
  wholeLine: boolean;
}

const trimPunct = (s: string) => s.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
const union = (boxes: Box[]): Box => ({
  x0: Math.min(...boxes.map((b) => b.x0)), y0: Math.min(...boxes.map((b) => b.y0)),
  x1: Math.max(...boxes.map((b) => b.x1)), y1: Math.max(...boxes.map((b) => b.y1)),
});

/**
 * Every place the text is on screen: whole lines and runs of words, fuzzily (OCR slips), best first.
 * A whole-line match (a button caption, a list item) ranks above the same words inside a sentence; among
 * equals, the lower one (buttons sit at the bottom of a page) comes first.
 */
export function findAllText(rec: Recognition, text: string, minScore = 0.8): TextHit[] {
  const target = trimPunct(normalizeText(text));
  if (!target) return [];
  const nWords = target.split(' ').length;
  const hits: TextHit[] = [];
  for (const line of rec.lines) {
    const whole = trimPunct(normalizeText(line.text));
    const s = textSimilarity(whole, target);
    if (s >= minScore) { hits.push({ box: line.box, text: line.text, score: s, wholeLine: true }); continue; }
    const words = line.words?.length ? line.words : null;
    if (!words) continue;
    // Runs of about as many words as the target, inside a longer line.
    let best: TextHit | null = null;
    for (let len = Math.max(1, nWords - 1); len <= nWords + 1; len++) {
      for (let i = 0; i + len <= words.length; i++) {
        const run = words.slice(i, i + len);
        const rs = textSimilarity(trimPunct(normalizeText(run.map((w) => w.text).join(' '))), target);
        if (rs >= minScore && (!best || rs > best.score)) {
          best = { box: union(run.map((w) => w.box)), text: run.map((w) => w.text).join(' '), score: rs, wholeLine: run.length === words.length };
        }
      }
    }
    if (best) hits.push(best);
  }
  const exact = (h: TextHit) => (h.score === 1 ? 1 : 0);
  return hits.sort((a, b) => exact(b) - exact(a) || Number(b.wholeLine) - Number(a.wholeLine)
    || b.score - a.score || b.box.y0 - a.box.y0);
}

/** Where the text is (the hit most likely to be the button or item meant), or null when it is not on screen. */
export function findText(rec: Recognition, text: string): Box | null {
  return findAllText(rec, text)[0]?.box ?? null;
}
