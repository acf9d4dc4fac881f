// Keys by W3C KeyboardEvent.code name, with the byte the serial KEY command carries and the USB HID usage.
// The table is keymap.tsv beside this file (a copy of the protocol reference), read once at load.
import { readFileSync } from 'node:fs';

export interface KeyInfo {
  /** W3C KeyboardEvent.code name, e.g. MetaLeft. */
  code: string;
  /** The key byte of the serial KEY command. */
  mcu: number;
  /** USB HID usage on page 0x07, or null for a modifier. */
  usage: number | null;
  /** For a modifier: its bit in byte 0 of the boot report. */
  modifierBit: number | null;
}

function parseKeymap(text: string): KeyInfo[] {
  const keys: KeyInfo[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const [code, mcu, usb] = line.split('\t');
    const modifier = usb.startsWith('^');
    keys.push({
      code,
      mcu: Number(mcu),
      usage: modifier ? null : Number(usb),
      modifierBit: modifier ? Number(usb.slice(1)) : null,
    });
  }
  return keys;
}

export const KEYS: readonly KeyInfo[] = parseKeymap(readFileSync(new URL('./keymap.tsv', import.meta.url), 'utf8'));
const byCode = new Map(KEYS.map((k) => [k.code.toLowerCase(), k]));
const byMcu = new Map(KEYS.map((k) => [k.mcu, k]));

/** DuckyScript names (and a few common ones) for W3C code names. */
export const KEY_ALIASES: Readonly<Record<string, string>> = {
  gui: 'MetaLeft', windows: 'MetaLeft', win: 'MetaLeft', meta: 'MetaLeft', command: 'MetaLeft',
  ctrl: 'ControlLeft', control: 'ControlLeft', shift: 'ShiftLeft', alt: 'AltLeft', option: 'AltLeft',
  enter: 'Enter', return: 'Enter', esc: 'Escape', escape: 'Escape', tab: 'Tab', space: 'Space',
  backspace: 'Backspace', delete: 'Delete', del: 'Delete', insert: 'Insert', home: 'Home', end: 'End',
  pageup: 'PageUp', pagedown: 'PageDown', up: 'ArrowUp', down: 'ArrowDown', left: 'ArrowLeft', right: 'ArrowRight',
  uparrow: 'ArrowUp', downarrow: 'ArrowDown', leftarrow: 'ArrowLeft', rightarrow: 'ArrowRight',
  capslock: 'CapsLock', numlock: 'NumLock', scrolllock: 'ScrollLock', printscreen: 'PrintScreen',
  pause: 'Pause', break: 'Pause', menu: 'ContextMenu', app: 'ContextMenu',
};

/** Finds a key by code name, alias, or single letter/digit; null when there is no such key. */
export function findKey(name: string): KeyInfo | null {
  const lower = name.trim().toLowerCase();
  const direct = byCode.get(lower) ?? byCode.get(KEY_ALIASES[lower]?.toLowerCase() ?? '');
  if (direct) return direct;
  if (/^[a-z]$/.test(lower)) return byCode.get(`key${lower}`) ?? null;
  if (/^[0-9]$/.test(lower)) return byCode.get(`digit${lower}`) ?? null;
  if (/^f([1-9]|1[0-9]|2[0-4])$/.test(lower)) return byCode.get(lower) ?? null;
  return null;
}

export function keyByMcu(mcu: number): KeyInfo | null {
  return byMcu.get(mcu) ?? null;
}
