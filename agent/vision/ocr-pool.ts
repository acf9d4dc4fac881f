// A pool of warm tesseract.js workers, one per core by default, shared by every Recognizer of the process.
// Language data comes from node_modules/@tesseract.js-data/eng (this machine is offline): nothing is fetched
// and nothing is cached or written into the project. A worker's wasm heap only grows, so a worker is
// replaced after a number of jobs; its replacement loads while it keeps working, so no job waits for a load.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { availableParallelism, tmpdir } from 'node:os';
import { createWorker, OEM, PSM, type Worker } from 'tesseract.js';
import type { Box, TextLine } from './types.ts';

export interface OcrWord { text: string; box: Box; confidence: number }
/** A line as OCR read it; boxes are in the pixels of the image given to recognize(). */
export interface OcrLine extends TextLine { words: OcrWord[] }
export interface OcrResult { lines: OcrLine[]; ms: number }

export interface OcrPoolOptions {
  /** Number of workers (default: the cores, os.availableParallelism()). */
  size?: number;
  /** A worker is replaced after this many jobs: tesseract's wasm heap only grows (default 400). */
  recycleAfter?: number;
}

/**
 * How tesseract lays out what it is given: `block` one column of lines (a title, a list, details: PSM 6),
 * `line` a single line (PSM 7), `sparse` scattered labels such as a lone button caption that layout analysis
 * would drop as a picture (PSM 11).
 */
export type OcrLayout = 'block' | 'line' | 'sparse';
const PSM_OF: Record<OcrLayout, PSM> = { block: PSM.SINGLE_BLOCK, line: PSM.SINGLE_LINE, sparse: PSM.SPARSE_TEXT };

interface LangData { langPath: string; gzip: boolean }

/** Finds the English data in node_modules: the LSTM-only (best_int) set, since the workers run LSTM only. */
export function findEnglishData(): LangData {
  const require = createRequire(import.meta.url);
  let root: string;
  try {
    root = dirname(require.resolve('@tesseract.js-data/eng/package.json'));
  } catch {
    throw new Error('OCR language data not found: package @tesseract.js-data/eng is not installed (run npm ci)');
  }
  for (const folder of ['4.0.0_best_int', '4.0.0']) {
    const dir = join(root, folder);
    if (existsSync(join(dir, 'eng.traineddata.gz'))) return { langPath: dir, gzip: true };
    if (existsSync(join(dir, 'eng.traineddata'))) return { langPath: dir, gzip: false };
  }
  throw new Error(`OCR language data not found: no eng.traineddata(.gz) under ${root}`);
}

interface Slot {
  worker: Promise<Worker>;
  jobs: number;
  busy: boolean;
  /** A replacement that is loading; it takes over once ready. */
  next: Worker | null;
  loading: boolean;
}
interface Job { image: Buffer; layout: OcrLayout; resolve: (r: OcrResult) => void; reject: (e: Error) => void }

export class OcrPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly recycleAfter: number;
  private readonly lang: LangData;
  private closed = false;
  private recycled = 0;
  /** The page segmentation mode each worker was last set to (a new worker has none). */
  private readonly psmOf = new WeakMap<Worker, PSM>();

  constructor(opts: OcrPoolOptions = {}) {
    const size = Math.max(1, Math.floor(opts.size ?? availableParallelism()));
    this.recycleAfter = Math.max(1, opts.recycleAfter ?? 400);
    this.lang = findEnglishData();
    for (let i = 0; i < size; i++) this.slots.push({ worker: this.spawn(), jobs: 0, busy: false, next: null, loading: false });
  }

  /** Workers replaced so far (they are replaced after `recycleAfter` jobs). */
  get recycledWorkers(): number { return this.recycled; }

  get size(): number { return this.slots.length; }

  /** Resolves once every worker has loaded its language data (rejects if one cannot start). */
  async ready(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker));
  }

  /** OCR of an encoded image (PGM, PNG, JPEG...), laid out as told (default sparse). */
  recognize(image: Buffer, layout: OcrLayout = 'sparse'): Promise<OcrResult> {
    if (this.closed) return Promise.reject(new Error('OCR pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ image, layout, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('OCR pool closed before the job ran'));
    await Promise.all(this.slots.map(async (s) => {
      try { await (await s.worker).terminate(); } catch { /* a worker that failed to start has nothing to end */ }
      try { await s.next?.terminate(); } catch { /* nothing to end */ }
      s.next = null;
    }));
  }

  private spawn(): Promise<Worker> {
    const p = (async () => {
      const worker = await createWorker('eng', OEM.LSTM_ONLY, {
        langPath: this.lang.langPath,
        gzip: this.lang.gzip,
        cacheMethod: 'none',
        cachePath: tmpdir(),
        logger: () => {},
        errorHandler: () => {},
      });
      // A fixed dpi keeps tesseract from guessing one from image metadata.
      // tesseract's own diagnostics ("Detected 8 diacritics") would land on stdout, among classify's JSON lines.
      await worker.setParameters({ user_defined_dpi: '96', debug_file: '/dev/null' });
      return worker;
    })();
    p.catch(() => {}); // reported to whoever awaits it
    return p;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.busy) continue;
      if (slot.next) this.swap(slot);
      const job = this.queue.shift()!;
      slot.busy = true;
      void this.run(slot, job);
    }
  }

  private async run(slot: Slot, job: Job): Promise<void> {
    const t0 = performance.now();
    let failed = false;
    try {
      const worker = await slot.worker;
      // The layout is set on the worker when it changes, not passed with the job: tesseract.js saves and
      // restores every one of tesseract's parameters around a job given parameters, which cost more (about
      // 3 ms a job, a twentieth of all OCR time over the sample screens) than the extra round trip.
      const psm = PSM_OF[job.layout];
      if (this.psmOf.get(worker) !== psm) {
        await worker.setParameters({ tessedit_pageseg_mode: psm });
        this.psmOf.set(worker, psm);
      }
      // TSV: words with their boxes and lines, a string; the `blocks` tree (every symbol with its choices) costs
      // far more to build and to pass between threads.
      const res = await worker.recognize(job.image, {}, { text: false, blocks: false, tsv: true });
      job.resolve({ lines: linesOfTsv(res.data.tsv ?? ''), ms: Math.round(performance.now() - t0) });
    } catch (e) {
      failed = true;
      job.reject(new Error(`OCR failed: ${e instanceof Error ? e.message : String(e)}`));
    } finally {
      slot.jobs += 1;
      if (!this.closed && failed) {
        // A worker that failed is not trusted with the next job: replace it now.
        const old = slot.worker;
        slot.worker = this.spawn();
        slot.jobs = 0;
        old.then((w) => w.terminate()).catch(() => {});
      } else if (!this.closed && slot.jobs >= this.recycleAfter && !slot.loading && !slot.next) {
        slot.loading = true;
        this.spawn().then((w) => {
          slot.loading = false;
          if (this.closed) { void w.terminate().catch(() => {}); return; }
          slot.next = w;
          if (!slot.busy) { this.swap(slot); this.dispatch(); }
        }, () => { slot.loading = false; });
      }
      slot.busy = false;
      this.dispatch();
    }
  }

  /** Puts a slot's loaded replacement in place of its worker (the slot is idle) and ends the old one. */
  private swap(slot: Slot): void {
    const old = slot.worker;
    slot.worker = Promise.resolve(slot.next!);
    slot.next = null;
    slot.jobs = 0;
    this.recycled += 1;
    old.then((w) => w.terminate()).catch(() => {});
  }
}

/**
 * Lines from tesseract's TSV output (level, page, block, paragraph, line, word, left, top, width, height,
 * confidence, text): the words of each line with their boxes; lines that hold no letter or digit are left out.
 */
export function linesOfTsv(tsv: string): OcrLine[] {
  const out: OcrLine[] = [];
  let current: OcrLine | null = null;
  const flush = () => {
    if (!current) return;
    const text = current.words.map((w) => w.text).join(' ').replace(/\s+/g, ' ').trim();
    if (current.words.length && /[\p{L}\p{N}]/u.test(text)) {
      current.text = text;
      current.confidence = current.words.reduce((a, w) => a + w.confidence, 0) / current.words.length;
      out.push(current);
    }
    current = null;
  };
  for (const row of tsv.split('\n')) {
    const f = row.split('\t');
    if (f.length < 12) continue;
    const level = Number(f[0]);
    const [left, top, width, height] = [Number(f[6]), Number(f[7]), Number(f[8]), Number(f[9])];
    const box: Box = { x0: left, y0: top, x1: left + width, y1: top + height };
    if (level === 4) {
      flush();
      current = { text: '', box, confidence: 0, words: [] };
    } else if (level === 5 && current) {
      const text = f.slice(11).join('\t').trim();
      if (text) current.words.push({ text, box, confidence: Math.max(0, Number(f[10])) / 100 });
    }
  }
  flush();
  return out;
}

let shared: OcrPool | null = null;
let users = 0;

/** The process's one pool, started on first use; whoever starts it closes it at exit (closeOcrPool). */
export function getOcrPool(opts?: OcrPoolOptions): OcrPool {
  if (!shared) shared = new OcrPool(opts);
  return shared;
}

/** The shared pool for a user that gives it back with releaseOcrPool(): the last one out closes it. */
export function acquireOcrPool(opts?: OcrPoolOptions): OcrPool {
  users += 1;
  return getOcrPool(opts);
}

export async function releaseOcrPool(): Promise<void> {
  users = Math.max(0, users - 1);
  if (users === 0) await closeOcrPool();
}

export async function closeOcrPool(): Promise<void> {
  const pool = shared;
  shared = null;
  users = 0;
  if (pool) await pool.close();
}
