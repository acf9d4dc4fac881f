// A keyboard layout as data: which key, with which modifiers, types each character on the device. The device
// (Windows) decides what a key means, so the host must type with the layout the device has selected.
// Tables are written as rows `code base shift altgr shift+altgr`; `__` is an empty cell, and a character
// followed by `*` is a dead key (it types nothing alone: the layout types it as the dead key and Space, and
// composes accented letters as the dead key followed by the letter).
import { findKey } from '../keymap.ts';

/** One key press: the key (W3C code name) and the modifiers held around it. */
export interface Stroke {
  code: string;
  shift: boolean;
  /** AltGr: the right Alt key (Windows reads it as Ctrl+Alt). */
  altGr: boolean;
}

export interface KeyboardLayout {
  /** Short name used on the command line: us, uk, de, fr. */
  name: string;
  /** What Windows calls it, e.g. "German (Germany), keyboard German". */
  description: string;
  /** The key presses that type `char`, in order, or null when the layout cannot type it. */
  strokesFor(char: string): Stroke[] | null;
  /** Every character the layout types (for messages and tests). */
  characters(): string[];
}

/** Each dead key's combining mark and the letters Windows composes with it (^ then e gives ê). */
const DEAD_KEYS: Record<string, { mark: string; letters: string }> = {
  '^': { mark: '\u0302', letters: 'aeiouAEIOU' },
  '`': { mark: '\u0300', letters: 'aeiouAEIOU' },
  '´': { mark: '\u0301', letters: 'aeiouyAEIOUY' },
  '¨': { mark: '\u0308', letters: 'aeiouyAEIOU' },
  '~': { mark: '\u0303', letters: 'anoANO' },
};
const EMPTY = '__';

/** Letters on their US positions (KeyA types a); a layout moves some (German KeyY types z). */
function letterRows(moves: Record<string, string>): string[] {
  const rows: string[] = [];
  for (let c = 97; c <= 122; c++) {
    const letter = String.fromCharCode(c);
    const code = Object.entries(moves).find(([, l]) => l === letter)?.[0] ?? `Key${letter.toUpperCase()}`;
    rows.push(`${code} ${letter} ${letter.toUpperCase()}`);
  }
  return rows;
}

export interface LayoutData {
  name: string;
  description: string;
  /** Rows "code base shift [altgr [shift+altgr]]" for the keys that are not plain letters. */
  table: string;
  /** Letters that are not on their US key: { KeyY: 'z', KeyZ: 'y' }. */
  letterMoves?: Record<string, string>;
  /** Extra AltGr characters on letter keys: { KeyE: '€' } (with shift+AltGr as a second character). */
  altGrLetters?: Record<string, string>;
}

export function defineLayout(data: LayoutData): KeyboardLayout {
  const chars = new Map<string, Stroke[]>();
  const deadKeys = new Map<string, Stroke>();
  const put = (char: string, strokes: Stroke[]) => {
    if (!chars.has(char)) chars.set(char, strokes); // the first (simplest) way to type a character wins
  };
  const rows = [
    ...letterRows(data.letterMoves ?? {}),
    ...data.table.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')),
    ...Object.entries(data.altGrLetters ?? {}).map(([code, c]) => `${code} __ __ ${[...c].join(' ')}`),
  ];
  for (const row of rows) {
    const [code, ...cells] = row.split(/\s+/);
    if (!findKey(code) || findKey(code)!.code !== code) throw new Error(`layout ${data.name}: "${code}" is not a W3C key code (row "${row}")`);
    cells.slice(0, 4).forEach((cell, level) => {
      if (cell === EMPTY) return;
      const stroke: Stroke = { code, shift: level === 1 || level === 3, altGr: level >= 2 };
      if (cell.length > 1 && cell.endsWith('*')) {
        const dead = cell.slice(0, -1);
        deadKeys.set(dead, stroke);
        put(dead, [stroke, { code: 'Space', shift: false, altGr: false }]);
      } else {
        if ([...cell].length !== 1) throw new Error(`layout ${data.name}: cell "${cell}" in row "${row}" is not one character`);
        put(cell, [stroke]);
      }
    });
  }
  put(' ', [{ code: 'Space', shift: false, altGr: false }]);
  put('\n', [{ code: 'Enter', shift: false, altGr: false }]);
  put('\t', [{ code: 'Tab', shift: false, altGr: false }]);
  for (const [dead, deadStroke] of deadKeys) {
    const composing = DEAD_KEYS[dead];
    if (!composing) continue;
    for (const letter of composing.letters) {
      const composed = (letter + composing.mark).normalize('NFC');
      const letterStrokes = chars.get(letter);
      if ([...composed].length === 1 && letterStrokes) put(composed, [deadStroke, ...letterStrokes]);
    }
  }
  return {
    name: data.name,
    description: data.description,
    strokesFor: (char) => chars.get(char) ?? null,
    characters: () => [...chars.keys()],
  };
}

/** A character and the key presses that type it. */
export interface TypedCharacter {
  char: string;
  strokes: Stroke[];
}

/** Text the layout cannot type: which characters (unless secret) and at which positions (1-based). */
export class UntypeableTextError extends Error {
  constructor(
    readonly layout: string,
    readonly positions: number[],
    readonly characters: string[] | null,
  ) {
    const where = positions.length > 8 ? `${positions.slice(0, 8).join(', ')}, …` : positions.join(', ');
    super(
      characters
        ? `cannot type ${characters.map(describeChar).join(', ')} with the ${layout.toUpperCase()} keyboard layout; nothing was sent`
        : `cannot type ${positions.length} character${positions.length === 1 ? '' : 's'} of the secret text (at position${positions.length === 1 ? '' : 's'} ${where}) with the ${layout.toUpperCase()} keyboard layout; nothing was sent`,
    );
    this.name = 'UntypeableTextError';
  }
}

export function describeChar(c: string): string {
  return `'${c}' (U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`;
}

/**
 * The key presses for all of `text`, or an UntypeableTextError naming every character the layout cannot
 * type (only how many and where, for a secret), so a caller refuses the whole text before sending a key.
 * "\r\n" and a lone "\r" type Enter.
 */
export function textToStrokes(text: string, layout: KeyboardLayout, opts: { secret?: boolean } = {}): TypedCharacter[] {
  const out: TypedCharacter[] = [];
  const refused: string[] = [];
  const positions: number[] = [];
  let position = 0;
  for (const char of text.replace(/\r\n?/g, '\n')) {
    position++;
    const strokes = layout.strokesFor(char);
    if (strokes) out.push({ char, strokes });
    else {
      positions.push(position);
      if (!refused.includes(char)) refused.push(char);
    }
  }
  if (positions.length) throw new UntypeableTextError(layout.name, positions, opts.secret ? null : refused);
  return out;
}
