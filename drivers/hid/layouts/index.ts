// The keyboard layouts the host can type with, by name.
import { de } from './de.ts';
import { fr } from './fr.ts';
import type { KeyboardLayout } from './layout.ts';
import { uk } from './uk.ts';
import { us } from './us.ts';

export { textToStrokes, UntypeableTextError, describeChar, type KeyboardLayout, type Stroke, type TypedCharacter } from './layout.ts';

export const LAYOUTS: Readonly<Record<string, KeyboardLayout>> = { us, uk, de, fr };

/** The layout called `name` (us, uk, de, fr; case-insensitive), or an error listing the ones there are. */
export function findLayout(name: string): KeyboardLayout {
  const layout = LAYOUTS[name.trim().toLowerCase()];
  if (!layout) throw new Error(`unknown keyboard layout '${name}': known layouts are ${Object.keys(LAYOUTS).join(', ')}`);
  return layout;
}
