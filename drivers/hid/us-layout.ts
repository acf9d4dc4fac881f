// Text to key strokes with the US keyboard layout: which key, and whether Shift is held. Kept for callers of
// the first driver; the layouts themselves (US, UK, German, French) live in layouts/ as data.
import { us } from './layouts/us.ts';
import { textToStrokes } from './layouts/layout.ts';

export interface KeyStroke {
  /** The character this stroke types (for messages). */
  char: string;
  /** W3C code name of the key, e.g. KeyA, Digit1, Slash. */
  code: string;
  shift: boolean;
}

/** The stroke for one character, or null when the US layout has no key for it. */
export function usStroke(char: string): KeyStroke | null {
  const strokes = us.strokesFor(char);
  return strokes && strokes.length === 1 ? { char, code: strokes[0].code, shift: strokes[0].shift } : null;
}

/**
 * All strokes for `text`, or an error naming every character the US layout cannot type (so a caller
 * refuses the whole text before sending a single key). "\r\n" and a lone "\r" type Enter.
 */
export function usStrokes(text: string): KeyStroke[] {
  return textToStrokes(text, us).map((c) => ({ char: c.char, code: c.strokes[0].code, shift: c.strokes[0].shift }));
}
