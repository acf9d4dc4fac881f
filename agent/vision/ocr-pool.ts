// A pool of warm tesseract.js workers. Language data comes from node_modules/@tesseract.js-data/eng (this
// machine is offline): nothing is fetched and nothing is cached or written into the project.
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
  /** Number of workers (default min(2, cores)). */
  size?: number;
  /** A worker is replaced after this many jobs: tesseract's wasm heap only grows (default 150). */
  recycleAfter?: number;
  /** Tesseract page segmentation mode (default '11', sparse text: finds short labels such as a lone button
   * caption that automatic layout analysis drops as a picture). */
  psm?: string;
}

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

interface Slot { worker: Promise<Worker>; jobs: number; busy: boolean }
interface Job { image: Buffer; rect?: Box; resolve: (r: OcrResult) => void; reject: (e: Error) => void }

export class OcrPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly recycleAfter: number;
  private readonly lang: LangData;
  private readonly psm: string;
  private closed = false;

  constructor(opts: OcrPoolOptions = {}) {
    const size = Math.max(1, Math.floor(opts.size ?? Math.min(2, availableParallelism())));
    this.recycleAfter = Math.max(1, opts.recycleAfter ?? 150);
    this.lang = findEnglishData();
    this.psm = opts.psm ?? PSM.SPARSE_TEXT;
    for (let i = 0; i < size; i++) this.slots.push({ worker: this.spawn(), jobs: 0, busy: false });
  }

  get size(): number { return this.slots.length; }

  /** Resolves once every worker has loaded its language data (rejects if one cannot start). */
  async ready(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker));
  }

  /** OCR of an encoded image (PNG, JPEG, PGM...); `rect` limits it to a region (image pixels). */
  recognize(image: Buffer, rect?: Box): Promise<OcrResult> {
    if (this.closed) return Promise.reject(new Error('OCR pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ image, rect, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('OCR pool closed before the job ran'));
    await Promise.all(this.slots.map(async (s) => {
      try { await (await s.worker).terminate(); } catch { /* a worker that failed to start has nothing to end */ }
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
      await worker.setParameters({ tessedit_pageseg_mode: this.psm as PSM, user_defined_dpi: '96', debug_file: '/dev/null' });
      return worker;
    })();
    p.catch(() => {}); // reported to whoever awaits it
    return p;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.busy) continue;
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
      const rectangle = job.rect && {
        left: Math.max(0, Math.round(job.rect.x0)), top: Math.max(0, Math.round(job.rect.y0)),
        width: Math.max(1, Math.round(job.rect.x1 - job.rect.x0)), height: Math.max(1, Math.round(job.rect.y1 - job.rect.y0)),
      };
      const res = await worker.recognize(job.image, rectangle ? { rectangle } : {}, { text: false, blocks: true });
      job.resolve({ lines: linesOf(res.data.blocks), ms: Math.round(performance.now() - t0) });
    } catch (e) {
      failed = true;
      job.reject(new Error(`OCR failed: ${e instanceof Error ? e.message : String(e)}`));
    } finally {
      slot.jobs += 1;
      if (!this.closed && (failed || slot.jobs >= this.recycleAfter)) {
        const old = slot.worker;
        slot.worker = this.spawn();
        slot.jobs = 0;
        old.then((w) => w.terminate()).catch(() => {});
      }
      slot.busy = false;
      this.dispatch();
    }
  }
}

type Blocks = Awaited<ReturnType<Worker['recognize']>>['data']['blocks'];

const toBox = (b: { x0: number; y0: number; x1: number; y1: number }): Box => ({ x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1 });

/** Flattens tesseract's block tree into lines that hold some letter or digit. */
function linesOf(blocks: Blocks): OcrLine[] {
  const out: OcrLine[] = [];
  for (const block of blocks ?? []) {
    for (const para of block.paragraphs) {
      for (const line of para.lines) {
        const text = line.text.replace(/\s+/g, ' ').trim();
        if (!/[\p{L}\p{N}]/u.test(text)) continue;
        const words = line.words
          .map((w) => ({ text: w.text.trim(), box: toBox(w.bbox), confidence: w.confidence / 100 }))
          .filter((w) => w.text.length > 0);
        out.push({ text, box: toBox(line.bbox), confidence: line.confidence / 100, words });
      }
    }
  }
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
