// Reads a frame: which screen it is, on which OS, what it says, and where each text is (so the engine can
// click a button that OCR located). One Recognizer per stream (it remembers the stream's last frame); the
// OCR worker pool is shared by every Recognizer of the process.
//
// What a frame costs: the same bytes as the last frame, a comparison; a frame nearly equal to the last one
// read (re-encoded, a little noise), a thumbnail decode; a new frame, the regions that tell its screen
// (frame-reader.ts). A black or uniform frame is no-signal without OCR.
import { loadCatalog, type Catalog } from './catalog.ts';
import { normalizeText, textSimilarity } from './classifier.ts';
import { FrameGate } from './frame-gate.ts';
import { FrameReader } from './frame-reader.ts';
import { OCR_CACHE_ENTRIES, OcrCache } from './ocr-cache.ts';
import { acquireOcrPool, releaseOcrPool, type OcrPool } from './ocr-pool.ts';
import { decodeThumbnail } from './raster.ts';
import type { Box, Recognition } from './types.ts';

export interface RecognizerOptions {
  /** OCR workers of the shared pool (default: the cores); only the first Recognizer of a process sets it. */
  workers?: number;
  /** A catalog other than flows/screens.yaml: a path or a loaded one. */
  catalog?: string | Catalog;
  /** Images whose OCR the stream keeps, to answer the same pixels again (default 256; 0: none, every region read). */
  ocrCacheEntries?: number;
}

export interface ReadOptions {
  /**
   * Every line of the page in `lines` (whole-page OCR), e.g. to find a button to click. Read once per frame:
   * asking again for the same frame costs nothing more.
   */
  allText?: boolean;
  /** When the frame arrived (ms since epoch; default now): what frozenMs is measured with. */
  at?: number;
  /**
   * A frame from before the last one read (looked back at): read as a new frame, and what the stream
   * remembers (the last frame, which the next one is compared with) stays as it was.
   */
  aside?: boolean;
}

/** What reading has cost a Recognizer so far. */
export interface ReadCounts {
  /** Frames given to read(). */
  frames: number;
  /** ... with the same bytes as the frame before (a comparison, nothing else). */
  sameBytes: number;
  /** ... nearly equal to the last frame read (a thumbnail decode, nothing else). */
  nearlySame: number;
  /** ... read as new frames. */
  newFrames: number;
  /** OCR jobs run, every line of a page (allText) included. */
  ocrJobs: number;
  /** OCR jobs answered from the stream's cache: an image with the same pixels read before. */
  ocrCached: number;
}

export class Recognizer {
  private readonly gate = new FrameGate();
  private readonly tally: ReadCounts = { frames: 0, sameBytes: 0, nearlySame: 0, newFrames: 0, ocrJobs: 0, ocrCached: 0 };
  private readonly ocrCache: OcrCache | null;
  private last: { rec: Recognition; reader: FrameReader | null } | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(private readonly pool: OcrPool, private readonly catalog: Catalog, ocrCacheEntries: number) {
    this.ocrCache = ocrCacheEntries > 0 ? new OcrCache(ocrCacheEntries) : null;
  }

  static async create(opts: RecognizerOptions = {}): Promise<Recognizer> {
    const catalog = typeof opts.catalog === 'object' ? opts.catalog : loadCatalog(opts.catalog);
    const pool = acquireOcrPool({ size: opts.workers });
    try {
      await pool.ready();
    } catch (e) {
      await releaseOcrPool();
      throw new Error(`OCR did not start: ${e instanceof Error ? e.message : String(e)}`);
    }
    return new Recognizer(pool, catalog, opts.ocrCacheEntries ?? OCR_CACHE_ENTRIES);
  }

  get counts(): Readonly<ReadCounts> { return { ...this.tally }; }

  /** Reads a frame (JPEG or PNG). Frames of one stream are read one after the other, in the order given. */
  read(image: Buffer, opts: ReadOptions = {}): Promise<Recognition> {
    if (this.closed) return Promise.reject(new Error('Recognizer is closed'));
    const p = this.queue.then(() => this.readNow(image, opts).catch((e: unknown) => {
      // Nothing of a frame that could not be read may answer for the next one.
      this.gate.reset();
      this.last = null;
      throw e;
    }));
    this.queue = p.catch(() => {});
    return p;
  }

  private async readNow(image: Buffer, opts: ReadOptions): Promise<Recognition> {
    const t0 = performance.now();
    const at = opts.at ?? Date.now();
    const ms = () => Math.round(performance.now() - t0);
    this.tally.frames += 1;
    if (!opts.aside && this.gate.sameBytes(image, at) && this.last) { this.tally.sameBytes += 1; return this.again(this.last, opts, at, ms); }
    const thumb = await decodeThumbnail(image);
    if (!opts.aside && this.last && this.gate.nearlyRead(thumb)) { this.tally.nearlySame += 1; return this.again(this.last, opts, at, ms); }
    this.tally.newFrames += 1;
    const reader = new FrameReader(this.pool, this.catalog, image, thumb, this.ocrCache);
    const r = await reader.recognize().finally(() => { this.tally.ocrJobs += reader.ocrJobs; this.tally.ocrCached += reader.ocrCached; });
    const rec: Recognition = {
      screen: r.screen, os: r.os, confidence: r.confidence, lines: r.lines, fields: r.fields,
      width: reader.frameWidth, height: reader.frameHeight, ms: 0,
      ...(r.candidates ? { candidates: r.candidates } : {}),
      frozenMs: this.gate.frozenMs(at), activeArea: r.activeArea, regionsRead: r.regionsRead,
    };
    if (opts.aside) return this.again({ rec, reader }, opts, at, ms);
    this.gate.markRead(thumb);
    // A frame with no signal keeps nothing to read later.
    this.last = { rec, reader: r.screen === 'no-signal' ? null : reader };
    return this.again(this.last, opts, at, ms);
  }

  /** The recognition of the last frame read, for this frame (with every line when asked). */
  private async again(last: { rec: Recognition; reader: FrameReader | null }, opts: ReadOptions, at: number, ms: () => number): Promise<Recognition> {
    const rec: Recognition = { ...last.rec, frozenMs: opts.aside ? 0 : this.gate.frozenMs(at) };
    if (opts.allText) {
      const reader = last.reader;
      const before = reader?.ocrJobs ?? 0;
      const cachedBefore = reader?.ocrCached ?? 0;
      rec.lines = reader ? await reader.pageLines() : [];
      this.tally.ocrJobs += (reader?.ocrJobs ?? 0) - before;
      this.tally.ocrCached += (reader?.ocrCached ?? 0) - cachedBefore;
      rec.allText = true;
    }
    rec.ms = ms();
    return rec;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    this.last = null;
    this.gate.reset();
    this.ocrCache?.clear();
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
