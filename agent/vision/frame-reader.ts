// Reads one new frame, region by region, and stops as soon as the screen is certain: the active picture and
// its look first (no OCR; a black or uniform frame ends here as no-signal), then the title regions of that
// look, block by block; then only the regions that open candidates still need; the whole page only when
// nothing else tells. Fields are read from the regions of the screen that has them, the QR code only on
// screens that show one.
import { contentBox, findActiveArea, regionBox } from './active-area.ts';
import type { Catalog, FieldSpec, RegionRole, ScreenVariant } from './catalog.ts';
import {
  PAGE_REGION, closest, decide, isNoSignal, matchesLook, nextStep, readingOrder, scoreCandidates, splitAtGaps,
  type Candidate, type Classification,
} from './classifier.ts';
import { readFields } from './fields.ts';
import { OcrCache } from './ocr-cache.ts';
import type { OcrLayout, OcrPool } from './ocr-pool.ts';
import { measureStats, type FrameStats } from './preprocess.ts';
import { assembleQrBlocks, decodeQrCodes } from './qr.ts';
import { clip, decodeFull, rgbaOf, type Raster, type Thumbnail } from './raster.ts';
import { BLOCK_CONDENSE, blocksOf, cutRegion, lineInFrame, packLines, plainImage, type InkLine, type RegionImage } from './region-image.ts';
import type { Box, QrPayload, ScreenFields, ScreenId, OsId, TextLine } from './types.ts';

/** What a frame came out as (the Recognizer adds size, timing and the frozen figure). */
export interface FrameResult {
  screen: ScreenId;
  os: OsId | null;
  confidence: number;
  lines: TextLine[];
  fields: ScreenFields;
  candidates?: { screen: ScreenId; os: OsId | null; score: number }[];
  activeArea: Box;
  regionsRead: string[];
}

/** Title blocks read one OCR call each before the rest of a title region goes in one call. */
const SINGLE_TITLE_BLOCKS = 2;
/** A block of text at least this share of the size of the largest in a title region may be the title. */
const TITLE_SIZE_SHARE = 0.8;
/** Rounds of "read what is still open" before giving up on a frame. */
const MAX_ROUNDS = 6;

interface QrRead { payload: QrPayload | null; boxes: Box[] }

export class FrameReader {
  private raster: Raster | null = null;
  private active: Box;
  private readonly stats: FrameStats;
  private lines: TextLine[] = [];
  private readonly read = new Set<string>();
  private readonly order: string[] = [];
  private readonly qrs = new Map<string, Promise<QrRead>>();
  private scored: Candidate[] = [];
  private lookTitles: string[] = [];
  private page: Promise<TextLine[]> | null = null;
  /** The screen the frame was found to be. */
  private variant: ScreenVariant | null = null;
  /** OCR jobs this frame has cost so far. */
  ocrJobs = 0;

  /** OCR jobs answered by the stream's cache of images already read (not counted in ocrJobs). */
  ocrCached = 0;

  constructor(
    private readonly pool: OcrPool, private readonly catalog: Catalog, private readonly image: Buffer, readonly thumb: Thumbnail,
    private readonly cache: OcrCache | null = null,
  ) {
    this.active = findActiveArea(thumb);
    this.stats = measureStats(thumb, this.active);
  }

  get frameWidth(): number { return this.thumb.frameWidth; }
  get frameHeight(): number { return this.thumb.frameHeight; }

  async recognize(): Promise<FrameResult> {
    if (isNoSignal(this.stats)) return this.result({ screen: 'no-signal', os: null, confidence: 1 });
    await this.decode();
    const looks = Object.entries(this.catalog.looks).filter(([, look]) => matchesLook(look, this.stats));
    this.lookTitles = [...new Set(looks.flatMap(([, look]) => look.titles))];

    let step = this.step();
    for (const name of this.lookTitles) {
      // Once some screen has evidence, what is left to read is what it (or its rivals) need.
      if (step.kind === 'decide' || this.scored.some((c) => c.evidence && !c.failed)) break;
      await this.readTitle(name);
      step = this.step();
    }
    for (let round = 0; round < MAX_ROUNDS && step.kind === 'read'; round++) {
      // Regions that decide between candidates with evidence are all needed: read together (the pool may
      // run them at once). Otherwise the most likely one first, and look again.
      const names = step.withEvidence ? step.regions : step.regions.slice(0, 1);
      if (names.length === 1 && names[0] === PAGE_REGION && await this.looksLikeSpinner()) break;
      await this.readAll(names);
      step = this.step();
    }
    if (step.kind !== 'decide') {
      if (await this.looksLikeSpinner()) return this.result({ screen: 'oobe-busy', os: null, confidence: 0.5 });
      return this.result({ screen: 'unknown', os: null, confidence: 0, candidates: closest(this.scored) });
    }
    const c = await decide(step.passing, () => this.qrOf(step.passing.map((p) => p.variant)).then((q) => q?.payload ?? null));
    if (!c.variant) return this.result({ screen: 'unknown', os: null, confidence: 0, candidates: closest(this.scored) });
    this.variant = c.variant;
    const fields = await this.readFieldsOf(c);
    return this.result({ screen: c.screen, os: c.os, confidence: c.confidence, fields });
  }

  /**
   * Every line of the page (the active picture), read once per frame however often it is asked for: the
   * page as a whole, with what regions read better (the lines already read, the screen's buttons read on
   * their own) in place of the page's reading of the same spots.
   */
  pageLines(): Promise<TextLine[]> {
    this.page ??= (async () => {
      await this.decode();
      const boxes = (await Promise.all(this.qrs.values())).flatMap((q) => q.boxes);
      // Every line, columns and pictures as they are (packing would fold a picture beside a line into it).
      const img = await this.cut(this.active, true, boxes);
      const whole = img ? await this.ocr(img, null, 'sparse') : [];
      const footers = (this.variant?.regions.footer ?? []).filter((n) => !this.read.has(n));
      const buttons = (await Promise.all(footers.map((n) => this.ocrRegion(n, boxes)))).flat();
      const better = [...this.lines, ...buttons];
      return readingOrder([...better, ...whole.filter((l) => !better.some((b) => overlapShare(b.box, l.box) > 0.3))]);
    })();
    return this.page;
  }

  // ------------------------------------------------------------ steps

  private step() {
    this.scored = scoreCandidates(this.catalog, this.lines, this.stats, this.read, new Set(this.lookTitles));
    return nextStep(this.scored);
  }

  private async decode(): Promise<Raster> {
    if (!this.raster) {
      this.raster = await decodeFull(this.image);
      if (this.raster.width !== this.thumb.frameWidth || this.raster.height !== this.thumb.frameHeight) {
        throw new Error(`frame decoded as ${this.raster.width}x${this.raster.height}, its header says ${this.thumb.frameWidth}x${this.thumb.frameHeight}`);
      }
      this.active = findActiveArea(this.thumb, this.raster);
    }
    return this.raster;
  }

  private markRead(name: string): void {
    if (this.read.has(name)) return;
    this.read.add(name);
    this.order.push(name);
  }

  private boxOf(name: string): Box {
    const spec = this.catalog.regions[name];
    if (!spec) throw new Error(`screen catalog: no region "${name}"`);
    return regionBox(this.active, spec.box);
  }

  private get pictureHeight(): number { return this.active.y1 - this.active.y0; }

  /** Cuts a region (frame pixels) for OCR, only as far as the thumbnail shows something in it. */
  private async cut(box: Box, fills: boolean, masks?: Box[]): Promise<RegionImage | null> {
    // What is drawn inside the region, and as far beyond as a line crossing its edge may reach.
    const reach = 0.035 * this.pictureHeight;
    const inside = contentBox(this.thumb, box);
    if (!inside) return null;
    const content = { x0: inside.x0 - reach, y0: inside.y0 - reach, x1: inside.x1 + reach, y1: inside.y1 + reach };
    return await cutRegion(await this.decode(), box, { pictureHeight: this.pictureHeight, fills, masks, bounds: this.active, content });
  }

  /**
   * A title region: its blocks of title-sized text (a title is the biggest text of its area; a brand line
   * above it or a paragraph under it is clearly smaller), top first. The region counts as read once a block
   * gave some screen evidence, or when the title-sized blocks are all read.
   */
  private async readTitle(name: string): Promise<void> {
    if (this.read.has(name)) return;
    const img = await this.cut(this.boxOf(name), false);
    const textPx = this.catalog.regions[name]?.textPx;
    const size = (b: InkLine[]) => Math.max(...b.map((l) => l.y1 - l.y0));
    const blocks = img ? blocksOf(img.lines) : [];
    const largest = Math.max(0, ...blocks.map(size));
    const titleSized = blocks.filter((b) => size(b) >= TITLE_SIZE_SHARE * largest);
    for (let i = 0; i < titleSized.length; i++) {
      const last = i >= SINGLE_TITLE_BLOCKS;
      const lines = last ? titleSized.slice(i).flat().sort((a, b) => a.y0 - b.y0) : titleSized[i];
      this.addLines(await this.ocr(img!, lines, lines.length === 1 ? 'line' : 'block', textPx));
      if (last || this.titleFound(name)) break;
    }
    this.markRead(name);
  }

  private titleFound(name: string): boolean {
    const read = new Set([...this.read, name]);
    return scoreCandidates(this.catalog, this.lines, this.stats, read, new Set(this.lookTitles))
      .some((c) => c.lookOk && c.evidence && c.variant.regions.title.includes(name));
  }

  /** Reads regions in full (at once when there are several) and adds their lines in the order given. */
  private async readAll(names: string[]): Promise<void> {
    const todo = names.filter((n) => !this.read.has(n));
    const masks = await this.qrMasksFor(todo);
    // The whole page, as a last resort, need not read again what regions already gave.
    const done = [...this.read].filter((n) => n !== PAGE_REGION).map((n) => this.boxOf(n));
    const results = await Promise.all(todo.map((n) => this.ocrRegion(n, n === PAGE_REGION ? [...masks, ...done] : masks)));
    results.forEach((lines, i) => { this.addLines(lines); this.markRead(todo[i]); });
  }

  /** OCR of a whole region (every line of it), with filled areas turned inside out and `masks` blanked. */
  private async ocrRegion(name: string, masks: Box[]): Promise<TextLine[]> {
    const box = name === PAGE_REGION ? this.active : this.boxOf(name);
    const img = await this.cut(box, true, masks);
    if (!img || img.lines.length === 0) return [];
    // Art (taller than text) and empty text boxes have no text to give; text lines are packed, blank gaps squeezed.
    const spec = this.catalog.regions[name];
    const layout: OcrLayout = spec?.layout === 'sparse' || name === PAGE_REGION ? 'sparse' : 'block';
    const h = this.pictureHeight * img.scale;
    const readable = img.lines.filter((l) => l.text || (!l.emptyBox && l.y1 - l.y0 >= 0.006 * h && l.y1 - l.y0 < 0.065 * h));
    const lines = await this.ocr(img, readable, layout, spec?.textPx);
    // Packing brought far-apart labels close: in frame pixels they are apart again, and separate controls.
    return layout === 'sparse' ? splitAtGaps(lines) : lines;
  }

  /** OCR of some lines of a region (packed), or of all of it as it is (lines null). */
  private async ocr(img: RegionImage, lines: InkLine[] | null, layout: OcrLayout, textPx?: number): Promise<TextLine[]> {
    const input = lines ? packLines(img, lines, layout === 'block' ? BLOCK_CONDENSE : 1, textPx) : plainImage(img, this.pictureHeight);
    if (!input) return [];
    const key = this.cache ? OcrCache.keyOf(input.image, layout) : '';
    let read = this.cache?.get(key);
    if (read) {
      this.ocrCached += 1;
    } else {
      this.ocrJobs += 1;
      read = (await this.pool.recognize(input.image, layout)).lines;
      this.cache?.set(key, read);
    }
    const toFrame = input.toFrame;
    return read.map((l) => ({
      text: l.text, box: toFrame(l.box), confidence: l.confidence,
      words: l.words.map((w) => ({ text: w.text, box: toFrame(w.box), confidence: w.confidence })),
    }));
  }

  /** Adds lines read, leaving out any that a line already read covers (regions overlap). */
  private addLines(lines: TextLine[]): void {
    for (const l of lines) {
      if (this.lines.some((o) => overlapShare(o.box, l.box) > 0.5)) continue;
      this.lines.push(l);
    }
  }

  // ------------------------------------------------------------ QR

  /** The QR code(s) of a variant's qr region (decoded once per region and frame). */
  private qrOf(variants: ScreenVariant[]): Promise<QrRead | null> {
    const name = variants.map((v) => v.regions.qr?.[0]).find((n) => n !== undefined);
    return name ? this.qrIn(name) : Promise.resolve(null);
  }

  private qrIn(name: string): Promise<QrRead> {
    let p = this.qrs.get(name);
    if (!p) {
      p = (async () => {
        const raster = await this.decode();
        const box = clip(this.boxOf(name), raster.width, raster.height);
        if (!box) return { payload: null, boxes: [] };
        const codes = await decodeQrCodes(rgbaOf(raster, box)).catch(() => []);
        // The quiet zone around the code is white and not text either: blank it too.
        const boxes = codes.map((c) => {
          const m = 0.3 * (c.box.x1 - c.box.x0);
          return { x0: c.box.x0 + box.x0 - m, y0: c.box.y0 + box.y0 - m, x1: c.box.x1 + box.x0 + m, y1: c.box.y1 + box.y0 + m };
        });
        return { payload: assembleQrBlocks(codes.map((c) => c.text)), boxes };
      })();
      this.qrs.set(name, p);
    }
    return p;
  }

  /** Where QR codes are that regions about to be read overlap: read them first, so OCR is not fed a QR code. */
  private async qrMasksFor(names: string[]): Promise<Box[]> {
    const boxes = names.map((n) => (n === PAGE_REGION ? this.active : this.boxOf(n)));
    const qrRegions = new Set<string>();
    for (const c of this.scored) {
      if (c.failed || c.variant.qr === 'absent') continue;
      for (const q of c.variant.regions.qr ?? []) if (boxes.some((b) => overlapShare(b, this.boxOf(q)) > 0)) qrRegions.add(q);
    }
    const reads = await Promise.all([...qrRegions].map((q) => this.qrIn(q)));
    return reads.flatMap((r) => r.boxes);
  }

  // ------------------------------------------------------------ fields

  private async readFieldsOf(c: Classification): Promise<ScreenFields> {
    const variant = c.variant!;
    const specs = Object.entries(variant.texts.fields).filter((e): e is [string, FieldSpec] => e[1] !== undefined);
    const qr = variant.qr !== 'absent' ? this.qrOf([variant]) : Promise.resolve(null);
    // Regions to read: those of fields other than `selected`; `selected` alone reads only the filled item.
    const regionsOf = (role: RegionRole) => (role === 'title'
      ? variant.regions.title.filter((r) => this.read.has(r)).slice(0, 1)
      : variant.regions[role] ?? []);
    const full = new Set<string>();
    for (const [, spec] of specs) if (spec.kind !== 'selected') regionsOf(spec.in).forEach((r) => full.add(r));
    await qr;
    await this.readAll([...full]);
    let selectedLines: TextLine[] | undefined;
    const sel = specs.find(([, s]) => s.kind === 'selected');
    if (sel) {
      const names = regionsOf(sel[1].in);
      if (!names.some((n) => this.read.has(n))) selectedLines = await this.readSelected(names);
    }
    const raster = await this.decode();
    const fields = readFields({
      lines: this.lines, variant, matchedOneOf: c.matchedOneOf,
      thumb: { data: raster.data, width: raster.width, height: raster.height, step: 1 },
      page: this.stats.page, height: this.frameHeight, selectedLines,
    });
    const q = await qr;
    if (q?.payload) fields.qr = q.payload;
    return fields;
  }

  /** The lines on the selected item (the list item on an accent fill) of a region, and nothing else of it. */
  private async readSelected(names: string[]): Promise<TextLine[]> {
    const page = this.stats.page;
    for (const name of names) {
      const box = this.boxOf(name);
      const img = await this.cut(box, true);
      if (!img) continue;
      const accent = img.fills.filter((f) => {
        const cy = (f.box.y0 + f.box.y1) / 2, cx = (f.box.x0 + f.box.x1) / 2;
        const { r, g, b } = f.color;
        const saturation = Math.max(r, g, b) - Math.min(r, g, b);
        return cy > box.y0 && cy < box.y1 && cx > box.x0 && cx < box.x1 && saturation >= 40
          && Math.hypot(r - page.r, g - page.g, b - page.b) >= 40;
      }).sort((a, b) => (b.box.x1 - b.box.x0) - (a.box.x1 - a.box.x0));
      const fill = accent[0];
      if (!fill) continue;
      const inside = img.lines.filter((l) => {
        const b = lineInFrame(img, l);
        const cy = (b.y0 + b.y1) / 2;
        return cy > fill.box.y0 && cy < fill.box.y1;
      });
      const lines = await this.ocr(img, inside, inside.length === 1 ? 'line' : 'block');
      this.addLines(lines);
      return lines;
    }
    return [];
  }

  // ------------------------------------------------------------ odds and ends

  /** A dark frame with no text on it: a boot or reboot spinner (nothing tells the OS). */
  private async looksLikeSpinner(): Promise<boolean> {
    if (this.stats.luma >= 60 || this.lines.some((l) => /\p{L}{3,}/u.test(l.text) && l.confidence >= 0.6)) return false;
    if (!this.raster) return false;
    const img = await cutRegion(this.raster, this.active, { pictureHeight: this.pictureHeight, fills: false, bounds: this.active });
    return !img || blocksOf(img.lines).length === 0;
  }

  private result(r: { screen: ScreenId; os: OsId | null; confidence: number; fields?: ScreenFields; candidates?: FrameResult['candidates'] }): FrameResult {
    return {
      screen: r.screen, os: r.os, confidence: r.confidence, lines: readingOrder(this.lines), fields: r.fields ?? {},
      ...(r.candidates ? { candidates: r.candidates } : {}),
      activeArea: { ...this.active }, regionsRead: [...this.order],
    };
  }
}

/** How much of the smaller box the two boxes share (0..1). */
function overlapShare(a: Box, b: Box): number {
  const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0), h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  if (w <= 0 || h <= 0) return 0;
  const area = (x: Box) => Math.max(1, (x.x1 - x.x0) * (x.y1 - x.y0));
  return (w * h) / Math.min(area(a), area(b));
}
