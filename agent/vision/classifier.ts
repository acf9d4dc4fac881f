// Which screen a frame shows: the catalog's anchor texts matched fuzzily against what OCR read, the frame's
// colour against each OS's look, and the QR code where the OS alone tells it (Windows 10 result screens).
import type { Anchor, Catalog, Look, ScreenVariant } from './catalog.ts';
import type { FrameStats } from './preprocess.ts';
import type { OsId, QrPayload, ScreenId, TextLine } from './types.ts';

// ---------------------------------------------------------------- text matching

/** Lower case, no accents, one kind of quote, dash and ellipsis, single spaces. */
export function normalizeText(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[\u2018\u2019\u201a\u201b\u2032\u00b4`]/g, "'")
    .replace(/[\u201c\u201d\u201e\u201f\u2033]/g, '"')
    .replace(/\u2026/g, '...')
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .replace(/\s+/g, ' ')
    .trim();
}

export interface TextMatch {
  /** 1 - edit distance / pattern length (0 when the distance reaches the length). */
  similarity: number;
  /** Where the best-matching stretch of the text starts and ends (indices into the text). */
  start: number;
  end: number;
}

/**
 * The stretch of `text` closest to `pattern` by edit distance (approximate substring match; both already
 * normalized). Ties prefer the earliest stretch.
 */
export function bestMatch(pattern: string, text: string): TextMatch {
  const m = pattern.length, n = text.length;
  if (m === 0) return { similarity: 1, start: 0, end: 0 };
  let prev = new Int32Array(m + 1), cur = new Int32Array(m + 1);
  let prevStart = new Int32Array(m + 1), curStart = new Int32Array(m + 1);
  for (let i = 0; i <= m; i++) { prev[i] = i; prevStart[i] = 0; }
  let best = prev[m], bestEnd = 0, bestStart = 0;
  for (let j = 1; j <= n; j++) {
    cur[0] = 0; curStart[0] = j;
    const tc = text.charCodeAt(j - 1);
    for (let i = 1; i <= m; i++) {
      let d = prev[i - 1] + (pattern.charCodeAt(i - 1) === tc ? 0 : 1), s = prevStart[i - 1];
      const del = prev[i] + 1;
      if (del < d) { d = del; s = prevStart[i]; }
      const ins = cur[i - 1] + 1;
      if (ins < d) { d = ins; s = curStart[i - 1]; }
      cur[i] = d; curStart[i] = s;
    }
    if (cur[m] < best) { best = cur[m]; bestEnd = j; bestStart = curStart[m]; }
    [prev, cur] = [cur, prev];
    [prevStart, curStart] = [curStart, prevStart];
  }
  return { similarity: Math.max(0, 1 - best / m), start: bestStart, end: bestEnd };
}

/** Similarity of two whole texts (normalized): 1 - edit distance / longer length. */
export function textSimilarity(a: string, b: string): number {
  const m = a.length, n = b.length;
  if (m === 0 && n === 0) return 1;
  let prev = new Int32Array(n + 1), cur = new Int32Array(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1));
    }
    [prev, cur] = [cur, prev];
  }
  return 1 - prev[n] / Math.max(m, n);
}

// ---------------------------------------------------------------- layout

const mid = (l: TextLine) => (l.box.y0 + l.box.y1) / 2;

/** Lines in reading order: top to bottom by rows, left to right within a row. */
export function readingOrder<T extends TextLine>(lines: readonly T[]): T[] {
  return rowsOf(lines).flat();
}

/** Groups lines whose vertical extents overlap by half the smaller height into rows, each left to right. */
export function rowsOf<T extends TextLine>(lines: readonly T[]): T[][] {
  const sorted = [...lines].sort((a, b) => mid(a) - mid(b));
  const rows: T[][] = [];
  for (const line of sorted) {
    const row = rows[rows.length - 1];
    if (row) {
      const ref = row[0];
      const overlap = Math.min(ref.box.y1, line.box.y1) - Math.max(ref.box.y0, line.box.y0);
      const h = Math.min(ref.box.y1 - ref.box.y0, line.box.y1 - line.box.y0);
      if (overlap >= 0.5 * h) { row.push(line); continue; }
    }
    rows.push([line]);
  }
  for (const row of rows) row.sort((a, b) => a.box.x0 - b.box.x0);
  return rows;
}

/**
 * A line split where its words are far apart (more than twice its height): two controls side by side
 * ("Next" and "Cancel" in a list item) are two items, not one.
 */
export function splitAtGaps(lines: TextLine[]): TextLine[] {
  const out: TextLine[] = [];
  for (const line of lines) {
    const words = line.words;
    if (!words || words.length < 2) { out.push(line); continue; }
    const h = line.box.y1 - line.box.y0;
    let part: typeof words = [words[0]];
    const flush = () => {
      const box = { x0: Math.min(...part.map((w) => w.box.x0)), y0: Math.min(...part.map((w) => w.box.y0)), x1: Math.max(...part.map((w) => w.box.x1)), y1: Math.max(...part.map((w) => w.box.y1)) };
      const confidence = part.reduce((a, w) => a + w.confidence, 0) / part.length;
      out.push({ text: part.map((w) => w.text).join(' '), box, confidence, words: part });
    };
    for (let i = 1; i < words.length; i++) {
      if (words[i].box.x0 - words[i - 1].box.x1 > 2 * h) { flush(); part = []; }
      part.push(words[i]);
    }
    flush();
  }
  return out;
}

/** The page's text as one normalized string, with where each line starts in it. */
export interface PageText { text: string; lines: TextLine[]; starts: number[] }

export function pageText(lines: readonly TextLine[]): PageText {
  const ordered = readingOrder(lines);
  const starts: number[] = [];
  let text = '';
  for (const l of ordered) {
    if (text) text += ' ';
    starts.push(text.length);
    text += normalizeText(l.text);
  }
  return { text, lines: ordered, starts };
}

/** The lines that a stretch [start, end) of the page text covers. */
export function linesCovering(page: PageText, start: number, end: number): TextLine[] {
  const out: TextLine[] = [];
  page.lines.forEach((line, i) => {
    const s = page.starts[i], e = s + normalizeText(line.text).length;
    if (s < end && e > start) out.push(line);
  });
  return out;
}

// ---------------------------------------------------------------- looks

export function matchesLook(look: Look, stats: FrameStats): boolean {
  const { r, g, b } = stats.mean;
  const within = (v: number, range?: [number, number]) => !range || (v >= range[0] && v <= range[1]);
  return within(stats.luma, look.luma) && within(b - r, look.blueExcess)
    && within(g - Math.max(r, b), look.greenExcess) && within(r - Math.max(g, b), look.redExcess);
}

/** A black or uniform frame: nothing on it differs from its median brightness (no OCR needed). */
export function isNoSignal(stats: FrameStats): boolean {
  return stats.detailShare < 0.0001 && stats.lumaStd < 8;
}

// ---------------------------------------------------------------- scoring

/** Region name that stands for the whole active picture: reading it answers every text of every screen. */
export const PAGE_REGION = 'page';

export interface Candidate {
  variant: ScreenVariant;
  /** Mean similarity of the anchors (and the best oneOf text) found so far, 0..1. */
  score: number;
  /** Texts, not-texts and look all fit, and nothing is left to read. */
  passed: boolean;
  lookOk: boolean;
  /** An anchor that was read is not there, a not-text is, or no oneOf text is where all of them were read. */
  failed: boolean;
  /** Some anchor or oneOf text of it was found: evidence for it. */
  evidence: boolean;
  /** Regions still to read before it can pass or fail (by name). */
  pending: string[];
  /** Characters of anchor text found, weighted by similarity: the more specific screen wins a tie. */
  weight: number;
  /** The oneOf text that matched best (a busy screen's message). */
  matchedOneOf: string | null;
}

export interface Classification {
  screen: ScreenId;
  os: OsId | null;
  confidence: number;
  variant: ScreenVariant | null;
  matchedOneOf: string | null;
  /** Best candidates when the screen is unknown. */
  candidates?: { screen: ScreenId; os: OsId | null; score: number }[];
  qr?: QrPayload | null;
}

/**
 * Scores every catalog screen against the text read so far. `read` holds the regions read in full: a text
 * that is missing counts against a screen only when its region was read (or the whole page was); a
 * not-text counts for it only once its region was read. `lookTitles`: the title regions of the frame's look.
 */
export function scoreCandidates(catalog: Catalog, lines: readonly TextLine[], stats: FrameStats,
  read: ReadonlySet<string> = new Set([PAGE_REGION]), lookTitles?: ReadonlySet<string>): Candidate[] {
  const text = pageText(lines).text;
  const memo = new Map<string, number>();
  const sim = (t: string) => {
    const key = normalizeText(t);
    let s = memo.get(key);
    if (s === undefined) { s = bestMatch(key, text).similarity; memo.set(key, s); }
    return s;
  };
  const whole = read.has(PAGE_REGION);
  return catalog.variants.map((variant) => {
    const t = variant.texts;
    // A screen whose title is in different places in different looks (a busy message on black or on the
    // Windows 11 card) is looked for only where the frame's look puts titles.
    const titles = variant.regions.title.filter((r) => !lookTitles || lookTitles.has(r));
    const regionsOf = (a: Anchor) => (a.in === 'title' && titles.length ? titles : variant.regions[a.in] ?? []);
    const unread = (a: Anchor) => (whole ? [] : regionsOf(a).filter((r) => !read.has(r)));
    const isRead = (a: Anchor) => whole || regionsOf(a).some((r) => read.has(r));
    const pending = new Set<string>();
    const sims: number[] = [];
    let weight = 0, failed = false, evidence = false;
    for (const a of t.anchors) {
      const s = sim(a.text);
      sims.push(s);
      if (s >= a.threshold) { weight += a.text.length * s; evidence = true; }
      else if (isRead(a)) failed = true;
      else unread(a).forEach((r) => pending.add(r));
    }
    let matchedOneOf: string | null = null;
    if (t.oneOf.length) {
      let bestSim = 0, bestPass = -1;
      for (const a of t.oneOf) {
        const s = sim(a.text);
        bestSim = Math.max(bestSim, s);
        if (s >= a.threshold && s - a.threshold > bestPass) { bestPass = s - a.threshold; matchedOneOf = a.text; }
      }
      sims.push(bestSim);
      if (matchedOneOf) { evidence = true; weight += matchedOneOf.length * sim(matchedOneOf); }
      else if (t.oneOf.every(isRead)) failed = true;
      else t.oneOf.forEach((a) => unread(a).forEach((r) => pending.add(r)));
    }
    for (const a of t.not) {
      if (sim(a.text) >= a.threshold) failed = true;
      else unread(a).forEach((r) => pending.add(r));
    }
    const lookOk = variant.look.length === 0 || variant.look.some((name) => matchesLook(catalog.looks[name], stats));
    if (!lookOk) failed = true;
    const score = sims.length ? sims.reduce((x, y) => x + y, 0) / sims.length : 0;
    const notHit = t.not.some((a) => sim(a.text) >= a.threshold);
    return {
      variant, score: notHit ? score * 0.5 : score,
      passed: !failed && pending.size === 0, lookOk, failed, evidence,
      pending: failed ? [] : [...pending], weight, matchedOneOf,
    };
  });
}

/** What to do after scoring: decide, or read more regions first. */
export type NextStep =
  /** One screen passed and no other screen with evidence is still open. */
  | { kind: 'decide'; passing: Candidate[] }
  /** Regions that open candidates need read (those with evidence first, then the rest; the whole page last). */
  | { kind: 'read'; regions: string[]; withEvidence: boolean }
  /** Nothing passed and nothing is left to read. */
  | { kind: 'unknown' };

export function nextStep(scored: Candidate[]): NextStep {
  const passing = scored.filter((c) => c.passed).sort((a, b) => b.weight - a.weight || b.score - a.score);
  const open = scored.filter((c) => !c.failed && !c.passed);
  const best = passing[0];
  // Open candidates that could still beat the best: of another screen, with evidence (or any, when nothing passed).
  const rivals = open.filter((c) => c.evidence && (!best || c.variant.screen !== best.variant.screen || c.variant.os !== best.variant.os));
  if (best && rivals.length === 0) return { kind: 'decide', passing };
  const order = (cands: Candidate[]) => {
    const regions = new Set<string>();
    for (const c of [...cands].sort((a, b) => b.score - a.score)) for (const r of c.pending) regions.add(r);
    // The whole page is the last resort: only when it is all that is left.
    const named = [...regions].filter((r) => r !== PAGE_REGION);
    return named.length ? named : [...regions];
  };
  if (rivals.length) return { kind: 'read', regions: order(rivals), withEvidence: true };
  const regions = order(open);
  if (regions.length) return { kind: 'read', regions, withEvidence: false };
  return passing.length ? { kind: 'decide', passing } : { kind: 'unknown' };
}

/** The best candidates of an unknown frame, one per screen and OS. */
export function closest(scored: Candidate[]): { screen: ScreenId; os: OsId | null; score: number }[] {
  const seen = new Set<string>();
  return [...scored].sort((a, b) => Number(b.lookOk) - Number(a.lookOk) || b.score - a.score)
    .filter((c) => { const k = `${c.variant.screen}/${c.variant.os}`; if (seen.has(k)) return false; seen.add(k); return true; })
    .slice(0, 3)
    .map((c) => ({ screen: c.variant.screen, os: c.variant.os, score: round2(c.score) }));
}

/**
 * Decides the screen among passing candidates. `readQr` is called (at most once) only when the QR code is
 * what tells two passing variants of the same screen apart (Windows 10 shows one on the result screens,
 * Windows 11 does not).
 */
export async function decide(passing: Candidate[], readQr: () => Promise<QrPayload | null>): Promise<Classification> {
  const screen = passing[0].variant.screen;
  let same = passing.filter((c) => c.variant.screen === screen);
  let qr: QrPayload | null | undefined;
  if (new Set(same.map((c) => c.variant.os)).size > 1 && same.some((c) => c.variant.qr !== 'optional')) {
    qr = await readQr();
    const fits = same.filter((c) => c.variant.qr === 'optional' || (c.variant.qr === 'required') === (qr !== null));
    if (fits.length) same = fits;
  }
  // A variant whose look says something (not "any look") is stronger evidence of its OS.
  const specific = same.filter((c) => c.variant.look.length > 0);
  if (specific.length) same = specific;
  const oses = new Set(same.map((c) => c.variant.os));
  const best = same[0];
  return {
    screen,
    os: oses.size === 1 ? best.variant.os : null,
    confidence: round2(best.score),
    variant: best.variant,
    matchedOneOf: best.matchedOneOf,
    ...(qr !== undefined ? { qr } : {}),
  };
}

/** Decides the screen from the whole page's text (every region counts as read). */
export async function classify(
  catalog: Catalog, lines: readonly TextLine[], stats: FrameStats, readQr: () => Promise<QrPayload | null>,
): Promise<Classification> {
  const scored = scoreCandidates(catalog, lines, stats);
  const passing = scored.filter((c) => c.passed).sort((a, b) => b.weight - a.weight || b.score - a.score);
  if (passing.length === 0) return { screen: 'unknown', os: null, confidence: 0, variant: null, matchedOneOf: null, candidates: closest(scored) };
  return decide(passing, readQr);
}

const round2 = (x: number) => Math.round(x * 100) / 100;
