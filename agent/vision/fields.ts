// What a recognized screen says: organization, profile, user, elapsed time, error code, message, the list
// and its selected item, the ESP. Read only where the catalog says a field is; a field that cannot be read
// is left out, never guessed.
import type { FieldSpec, ScreenVariant } from './catalog.ts';
import { bestMatch, normalizeText, pageText, rowsOf, linesCovering, splitAtGaps, textSimilarity, readingOrder } from './classifier.ts';
import { colorUnder, type Rgb, type Thumb } from './preprocess.ts';
import type { Box, EspPhase, ScreenFields, TextLine } from './types.ts';

export interface FieldInput {
  /** OCR lines, boxes in frame pixels. */
  lines: TextLine[];
  variant: ScreenVariant;
  /** The oneOf text that matched (a busy screen's message). */
  matchedOneOf: string | null;
  thumb: Thumb;
  /** The page's background colour (the frame's median colour). */
  page: Rgb;
  height: number;
  /** When only the selected item was read (the lines on its accent fill), those lines. */
  selectedLines?: TextLine[];
}

type Word = { text: string; confidence: number };
type LineWithWords = TextLine & { words?: (Word & { box: Box })[] };

export function readFields(input: FieldInput): ScreenFields {
  const out: ScreenFields = {};
  const specs = input.variant.texts.fields;
  const labels = Object.values(specs).filter((s): s is Extract<FieldSpec, { kind: 'label' }> => s?.kind === 'label').map((s) => s.label);
  for (const [name, spec] of Object.entries(specs) as [keyof ScreenFields, FieldSpec | undefined][]) {
    if (!spec) continue;
    const value = readOne(spec, input, labels);
    if (value !== undefined) (out as Record<string, unknown>)[name] = value;
  }
  // A message that quotes the error code says the code as the errorCode field read it: the field knows the
  // screen's codes, and one look-alike digit (B read as 8) must not make the two disagree in a report.
  if (out.message && out.errorCode) {
    const code = out.errorCode;
    out.message = out.message.replace(/0[xX][0-9A-Fa-f]{8}/g, (m) => (lookAlike(m) === lookAlike(code) ? code : m));
  }
  return out;
}

function readOne(spec: FieldSpec, input: FieldInput, labels: string[]): unknown {
  switch (spec.kind) {
    case 'label': {
      const raw = valueAfterLabel(input.lines, spec.label, labels);
      if (raw === undefined) return undefined;
      if (spec.none !== undefined && normalizeText(raw) === normalizeText(spec.none)) return '';
      if (spec.format === 'elapsed') return parseElapsed(raw);
      const value = tidyValue(raw);
      return value === '' ? undefined : value;
    }
    case 'pattern': {
      const re = new RegExp(spec.regex, 'i');
      for (const line of readingOrder(input.lines)) {
        const m = re.exec(line.text.trim());
        if (m?.[1]?.trim()) return m[1].trim();
      }
      return undefined;
    }
    case 'follows': return followingText(input.lines, spec.text, spec.threshold);
    case 'error-code': {
      const code = findErrorCode(input.lines);
      return code === undefined ? undefined : knownCode(code, spec.known);
    }
    case 'message': {
      if (spec.from === 'matched') return input.matchedOneOf ?? undefined;
      return linesAfter(input.lines, spec.anchor!);
    }
    case 'list': {
      const items = listLines(input, spec.after, spec.before, spec.exclude).map(cleanText).filter((t) => /[\p{L}\p{N}].*[\p{L}\p{N}]/u.test(t));
      return items.length ? items.map((t) => snap(t, spec.known)) : undefined;
    }
    case 'selected': {
      const item = input.selectedLines ? firstReadable(input.selectedLines) : selectedItem(input, spec.after, spec.before);
      return item === undefined ? undefined : snap(item, spec.known);
    }
    case 'esp': return readEsp(input.lines, spec, input.variant.texts.buttons);
  }
}

/**
 * The known text that an OCR reading is within slips of (case, a lost space, a letter), else the reading;
 * compared as `form` makes the two (normalized by default) and at least `least` similar.
 */
function snap(text: string, known: string[], form: (t: string) => string = normalizeText, least = 0.85): string {
  const t = form(text);
  let best: string | null = null, bestSim = least;
  for (const k of known) {
    const sim = textSimilarity(t, form(k));
    if (sim >= bestSim) { best = k; bestSim = sim; }
  }
  return best ?? text;
}

// ---------------------------------------------------------------- labels

/** The label of a line and what follows it: "Organization: Contoso" or "Organization  Contoso". */
function splitLabel(text: string, label: string): string | undefined {
  const nl = normalizeText(label);
  const colon = text.indexOf(':');
  if (colon > 0 && textSimilarity(normalizeText(text.slice(0, colon)), nl) >= 0.8) return text.slice(colon + 1).trim();
  const words = text.trim().split(/\s+/);
  const n = label.trim().split(/\s+/).length;
  if (words.length < n) return undefined;
  const head = normalizeText(words.slice(0, n).join(' ')).replace(/[:;.,]+$/, '');
  if (textSimilarity(head, nl) < 0.8) return undefined;
  return words.slice(n).join(' ').replace(/^[:;.\-–]+\s*/, '').trim();
}

const isLabelLine = (text: string, labels: string[]) => labels.some((l) => splitLabel(text, l) !== undefined);

/** A value as read, without what OCR adds: a trailing comma or semicolon, a space before a dot inside a word. */
function tidyValue(raw: string): string {
  return raw.replace(/[,;]+$/, '').replace(/(\S) \.(?=\S)/g, '$1.').trim();
}

/** The value of a label: after it on its line, else the next text to its right, else the line right under it. */
export function valueAfterLabel(lines: TextLine[], label: string, labels: string[] = [label]): string | undefined {
  const rows = rowsOf(lines);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    for (let i = 0; i < row.length; i++) {
      const rest = splitLabel(row[i].text, label);
      if (rest === undefined) continue;
      if (rest) return rest;
      const right = row.slice(i + 1).map((l) => l.text.trim()).join(' ').trim();
      if (right) return right.replace(/^[:;\-–]+\s*/, '');
      const below = rows[r + 1]?.[0];
      const h = row[i].box.y1 - row[i].box.y0;
      if (below && below.box.y0 - row[i].box.y1 < 1.5 * h && Math.abs(below.box.x0 - row[i].box.x0) < 2 * h && !isLabelLine(below.text, labels)) {
        return below.text.trim();
      }
      return '';
    }
  }
  return undefined;
}

/** What follows a text on its line ("Welcome to Contoso!" gives "Contoso"), without closing punctuation. */
export function followingText(lines: TextLine[], text: string, threshold: number): string | undefined {
  const want = normalizeText(text);
  for (const line of readingOrder(lines)) {
    const t = normalizeText(line.text);
    const m = bestMatch(want, t);
    if (m.similarity < threshold || m.start > 3) continue;
    // The words after the match, as read (normalizing keeps words apart as they were).
    const covered = t.slice(0, m.end).split(' ').length;
    const rest = line.text.trim().split(/\s+/).slice(covered).join(' ').replace(/[\s!.,;:]+$/, '');
    if (rest) return rest;
  }
  return undefined;
}

/** h:mm:ss (or m:ss) with OCR's O/o→0 and l/I→1 fixed inside the time; "NaN" as shown; else undefined. */
export function parseElapsed(raw: string): string | undefined {
  const t = raw.trim();
  if (/^nan$/i.test(t)) return 'NaN';
  const m = /(^|\s)([\dOolI|]{1,3}[:;][\dOolI|]{2}(?:[:;][\dOolI|]{2})?)(?=\s|$)/.exec(t);
  if (!m) return undefined;
  const fixed = m[2].replace(/[Oo]/g, '0').replace(/[lI|]/g, '1').replace(/;/g, ':');
  return /^\d{1,3}:[0-5]\d(:[0-5]\d)?$/.test(fixed) ? fixed : undefined;
}

/**
 * The error code on the page: 0x + 8 hex digits, O→0 and l/I→1 fixed inside the code only. A line that is
 * the "Error code:" detail is read first, then other lines naming an error, larger text before smaller
 * (small text is where OCR takes B for 8).
 */
export function findErrorCode(lines: TextLine[]): string | undefined {
  const height = (l: TextLine) => l.box.y1 - l.box.y0;
  const rank = (l: TextLine) => (/^\W*error\s*code/i.test(l.text) ? 0 : /error/i.test(l.text) ? 1 : 2);
  const ordered = [...readingOrder(lines)].sort((a, b) => rank(a) - rank(b) || height(b) - height(a));
  for (const line of ordered) {
    const code = parseErrorCode(line.text);
    if (code) return code;
  }
  return undefined;
}

/** OCR's look-alikes among hex digits: B read as 8 (or back), D as 0. */
const lookAlike = (code: string) => code.toUpperCase().replace(/B/g, '8').replace(/D/g, '0');

/** The known code a reading is, allowing look-alike digits; the reading itself when none or several are. */
export function knownCode(code: string, known: string[]): string {
  if (known.includes(code)) return code;
  const fits = known.filter((k) => lookAlike(k) === lookAlike(code));
  return fits.length === 1 ? fits[0] : code;
}

export function parseErrorCode(text: string): string | undefined {
  const re = /(?:^|[^0-9A-Za-z])[0Oo][xX×]\s?([0-9A-Fa-fOolI|]{8})(?![0-9A-Za-z])/g;
  for (const m of text.matchAll(re)) {
    const digits = m[1].replace(/[Oo]/g, '0').replace(/[lI|]/g, '1');
    if (/^[0-9A-Fa-f]{8}$/.test(digits)) return `0x${digits.toUpperCase()}`;
  }
  return undefined;
}

/** The lines of the paragraph right under an anchor text (e.g. the failure title). */
function linesAfter(lines: TextLine[], anchor: string): string | undefined {
  const page = pageText(lines);
  const m = bestMatch(normalizeText(anchor), page.text);
  if (m.similarity < 0.8) return undefined;
  const covered = linesCovering(page, m.start, m.end);
  if (covered.length === 0) return undefined;
  let last = covered[covered.length - 1].box;
  const h = last.y1 - last.y0;
  const out: string[] = [];
  for (const line of page.lines) {
    if (line.box.y0 < last.y1 - 2 || covered.includes(line)) continue;
    if (line.box.y0 - last.y1 > 1.6 * h) break;
    if (/:/.test(line.text) && out.length > 0) break;
    out.push(line.text.trim());
    last = line.box;
  }
  return out.length ? out.join(' ') : undefined;
}

// ---------------------------------------------------------------- lists

/** Drops icon noise that OCR reads around a list label: short low-confidence words at either end. */
function cleanText(line: LineWithWords): string {
  const words = line.words?.length ? [...line.words] : line.text.split(/\s+/).map((t) => ({ text: t, confidence: line.confidence }));
  const junk = (w: Word) => !/[\p{L}\p{N}]/u.test(w.text) || (w.confidence < 0.5 && !/\p{L}{3,}/u.test(w.text));
  while (words.length > 1 && junk(words[0])) words.shift();
  while (words.length > 1 && junk(words[words.length - 1])) words.pop();
  return words.map((w) => w.text).join(' ').trim();
}

function lineMatches(line: TextLine, texts: string[], min = 0.85): boolean {
  const t = normalizeText(cleanText(line));
  return texts.some((x) => textSimilarity(t, normalizeText(x)) >= min);
}

/** Lines below the lowest `after` text and above the highest `before` button, that are not `exclude`d. */
function listLines(input: FieldInput, after: string[], before: string[], exclude: string[]): TextLine[] {
  const page = pageText(splitAtGaps(input.lines));
  let top = -1;
  const anchorLines = new Set<TextLine>();
  for (const a of after) {
    const m = bestMatch(normalizeText(a), page.text);
    if (m.similarity < 0.8) continue;
    for (const l of linesCovering(page, m.start, m.end)) { anchorLines.add(l); top = Math.max(top, l.box.y1); }
  }
  if (top < 0) return [];
  // The page's own buttons are its lowest lines; the same label may also be an in-list control (a network's Next).
  // Only a button with nothing but buttons under it ends the list (an in-list Next does not).
  let bottom = input.height;
  const isButton = (l: TextLine) => lineMatches(l, before) || lineMatches(l, input.variant.texts.buttons);
  const buttonLines = page.lines.filter((l) => l.box.y0 > top && lineMatches(l, before)
    && !page.lines.some((o) => o.box.y0 > l.box.y1 && !isButton(o)));
  if (buttonLines.length) bottom = Math.max(...buttonLines.map((l) => l.box.y0));
  const buttons = input.variant.texts.buttons;
  // The end of a paragraph whose start was not read ("device.") is still the paragraph's. Details and
  // in-list controls are short ("Open"): one OCR slip puts them under 0.85, so they are matched at 0.7.
  // A line of a wrapped text is a stretch of it.
  const partOf = (l: TextLine, texts: string[]) => {
    const t = normalizeText(l.text);
    return t.length >= 4 && texts.some((x) => normalizeText(x).length > t.length && bestMatch(t, normalizeText(x)).similarity >= 0.75);
  };
  // Two or three letters that begin a control's word are that control, half read (a greyed-out "Next").
  const controlWords = [...exclude, ...buttons].flatMap((x) => normalizeText(x).split(' '));
  const stub = (l: TextLine) => {
    const t = normalizeText(cleanText(l)).replace(/[^a-z0-9]/g, '');
    return t.length >= 1 && t.length <= 3 && controlWords.some((w) => w.length > t.length && w.startsWith(t));
  };
  return page.lines.filter((l) => !anchorLines.has(l) && l.box.y0 >= top - 1 && l.box.y1 <= bottom + 1
    && readable(l) && !masked(l.text) && !lineMatches(l, exclude, 0.7) && !lineMatches(l, buttons)
    && !partOf(l, after) && !partOf(l, exclude) && !stub(l));
}

/** A line OCR is sure of, or one with a real word in it (not icon or dot noise such as "oe"). */
const readable = (l: TextLine) => l.confidence >= 0.7 || (l.confidence >= 0.5 && /[\p{L}\p{N}]{3,}/u.test(l.text));

/** What a masked password box shows (dots that OCR reads as 0, o, e, 9, *): nearly all of it dot-like. */
function masked(text: string): boolean {
  const t = text.replace(/\s+/g, '');
  if (t.length < 2) return false;
  const dots = [...t].filter((c) => /[•●∙·*0oOeé°.9]/u.test(c)).length;
  return dots === t.length || (t.length >= 6 && dots >= 0.85 * t.length);
}


/**
 * The first line of a filled item (its label; a description may follow), cleaned of icon noise. The item was
 * found by its fill, so a short label OCR is unsure of ("US") still counts; a speck does not.
 */
function firstReadable(lines: TextLine[]): string | undefined {
  for (const line of readingOrder(lines)) {
    if (!readable(line) && !(line.confidence >= 0.3 && /[\p{L}\p{N}]{2,}/u.test(line.text))) continue;
    const t = cleanText(line);
    if (t) return t;
  }
  return undefined;
}

/**
 * The list line drawn on a filled background that stands out from the page (the selected item); when the
 * item has a second line (a description), its first line.
 */
function selectedItem(input: FieldInput, after: string[], before: string[]): string | undefined {
  for (const line of listLines(input, after, before, [])) {
    const bg = backgroundOf(input.thumb, line.box);
    if (!bg) continue;
    const saturation = Math.max(bg.r, bg.g, bg.b) - Math.min(bg.r, bg.g, bg.b);
    const distance = Math.hypot(bg.r - input.page.r, bg.g - input.page.g, bg.b - input.page.b);
    if (saturation >= 40 && distance >= 40) return cleanText(line) || undefined;
  }
  return undefined;
}

/** The colour around a text line: a strip left of it and a strip above it (its padding). */
function backgroundOf(thumb: Thumb, box: Box): Rgb | null {
  const h = box.y1 - box.y0;
  const left = colorUnder(thumb, { x0: box.x0 - 1.0 * h, y0: box.y0, x1: box.x0 - 0.35 * h, y1: box.y1 });
  const above = colorUnder(thumb, { x0: box.x0, y0: box.y0 - 0.75 * h, x1: box.x1, y1: box.y0 - 0.3 * h });
  if (!left || !above) return left ?? above;
  return { r: (left.r + above.r) / 2, g: (left.g + above.g) / 2, b: (left.b + above.b) / 2 };
}

// ---------------------------------------------------------------- ESP

/**
 * A state as compared: its trailing dots and stray punctuation left off ("Waiting..." read as "Waiting" or
 * "Waiting." is still waiting; the dots are the part of a state OCR most often loses).
 */
const stateText = (t: string) => normalizeText(t).replace(/[\s.,:;~_-]+$/, '');

/**
 * A count such as "(1 of 3 installed)" or "(0 of 2 applied)" at the start of `tail`, as OCR may garble it:
 * spaces lost ("(1 of 3installed)"), "1 o" run together ("(10f 3installed)"), a digit dropped
 * ("(1 of ) installed"). An opening parenthesis, a digit, and "of" or a word of letters after it.
 */
const COUNT = /^\(\d{1,3}(?:[o0]?f\d{0,3}\)?[a-z]*|[a-z]{4,})\)?$/;

/** A row's text split into a name and a state at its end (the state a known one, or a count "(1 of 3 ...)"). */
function splitState(words: string[], states: Record<string, string>): { name: string; state: string } {
  const known = Object.entries(states).map(([text, state]) => ({ text: stateText(text), state }));
  for (let k = Math.min(words.length, 6); k >= 1; k--) {
    const tail = stateText(words.slice(words.length - k).join(' '));
    const name = words.slice(0, words.length - k).join(' ');
    // A count, or a known state followed by one ("Working on it... (1 of 3 installed)").
    const open = tail.indexOf('(');
    const count = open >= 0 && COUNT.test(tail.slice(open).replace(/\s+/g, '')) ? open : -1;
    let bestState: string | null = null, bestSim = 0;
    for (const s of known) {
      const sim = textSimilarity(tail, s.text);
      if (sim >= 0.8 && sim > bestSim) { bestSim = sim; bestState = s.state; }
      if (count > 0 && textSimilarity(stateText(tail.slice(0, count)), s.text) >= 0.8 && bestSim < 0.8) { bestSim = 0.8; bestState = s.state; }
    }
    if (!bestState && count === 0) bestState = 'in-progress';
    if (bestState) return { name: name.trim(), state: bestState };
  }
  return { name: words.join(' '), state: 'unknown' };
}

/** A row's words without the status icon that OCR reads in front of a name ("®", "O", "[J"). */
function rowWords(row: TextLine[]): string[] {
  const words = row.map((l) => l.text.trim()).join(' ').split(/\s+/).filter(Boolean);
  while (words.length > 1 && words[0].length <= 2 && !/^\(?\d/.test(words[0])) words.shift();
  return words;
}

type EspSpec = Extract<FieldSpec, { kind: 'esp' }>;

function readEsp(lines: TextLine[], spec: EspSpec, buttons: string[]): { phases: EspPhase[] } | undefined {
  const { phases, states } = spec;
  const rows = rowsOf(lines).map((row) => ({ row, words: rowWords(row) }));
  const found: { index: number; phase: EspPhase }[] = [];
  // OCR may lose the space inside a name ("Devicesetup"): names are compared without spaces, over one word
  // fewer or more than they have.
  const compact = (t: string) => normalizeText(t).replace(/[^a-z0-9]/g, '');
  for (let r = 0; r < rows.length; r++) {
    const words = rows[r].words;
    for (const name of phases) {
      const n = name.split(/\s+/).length;
      let take = 0, best = 0.8;
      for (let k = Math.max(1, n - 1); k <= Math.min(words.length, n + 1); k++) {
        const sim = textSimilarity(compact(words.slice(0, k).join(' ')), compact(name));
        if (sim >= best) { best = sim; take = k; }
      }
      if (!take) continue;
      const { state } = splitState(words.slice(take), states);
      found.push({ index: r, phase: { name, state, items: [] } });
      break;
    }
  }
  if (found.length === 0) return undefined;
  for (let p = 0; p < found.length; p++) {
    const end = found[p + 1]?.index ?? rows.length;
    for (let r = found[p].index + 1; r < end; r++) {
      const text = rows[r].words.join(' ');
      if (buttons.some((b) => textSimilarity(normalizeText(text), normalizeText(b)) >= 0.85)) continue;
      // An item whose state cannot be read is still listed, as unknown: left out, the phase would look as if
      // it had one item fewer. What OCR made of the gap before a state (a "~", a dash) is not part of the name;
      // a row with too few letters for a name is OCR of an icon, not an item.
      const item = splitState(rows[r].words, states);
      const name = item.name.replace(/(\s+[^\p{L}\p{N}]+)+$/u, '');
      if ((name.match(/\p{L}/gu)?.length ?? 0) >= 3) found[p].phase.items.push({ name: snap(name, spec.items, compact, 0.8), state: item.state });
    }
  }
  return { phases: found.map((f) => f.phase) };
}
