// What character a key press produces on the device, with the US keyboard layout (the one the setup pages
// select): Shift and Caps Lock for letters, Shift for the rest, Num Lock for the keypad digits.

const SHIFTED_PAIRS: Record<string, [string, string]> = {
  Digit1: ['1', '!'], Digit2: ['2', '@'], Digit3: ['3', '#'], Digit4: ['4', '$'], Digit5: ['5', '%'],
  Digit6: ['6', '^'], Digit7: ['7', '&'], Digit8: ['8', '*'], Digit9: ['9', '('], Digit0: ['0', ')'],
  Minus: ['-', '_'], Equal: ['=', '+'], BracketLeft: ['[', '{'], BracketRight: [']', '}'],
  Backslash: ['\\', '|'], Semicolon: [';', ':'], Quote: ["'", '"'], Backquote: ['`', '~'],
  Comma: [',', '<'], Period: ['.', '>'], Slash: ['/', '?'], Space: [' ', ' '],
};

const KEYPAD_ALWAYS: Record<string, string> = {
  NumpadDivide: '/', NumpadMultiply: '*', NumpadSubtract: '-', NumpadAdd: '+',
};

export interface TypingState {
  shift: boolean;
  /** Control, Alt or a Windows key held: a shortcut, not a character. */
  command: boolean;
  capsLock: boolean;
  numLock: boolean;
}

/** The printable character a key-down produces, or null (a control key, or a shortcut). */
export function charForKey(code: string, s: TypingState): string | null {
  if (s.command) return null;
  const letter = /^Key([A-Z])$/.exec(code);
  if (letter) return s.shift !== s.capsLock ? letter[1] : letter[1].toLowerCase();
  const pair = SHIFTED_PAIRS[code];
  if (pair) return s.shift ? pair[1] : pair[0];
  if (KEYPAD_ALWAYS[code]) return KEYPAD_ALWAYS[code];
  const pad = /^Numpad([0-9])$/.exec(code);
  if (pad) return s.numLock ? pad[1] : null;
  if (code === 'NumpadDecimal') return s.numLock ? '.' : null;
  return null;
}

export const MODIFIER_CODES = new Set([
  'ShiftLeft', 'ShiftRight', 'ControlLeft', 'ControlRight', 'AltLeft', 'AltRight', 'MetaLeft', 'MetaRight',
]);

/** The key (and whether Shift is needed) that types a character with the US layout, or null. */
export function keyForChar(char: string): { code: string; shift: boolean } | null {
  if (/^[a-z]$/.test(char)) return { code: `Key${char.toUpperCase()}`, shift: false };
  if (/^[A-Z]$/.test(char)) return { code: `Key${char}`, shift: true };
  for (const [code, [plain, shifted]] of Object.entries(SHIFTED_PAIRS)) {
    if (char === plain) return { code, shift: false };
    if (char === shifted) return { code, shift: true };
  }
  return null;
}
