// Text to key strokes with the US keyboard layout: which key, and whether Shift is held.

export interface KeyStroke {
  /** The character this stroke types (for messages). */
  char: string;
  /** W3C code name of the key, e.g. KeyA, Digit1, Slash. */
  code: string;
  shift: boolean;
}

const UNSHIFTED_SYMBOLS: Record<string, string> = {
  ' ': 'Space', '\n': 'Enter', '\t': 'Tab',
  '-': 'Minus', '=': 'Equal', '[': 'BracketLeft', ']': 'BracketRight', '\\': 'Backslash',
  ';': 'Semicolon', "'": 'Quote', '`': 'Backquote', ',': 'Comma', '.': 'Period', '/': 'Slash',
};

const SHIFTED_SYMBOLS: Record<string, string> = {
  '!': 'Digit1', '@': 'Digit2', '#': 'Digit3', $: 'Digit4', '%': 'Digit5',
  '^': 'Digit6', '&': 'Digit7', '*': 'Digit8', '(': 'Digit9', ')': 'Digit0',
  _: 'Minus', '+': 'Equal', '{': 'BracketLeft', '}': 'BracketRight', '|': 'Backslash',
  ':': 'Semicolon', '"': 'Quote', '~': 'Backquote', '<': 'Comma', '>': 'Period', '?': 'Slash',
};

/** The stroke for one character, or null when the US layout has no key for it. */
export function usStroke(char: string): KeyStroke | null {
  if (/^[a-z]$/.test(char)) return { char, code: `Key${char.toUpperCase()}`, shift: false };
  if (/^[A-Z]$/.test(char)) return { char, code: `Key${char}`, shift: true };
  if (/^[0-9]$/.test(char)) return { char, code: `Digit${char}`, shift: false };
  if (char in UNSHIFTED_SYMBOLS) return { char, code: UNSHIFTED_SYMBOLS[char], shift: false };
  if (char in SHIFTED_SYMBOLS) return { char, code: SHIFTED_SYMBOLS[char], shift: true };
  return null;
}

/**
 * All strokes for `text`, or an error naming every character the US layout cannot type (so a caller
 * refuses the whole text before sending a single key). "\r\n" and a lone "\r" type Enter.
 */
export function usStrokes(text: string): KeyStroke[] {
  const normalized = text.replace(/\r\n?/g, '\n');
  const strokes: KeyStroke[] = [];
  const refused = new Set<string>();
  for (const char of normalized) {
    const stroke = usStroke(char);
    if (stroke) strokes.push(stroke);
    else refused.add(char);
  }
  if (refused.size) {
    const names = [...refused].map((c) => `'${c}' (U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`);
    throw new Error(`cannot type ${names.join(', ')} with the US keyboard layout; nothing was sent`);
  }
  return strokes;
}
